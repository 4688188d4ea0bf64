#!/usr/bin/env node
/**
 * The `agentgate` executable (package.json `bin`, compiled to dist/cli/bin.js). It always runs the
 * command line: npm links it as node_modules/.bin/agentgate (a symlink, and a shim on Windows) and
 * global installs elsewhere, so it must not guess from process.argv[1] whether it is the entry point.
 */
import { main } from './main.js';

// SIGHUP's default action ends the process: until `run` installs its reload handler (loading the
// modules and the config takes a second or two), a reload sent by systemd must not kill the daemon.
const ignoreHupDuringStart = (): void => undefined;
process.on('SIGHUP', ignoreHupDuringStart);

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`agentgate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
