/**
 * agentgate as a library (package.json `main`): start the daemon from code with a config built or
 * loaded here. The command line is src/cli/bin.ts; the simulator is not part of this entry point.
 */
export { startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
export { ConfigError, loadConfigFile, parseConfigText, validateConfig, type Config, type ConfigIssue } from './config/load.js';
