/**
 * `agentgate run [-c agentgate.yaml]`: the daemon against the PBX(es) in the config.
 *
 * Signals (handled from the first instant, also while the daemon is still starting):
 * - SIGTERM, SIGINT: stop — HTTP drains (requests in flight get their answer, new ones 503), the
 *   services stop, dispatches in progress are left to the Store for the next start or another
 *   instance to finish. A stop requested while ARI or AMI does not answer yet ends the start at once.
 *   A second SIGTERM/SIGINT during the stop exits at once (128 + signal number), as does a stop that
 *   has not finished after STOP_DEADLINE_MS (exit 1).
 * - SIGHUP: reload — the config file is read again; an invalid one is refused (its errors logged, the
 *   running config and policy kept); else the directory and the config's API tokens are applied per
 *   src/app/policy-sync.ts and what changed is logged; other changed settings are logged as
 *   "restart needed". A SIGHUP during start is applied once the daemon runs.
 * Exit code: 0 after a clean stop, 1 when the config is invalid, start-up fails (e.g. another daemon
 * runs with this instance id) or another process took the instance id while running.
 */
import type { Logger } from 'pino';
import { ConfigError, loadConfigFile, type Config } from '../../config/load.js';
import { startDaemon, type Daemon } from '../../daemon.js';
import { AgentgateError } from '../../errors/codes.js';
import { createLogger } from '../../log.js';
import { CONFIG_OPTION, configPath, parse, UsageError } from '../args.js';
import { loadConfigOrReport } from '../config-file.js';

export const USAGE = `usage: agentgate run [-c file.yaml]
  Runs the daemon; logs are pino JSON on stdout (for people: | npx pino-pretty).
  -c, --config FILE   default: env AGENTGATE_CONFIG, else ./agentgate.yaml
  environment: AGENTGATE_LOG_LEVEL overrides log.level
  signals: SIGTERM/SIGINT stop (a second one exits at once); SIGHUP reloads the directory (policy)
           and tokens from the config file and logs what changed
  exit code: 0 after a clean stop (SIGINT, SIGTERM), 1 invalid config or failed start, 2 usage error
`;

/** A stop that has not finished by then (Redis frozen, a request that never ends) exits anyway. */
const STOP_DEADLINE_MS = 15_000;
const SIGNAL_EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, CONFIG_OPTION);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const file = configPath(values);
  const config = loadConfigOrReport(file);
  if (config === undefined) return 1;
  const logger = createLogger({ level: config.log.level });
  const log = logger.child({ component: 'daemon', instance: config.instance.id });

  let fatal: Error | undefined;
  let wake = (): void => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  const stopping = new AbortController();
  let daemon: Daemon | undefined;
  let reloadWanted = false;
  let reloading: Promise<void> = Promise.resolve();

  const reload = async (d: Daemon): Promise<void> => {
    let next: Config;
    try {
      next = loadConfigFile(file);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      log.error(
        { file, issues: err.issues },
        `config reload refused: ${file} has ${err.issues.length} error(s); the running config and policy stay in force`,
      );
      return;
    }
    try {
      await d.reload(next);
    } catch (err) {
      log.error({ err, file }, 'config reload failed; the running config and policy stay in force');
    }
  };
  const onHup = (): void => {
    log.info({ signal: 'SIGHUP', file }, 'reloading the config');
    if (!daemon) {
      reloadWanted = true;
      return;
    }
    const d = daemon;
    // Reloads run one after another, never interleaved.
    reloading = reloading.then(() => reload(d)).catch((err: unknown) => log.error({ err }, 'config reload failed'));
  };
  const onStop = (signal: NodeJS.Signals): void => {
    if (stopping.signal.aborted) {
      log.warn({ signal }, 'second stop signal: exiting at once');
      process.exit(SIGNAL_EXIT[signal] ?? 1);
    }
    log.info({ signal }, 'stopping');
    stopping.abort();
    wake();
  };
  const onTerm = (): void => onStop('SIGTERM');
  const onInt = (): void => onStop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', onHup);

  try {
    try {
      daemon = await startDaemon(config, {
        logger,
        configFile: file,
        signal: stopping.signal,
        onFatal: (err) => {
          fatal = err;
          wake();
        },
      });
    } catch (err) {
      if (stopping.signal.aborted) {
        // Stopped while starting: what had started is stopped; an ARI or AMI that never answered
        // may still hold a retry timer, so the process is ended rather than left to drain.
        log.info('agentgate stopped (while starting)');
        exitSoon(0, log);
        return 0;
      }
      // A refusal the admin must act on (instance id in use, Store unreachable): its message, no stack.
      if (err instanceof AgentgateError) {
        process.stderr.write(`agentgate: ${err.code}: ${err.message}\n`);
        return 1;
      }
      throw err;
    }
    const d = daemon;
    if (reloadWanted) onHup();
    await woken;
    const deadline = setTimeout(() => {
      log.error({ ms: STOP_DEADLINE_MS }, 'stop did not finish in time: exiting');
      process.exit(1);
    }, STOP_DEADLINE_MS);
    deadline.unref();
    await reloading;
    await d.stop();
    clearTimeout(deadline);
    if (fatal) {
      process.stderr.write(`agentgate: ${fatal.message}\n`);
      exitSoon(1, log);
      return 1;
    }
    exitSoon(0, log);
    return 0;
  } finally {
    process.off('SIGHUP', onHup);
    // SIGTERM/SIGINT stay handled until the process ends: a late one must not kill it mid-stop.
  }
}

/**
 * After a stop, the process should end by itself (nothing left in the event loop). Should a library
 * leave a timer or socket behind, it ends anyway a moment later, with the exit code of the stop.
 */
function exitSoon(code: number, log: Logger): void {
  const t = setTimeout(() => {
    log.warn('handles still open after the stop: exiting');
    process.exit(code);
  }, 1000);
  t.unref();
}
