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

  it('an unreachable Redis fails start-up with AGENTGATE_ERR_STORE naming the address', async () => {
    await expect(createRedisStore({ url: 'redis://127.0.0.1:1', clock: systemClock() })).rejects.toMatchObject({
      code: 'AGENTGATE_ERR_STORE',
      message: expect.stringContaining('127.0.0.1:1') as unknown as string,
    });
  });
});
