import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.AGENTGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique key prefix per test, so tests never see each other's keys. */
export function uniquePrefix(): string {
  return `agtest-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under prefix (all tenants). */
export async function deletePrefix(prefix: string): Promise<void> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await r.connect();
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
}
