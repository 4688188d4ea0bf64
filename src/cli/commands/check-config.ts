import { ConfigError, loadConfigFile } from '../../config/load.js';
import { configPathFrom } from '../args.js';

/** `agentgate check-config [-c file]`: exit 0 valid, 1 invalid (every error printed with its path). */
export async function run(args: string[]): Promise<number> {
  const file = configPathFrom(args);
  try {
    const cfg = loadConfigFile(file);
    process.stdout.write(
      `${file}: ok — ${cfg.servers.length} server(s), ${cfg.directory.users.length} user(s), ` +
        `${cfg.directory.queues.length} queue(s), ${cfg.directory.grants.length} grant(s), store ${cfg.store.redis ? 'redis' : 'memory'}\n`,
    );
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
