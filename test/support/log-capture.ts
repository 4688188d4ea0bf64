/** A pino logger whose lines a test can read (JSON objects, in order). */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/log.js';

export interface CapturedLogs {
  logger: Logger;
  lines: Array<Record<string, unknown> & { msg?: string; level?: number }>;
  has(msg: string | RegExp): boolean;
}

export function captureLogs(): CapturedLogs {
  const lines: CapturedLogs['lines'] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l) as CapturedLogs['lines'][number]);
      cb();
    },
  });
  const logger = createLogger({ level: 'debug' }, dest);
  return {
    logger,
    lines,
    has: (msg) => lines.some((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg ?? '')))),
  };
}
