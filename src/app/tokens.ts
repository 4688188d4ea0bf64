/**
 * API tokens: random, shown once, stored only as their sha-256 in the Store; a token maps to a user
 * and can be revoked. Tokens from the config (`tokens: [{user, sha256, label}]`) are seeded at start.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../ports/clock.js';
import type { Store, TokenRecord } from '../ports/store.js';

export const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface TokenService {
  /** A new token for userId; the plaintext is returned once and never stored. */
  issue(userId: string, label: string): Promise<string>;
  verify(token: string): Promise<(TokenRecord & { tokenHash: string }) | null>;
  revoke(tokenHash: string): Promise<boolean>;
  seed(tokens: ReadonlyArray<{ user: string; sha256: string; label?: string }>): Promise<void>;
}

export function createTokenService(deps: { store: Store; clock: Clock }): TokenService {
  return {
    async issue(userId, label) {
      const token = `agt_${randomBytes(24).toString('base64url')}`;
      await deps.store.putToken(sha256(token), { userId, label, createdAt: deps.clock.now() });
      return token;
    },
    async verify(token) {
      const tokenHash = sha256(token);
      const rec = await deps.store.getToken(tokenHash);
      return rec ? { ...rec, tokenHash } : null;
    },
    revoke: (h) => deps.store.revokeToken(h),
    async seed(tokens) {
      for (const t of tokens) await deps.store.putToken(t.sha256.toLowerCase(), { userId: t.user, label: t.label ?? 'config', createdAt: deps.clock.now() });
    },
  };
}
