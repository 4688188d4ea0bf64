/**
 * API tokens: random, shown once, stored only as their sha-256 in the Store; a token maps to a user
 * and can be revoked.
 *
 * Tokens from the config (`tokens: [{user, sha256, label}]`) live in memory, not in the Store: the
 * config is their source of truth. So they keep working when Redis restarts empty (or is down), a
 * token removed from the config stops working at the next start, and they cannot be revoked over
 * the API (remove them from the config instead).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../ports/clock.js';
import type { Store, TokenRecord } from '../ports/store.js';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export type VerifiedToken = TokenRecord & { tokenHash: string; source: 'config' | 'store' };

/** A new random API token (`agt_` + 192 random bits), as issued by the API and `agentgate token create`. */
export const newToken = (): string => `agt_${randomBytes(24).toString('base64url')}`;

export interface TokenService {
  /** A new token for userId; the plaintext is returned once and never stored. */
  issue(userId: string, label: string): Promise<string>;
  verify(token: string): Promise<VerifiedToken | null>;
  /** The record behind a hash (config or Store), or null. */
  lookup(tokenHash: string): Promise<VerifiedToken | null>;
  /** Revokes a Store token; false when there is none. Config tokens are not revocable (see above). */
  revoke(tokenHash: string): Promise<boolean>;
  /** Replace the config tokens (at start). */
  seed(tokens: ReadonlyArray<{ user: string; sha256: string; label?: string }>): Promise<void>;
  /** Whether `tokenHash` is a config token. */
  isConfigToken(tokenHash: string): boolean;
}

/**
 * Verified Store tokens are remembered for `cacheMs` (default 1 s) so a busy client costs one Store
 * read per second, not one per request. A revoke through this instance applies at once; through
 * another instance, within cacheMs.
 */
export function createTokenService(deps: { store: Store; clock: Clock; cacheMs?: number }): TokenService {
  const cacheMs = deps.cacheMs ?? 1000;
  const cache = new Map<string, { rec: VerifiedToken; until: number }>();
  const fromConfig = new Map<string, VerifiedToken>();
  const lookup = async (tokenHash: string): Promise<VerifiedToken | null> => {
    const cfg = fromConfig.get(tokenHash);
    if (cfg) return cfg;
    const rec = await deps.store.getToken(tokenHash);
    return rec ? { ...rec, tokenHash, source: 'store' } : null;
  };
  return {
    async issue(userId, label) {
      const token = newToken();
      await deps.store.putToken(sha256(token), { userId, label, createdAt: deps.clock.now() });
      return token;
    },
    async verify(token) {
      const tokenHash = sha256(token);
      const cfg = fromConfig.get(tokenHash);
      if (cfg) return cfg;
      const now = deps.clock.now();
      const hit = cache.get(tokenHash);
      if (hit && hit.until > now) return hit.rec;
      const out = await lookup(tokenHash);
      if (out) {
        if (cache.size > 10_000) cache.clear();
        cache.set(tokenHash, { rec: out, until: now + cacheMs });
      }
      return out;
    },
    lookup,
    revoke(h) {
      cache.delete(h);
      return deps.store.revokeToken(h);
    },
    async seed(tokens) {
      fromConfig.clear();
      const now = deps.clock.now();
      for (const t of tokens) {
        const tokenHash = t.sha256.toLowerCase();
        fromConfig.set(tokenHash, { userId: t.user, label: t.label ?? 'config', createdAt: now, tokenHash, source: 'config' });
      }
    },
    isConfigToken: (h) => fromConfig.has(h),
  };
}
