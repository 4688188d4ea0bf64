/**
 * API tokens: random, shown once, stored only as their sha-256 in the Store; a token maps to a user
 * and can be revoked. Tokens from the config (`tokens: [{user, sha256, label}]`) are seeded at start.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../ports/clock.js';
import type { Store, TokenRecord } from '../ports/store.js';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A new random API token (`agt_` + 192 random bits), as issued by the API and `agentgate token create`. */
export const newToken = (): string => `agt_${randomBytes(24).toString('base64url')}`;

export interface TokenService {
  /** A new token for userId; the plaintext is returned once and never stored. */
  issue(userId: string, label: string): Promise<string>;
  verify(token: string): Promise<(TokenRecord & { tokenHash: string }) | null>;
  revoke(tokenHash: string): Promise<boolean>;
  seed(tokens: ReadonlyArray<{ user: string; sha256: string; label?: string }>): Promise<void>;
}

/**
 * Verified tokens are remembered for `cacheMs` (default 1 s) so a busy client costs one Store read
 * per second, not one per request. A revoke through this instance applies at once; through another
 * instance, within cacheMs.
 */
export function createTokenService(deps: { store: Store; clock: Clock; cacheMs?: number }): TokenService {
  const cacheMs = deps.cacheMs ?? 1000;
  const cache = new Map<string, { rec: (TokenRecord & { tokenHash: string }) | null; until: number }>();
  return {
    async issue(userId, label) {
      const token = newToken();
      await deps.store.putToken(sha256(token), { userId, label, createdAt: deps.clock.now() });
      return token;
    },
    async verify(token) {
      const tokenHash = sha256(token);
      const now = deps.clock.now();
      const hit = cache.get(tokenHash);
      if (hit && hit.until > now) return hit.rec;
      const rec = await deps.store.getToken(tokenHash);
      const out = rec ? { ...rec, tokenHash } : null;
      if (out) {
        if (cache.size > 10_000) cache.clear();
        cache.set(tokenHash, { rec: out, until: now + cacheMs });
      }
      return out;
    },
    revoke(h) {
      cache.delete(h);
      return deps.store.revokeToken(h);
    },
    async seed(tokens) {
      for (const t of tokens) await deps.store.putToken(t.sha256.toLowerCase(), { userId: t.user, label: t.label ?? 'config', createdAt: deps.clock.now() });
    },
  };
}
