/** The audit trail: records the Store refuses wait in order, are written when it answers, and a full buffer counts what it drops. */
import { describe, expect, it } from 'vitest';
import { createAuditTrail } from '../../../src/app/audit-trail.js';
import type { AuditEntryInput } from '../../../src/ports/store.js';
import { silentLogger } from '../../../src/log.js';
import { until } from '../../support/dispatch-harness.js';

function fakeStore(): { down: boolean; written: AuditEntryInput[]; appendAudit(e: AuditEntryInput): Promise<string> } {
  const s = {
    down: true,
    written: [] as AuditEntryInput[],
    async appendAudit(e: AuditEntryInput): Promise<string> {
      if (s.down) throw new Error('ECONNREFUSED');
      s.written.push(e);
      return String(s.written.length);
    },
  };
  return s;
}

const entry = (n: number): AuditEntryInput => ({ kind: 'queue-op', at: n, actor: 'a', action: 'pause', result: 'ok', detail: { n } });

describe('audit trail', () => {
  it('buffers while the Store fails, then writes everything in order (new records queue behind the buffered ones)', async () => {
    const store = fakeStore();
    const trail = createAuditTrail({ store, logger: silentLogger(), retryMs: 20 });
    expect(await trail.append(entry(1))).toBeUndefined();
    expect(await trail.append(entry(2))).toBeUndefined();
    store.down = false;
    await trail.append(entry(3)); // while 1 and 2 wait, 3 goes behind them
    await until(() => trail.stats().buffered === 0, 2000, 'flushed');
    expect(store.written.map((e) => e.at)).toEqual([1, 2, 3]);
    expect(await trail.append(entry(4))).toBe('4');
    await trail.stop();
  });

  it('a full buffer drops new records and counts them', async () => {
    const store = fakeStore();
    const trail = createAuditTrail({ store, logger: silentLogger(), cap: 2, retryMs: 10_000 });
    for (let i = 1; i <= 5; i++) await trail.append(entry(i));
    expect(trail.stats()).toEqual({ buffered: 2, dropped: 3, cap: 2 });
    store.down = false;
    await trail.flush();
    expect(store.written.map((e) => e.at)).toEqual([1, 2]);
    await trail.stop();
  });
});
