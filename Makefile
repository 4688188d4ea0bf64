.PHONY: install build test demo sim bench lint clean

install:
	npm ci

build:
	npm run build

test:
	npm test

demo:
	npm run demo

sim:
	npm run sim

bench:
	npm run bench

lint:
	npm run lint

clean:
	rm -rf dist coverage
