/**
 * `agentgate run [-c agentgate.yaml]`: the daemon against the PBX(es) in the config. Stops cleanly
 * on SIGINT/SIGTERM (dispatches in progress are left to the Store for the next start to clean up).
 * Exit code: 0 after a clean stop, 1 when the config is invalid, start-up fails (e.g. another daemon
 * runs with this instance id) or another process took the instance id while running.
 */
import { ConfigError, loadConfigFile } from '../../config/load.js';
import { startDaemon } from '../../daemon.js';
import { isAgentgateError } from '../../errors/codes.js';
import { CONFIG_OPTION, configPath, parse, UsageError } from '../args.js';

export const USAGE = `usage: agentgate run [-c file.yaml]
  Runs the daemon; logs are pino JSON on stdout (for people: | npx pino-pretty).
  -c, --config FILE   default: env AGENTGATE_CONFIG, else ./agentgate.yaml
  environment: AGENTGATE_LOG_LEVEL overrides log.level
  exit code: 0 after a clean stop (SIGINT, SIGTERM), 1 invalid config or failed start, 2 usage error
`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, CONFIG_OPTION);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const file = configPath(values);
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
  let fatal: Error | undefined;
  let wake = (): void => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  let daemon;
  try {
    daemon = await startDaemon(config, {
      onFatal: (err) => {
        fatal = err;
        wake();
      },
    });
  } catch (err) {
    // A refusal the admin must act on (instance id in use, Store unreachable): its message, no stack.
    if (isAgentgateError(err)) {
      process.stderr.write(`agentgate: ${err.code}: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const d = daemon;
  process.once('SIGINT', () => {
    d.logger.info({ signal: 'SIGINT' }, 'stopping');
    wake();
  });
  process.once('SIGTERM', () => {
    d.logger.info({ signal: 'SIGTERM' }, 'stopping');
    wake();
  });
  await woken;
  await d.stop();
  if (fatal) {
    process.stderr.write(`agentgate: ${fatal.message}\n`);
    return 1;
  }
  return 0;
}
