/**
 * `agentgate run [-c agentgate.yaml]`: the daemon against the PBX(es) in the config. Stops cleanly
 * on SIGINT/SIGTERM (dispatches in progress are left to the Store for the next start to clean up).
 * Exit code: 0 after a clean stop, 1 when the config is invalid or start-up fails.
 */
import { ConfigError, loadConfigFile } from '../../config/load.js';
import { startDaemon } from '../../daemon.js';
import { configPathFrom } from '../args.js';

export async function run(args: string[]): Promise<number> {
  const file = configPathFrom(args);
  let config;
  try {
    config = loadConfigFile(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const daemon = await startDaemon(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      daemon.logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await daemon.stop();
  return 0;
}
