import { Redis } from 'ioredis';
/** Small helpers shared by the benchmarks. */
export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function summary(values: number[]): { n: number; p50: number; p99: number; max: number } {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    p50: +percentile(s, 0.5).toFixed(3),
    p99: +percentile(s, 0.99).toFixed(3),
    max: +(s[s.length - 1] ?? NaN).toFixed(3),
  };
}

export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Deletes every key under prefix: a benchmark leaves nothing behind in the Redis it borrowed. */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
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
