import pino, { type Logger, type LoggerOptions } from 'pino';

const SECRET_KEYS = ['password', 'secret', 'token', 'authorization'];

/**
 * Paths never written to logs: ARI/AMI secrets, API tokens, Authorization headers, at any depth up
 * to four (a server's config is `servers[i].ari.password`, a request's `req.headers.authorization`).
 * pino redacts by path, not by key, so each depth is listed.
 */
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]);

/**
 * The one root logger. Components take a child: `rootLogger().child({ component: 'dispatch', callId })`.
 * Object first, message second, errors under `err`.
 */
export function createLogger(opts: LoggerOptions = {}, dest?: pino.DestinationStream): Logger {
  return pino(
    {
      level: process.env.AGENTGATE_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { service: 'agentgate' },
      ...opts,
    },
    dest,
  );
}

/** A logger that drops everything: for tests and benchmarks. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

export type { Logger };
