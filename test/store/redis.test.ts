/**
 * The Store contract against a real Redis (127.0.0.1:6379 unless AGENTGATE_TEST_REDIS_URL). With no
 * Redis these tests FAIL — they never skip (.ci/run starts a Redis when none answers).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { createRedisStore } from '../../src/adapters/store/redis.js';
import { systemClock } from '../../src/ports/clock.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../support/redis.js';
import { storeContract } from './contract.js';

storeContract('redis', async ({ auditMaxLength }) => {
  const prefix = uniquePrefix();
  const clock = systemClock();
  const store = await createRedisStore({ url: REDIS_URL, prefix, tenant: 't1', clock, auditMaxLength });
  return {
    store,
    now: () => clock.now(),
    sleep: (ms) => sleep(ms),
    cleanup: async () => {
      await store.close();
      await deletePrefix(prefix);
    },
  };
});

describe('Redis Store specifics', () => {
  it('keys carry one hash tag per tenant and tenants do not see each other', async () => {
    const prefix = uniquePrefix();
    const clock = systemClock();
    const a = await createRedisStore({ url: REDIS_URL, prefix, tenant: 'a', clock });
    const b = await createRedisStore({ url: REDIS_URL, prefix, tenant: 'b', clock });
    try {
      expect((await a.acquireLease('agent:alice', 'x', 5000)).ok).toBe(true);
      expect((await b.acquireLease('agent:alice', 'y', 5000)).ok).toBe(true);
      const { Redis } = await import('ioredis');
      const r = new Redis(REDIS_URL);
      const keys = await r.keys(`${prefix}:*`);
      r.disconnect();
      expect(keys.sort()).toEqual([
        `${prefix}:{a}:fence:agent:alice`,
        `${prefix}:{a}:lease:agent:alice`,
        `${prefix}:{b}:fence:agent:alice`,
        `${prefix}:{b}:lease:agent:alice`,
      ]);
    } finally {
      await a.close();
      await b.close();
      await deletePrefix(prefix);
    }
  });

  it("a call's entries are found through its index, which expires, and by a scan when the index is gone", async () => {
    const prefix = uniquePrefix();
    const clock = systemClock();
    const store = await createRedisStore({ url: REDIS_URL, prefix, tenant: 't1', clock });
    const { Redis } = await import('ioredis');
    const r = new Redis(REDIS_URL);
    try {
      const at = clock.now();
      const ids = [];
      for (const [i, call] of ['c1', 'c2', 'c1'].entries())
        ids.push(await store.appendAudit({ kind: 'call-action', at: at + i, action: 'hold', call, result: 'ok', detail: { i } }));
      const index = `${prefix}:{t1}:audit-call:c1`;
      expect(await r.lrange(index, 0, -1)).toEqual([ids[0], ids[2]]);
      expect(await r.pttl(index)).toBeGreaterThan(24 * 3600 * 1000);
      // The index gone (expired, or entries written before it existed): the same answer by a scan.
      await r.del(index);
      expect((await store.queryAudit({ call: 'c1' })).map((e) => e.detail.i)).toEqual([2, 0]);
    } finally {
      r.disconnect();
      await store.close();
      await deletePrefix(prefix);
    }
  });

  it('an unreachable Redis fails start-up with AGENTGATE_ERR_STORE naming the address', async () => {
    await expect(createRedisStore({ url: 'redis://127.0.0.1:1', clock: systemClock() })).rejects.toMatchObject({
      code: 'AGENTGATE_ERR_STORE',
      message: expect.stringContaining('127.0.0.1:1') as unknown as string,
    });
  });
});
