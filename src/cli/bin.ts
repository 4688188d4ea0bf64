#!/usr/bin/env node
/**
 * The `agentgate` executable (package.json `bin`, compiled to dist/cli/bin.js). It always runs the
 * command line: npm links it as node_modules/.bin/agentgate (a symlink, and a shim on Windows) and
 * global installs elsewhere, so it must not guess from process.argv[1] whether it is the entry point.
 */
import { main } from './main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`agentgate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
