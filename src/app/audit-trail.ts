/**
 * Audit writes that survive a Store outage. An operation Asterisk has already applied must be
 * reported as done and its audit record must not be lost because Redis blinked: a record the Store
 * refuses goes into a bounded in-process buffer, in order, and is written when the Store answers
 * again (retried every retryMs). While anything is buffered, new records queue behind it, so the
 * stream keeps time order.
 *
 * Limits (documented in the README): the buffer lives in this process. A crash or restart during an
 * outage loses what it holds (the log has each record too: every buffered record is logged at warn
 * level with its summary). When full (`cap`, default 10,000 records), a new record is not kept: it is
 * logged at error level and counted in `dropped`.
 *
 * Usage (any use case): `const audit = createAuditTrail({ store, logger }); await audit.append(entry)`
 * — never rejects; returns the Store's id, or undefined when the record was buffered. Where nobody
 * waits for the id (an event handler), `audit.enqueue(entry)`: same path, nothing to await or catch.
 * `stop()` on shutdown tries one last flush.
 */
import type { Logger } from 'pino';
import type { AuditEntryInput, Store } from '../ports/store.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';

export interface AuditTrail {
  /** Writes the record, or buffers it when the Store fails (or while older records wait). Never rejects. */
  append(entry: AuditEntryInput): Promise<string | undefined>;
  /** append() for callers that do not wait: returns nothing, never throws. */
  enqueue(entry: AuditEntryInput): void;
  /** Writes what is buffered, in order, until the Store fails again. */
  flush(): Promise<void>;
  stats(): { buffered: number; dropped: number; cap: number };
  /** One last flush attempt; no timer left behind. */
  stop(): Promise<void>;
}

export interface AuditTrailOptions {
  store: Pick<Store, 'appendAudit'>;
  logger: Logger;
  /** Most records kept while the Store is down (default 10,000). */
  cap?: number;
  /** Retry period while records wait (default 1,000 ms). */
  retryMs?: number;
  /** Refused writes, dropped records and the buffer's size. Default: none. */
  metrics?: Metrics;
}

const summary = (e: AuditEntryInput): Record<string, unknown> => ({
  kind: e.kind,
  at: e.at,
  actor: e.actor,
  action: e.action,
  extension: e.extension,
  queue: e.queue,
  result: e.result,
});

export function createAuditTrail(opts: AuditTrailOptions): AuditTrail {
  const cap = opts.cap ?? 10_000;
  const retryMs = opts.retryMs ?? 1000;
  const log = opts.logger.child({ component: 'audit' });
  const buffer: AuditEntryInput[] = [];
  let dropped = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let stopped = false;
  const metrics = opts.metrics ?? noMetrics;
  const unwatch = metrics.watchAudit(() => buffer.length);

  const keep = (entry: AuditEntryInput, err: unknown): void => {
    if (buffer.length >= cap) {
      dropped++;
      metrics.auditDropped();
      log.error(
        { audit: summary(entry), detail: entry.detail, dropped, cap },
        'audit buffer full: record dropped (kept only in this log line)',
      );
      return;
    }
    if (buffer.length === 0 && err !== undefined) log.warn({ err }, 'Store refuses audit records: buffering them until it answers');
    buffer.push(entry);
    log.warn({ audit: summary(entry), buffered: buffer.length }, 'audit record buffered');
    schedule();
  };

  const schedule = (): void => {
    if (timer !== undefined || stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      flush().catch((err: unknown) => log.error({ err }, 'audit flush failed'));
    }, retryMs);
    timer.unref();
  };

  const drain = async (): Promise<void> => {
    let written = 0;
    while (buffer.length > 0) {
      try {
        await opts.store.appendAudit(buffer[0]!);
      } catch {
        metrics.auditWriteFailed();
        schedule();
        break;
      }
      buffer.shift();
      written++;
    }
    if (written > 0) log.info({ written, left: buffer.length }, 'buffered audit records written');
  };

  /** One drain at a time: a second caller waits for the running one. */
  const flush = (): Promise<void> => {
    flushing ??= drain().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };

  const append = async (entry: AuditEntryInput): Promise<string | undefined> => {
    if (buffer.length > 0 || flushing !== undefined) {
      keep(entry, undefined);
      return undefined;
    }
    try {
      return await opts.store.appendAudit(entry);
    } catch (err) {
      metrics.auditWriteFailed();
      keep(entry, err);
      return undefined;
    }
  };

  return {
    append,
    enqueue(entry) {
      append(entry).catch((err: unknown) => log.error({ err, audit: summary(entry) }, 'audit append threw'));
    },
    flush,
    stats: () => ({ buffered: buffer.length, dropped, cap }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await flush();
      unwatch();
      if (buffer.length > 0) log.error({ lost: buffer.length }, 'stopping with audit records the Store never took (they are in this log)');
    },
  };
}
