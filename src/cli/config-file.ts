/** Reading the configuration file for a command that cannot go on without it. */
import { ConfigError, loadConfigFile, type Config } from '../config/load.js';

/**
 * The validated configuration in `file`, or undefined once its errors (every one, naming the
 * field) are written to stderr: the command then exits 1. Anything but a ConfigError is thrown.
 */
export function loadConfigOrReport(file: string): Config | undefined {
  try {
    return loadConfigFile(file);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return undefined;
  }
}
