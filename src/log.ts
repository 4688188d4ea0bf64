import pino, { type Logger, type LoggerOptions } from 'pino';

/** Paths never written to logs (ARI/AMI secrets, API tokens). */
export const REDACT_PATHS = [
  'password',
  'secret',
  'token',
  '*.password',
  '*.secret',
  '*.token',
  'req.headers.authorization',
  'headers.authorization',
];

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
