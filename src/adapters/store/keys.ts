/**
 * Every Redis key agentgate uses, in one place. Keys share one hash tag per tenant
 * (`agentgate:{default}:...`) so every multi-key script runs on a single Redis Cluster slot.
 */
export interface KeySpace {
  lease(key: string): string;
  fence(key: string): string;
  once(key: string): string;
  dispatches(): string;
  audit(): string;
  /** The audit stream ids of one call's entries, oldest first (redis.ts APPEND_AUDIT). */
  auditCall(callId: string): string;
  tokens(): string;
  policy(): string;
  /** Everything under this key space (tests clean up with it). */
  pattern(): string;
}

export function keySpace(prefix = 'agentgate', tenant = 'default'): KeySpace {
  const base = `${prefix}:{${tenant}}`;
  return {
    lease: (k) => `${base}:lease:${k}`,
    fence: (k) => `${base}:fence:${k}`,
    once: (k) => `${base}:once:${k}`,
    dispatches: () => `${base}:dispatches`,
    audit: () => `${base}:audit`,
    auditCall: (id) => `${base}:audit-call:${id}`,
    tokens: () => `${base}:tokens`,
    policy: () => `${base}:policy`,
    pattern: () => `${base}:*`,
  };
}
