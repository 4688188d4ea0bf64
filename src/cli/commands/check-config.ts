import { loadConfigOrReport } from '../config-file.js';
import { CONFIG_OPTION, configPath, parse, UsageError } from '../args.js';

export const USAGE = `usage: agentgate check-config [-c file.yaml]
  Validates the config (environment variables and *_file secrets resolved) and prints every error
  with the path of the bad field. Secrets are never printed.
  -c, --config FILE   default: env AGENTGATE_CONFIG, else ./agentgate.yaml
  exit code: 0 valid, 1 invalid, 2 usage error
`;

/** `agentgate check-config [-c file]`: exit 0 valid, 1 invalid (every error printed with its path). */
export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, CONFIG_OPTION);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const file = configPath(values);
  const cfg = loadConfigOrReport(file);
  if (cfg === undefined) return 1;
  process.stdout.write(
    `${file}: ok — ${cfg.servers.length} server(s), ${cfg.directory.users.length} user(s), ` +
      `${cfg.directory.queues.length} queue(s), ${cfg.directory.grants.length} grant(s), ${cfg.tokens.length} token(s), store ${cfg.store.redis ? 'redis' : 'memory'}\n`,
  );
  return 0;
}
