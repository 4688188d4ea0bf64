/** Runs one benchmark scenario (bench/<name>.ts) and prints its figures as JSON after its own table. */
const name = process.argv[2];
if (!name) throw new Error('usage: single.ts <scenario>');
const mod = (await import(`./${name}.js`)) as { run: () => Promise<Record<string, unknown>> };
const figures = await mod.run();
process.stdout.write(`${name} figures: ${JSON.stringify(figures)}\n`);
process.exit(0);
