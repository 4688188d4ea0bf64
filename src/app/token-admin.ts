/**
 * Issuing and revoking API tokens on behalf of a user (the HTTP routes call these).
 *
 * A token acts as its user, so minting one for someone else hands out their powers. Rules, by the
 * domain's role order (agent < supervisor < manager < administrator < owner):
 * - everyone may mint and revoke tokens for themselves;
 * - only administrators and owners act on other users' tokens, and only on users of a strictly lower
 *   role (an administrator cannot mint for the owner or another administrator, nor an owner for
 *   another owner) — otherwise an administrator could mint the owner's token and make itself owner.
 * Every attempt is audited (kind `token`): who acted for whom, and whether it was refused.
 * Field names in errors are the request's own (`user`, `hash`); the HTTP layer says where they were.
 */
import type { Logger } from 'pino';
import { AgentgateError } from '../errors/codes.js';
import { roleRank, userById, type User } from '../domain/policy/index.js';
import type { Clock } from '../ports/clock.js';
import type { AuditEntryInput, Store } from '../ports/store.js';
import type { PolicyHolder } from './policy-holder.js';
import { sha256, type TokenService } from './tokens.js';

export interface TokenAdmin {
  issue(actor: string, req: { user?: string; label: string }): Promise<{ token: string; user: string; tokenHash: string }>;
  revoke(actor: string, tokenHash: string): Promise<void>;
}

export interface TokenAdminDeps {
  tokens: TokenService;
  policy: PolicyHolder;
  store: Store;
  clock: Clock;
  logger: Logger;
}

/** Administrators and above (the domain's role order) act on other users' tokens. */
const actsForOthers = (u: User): boolean => roleRank(u.role) >= roleRank('administrator');

/** Why `self` may not act on `target`'s tokens, or undefined when it may. */
function refusal(self: User, target: User | undefined, targetId: string): string | undefined {
  if (targetId === self.id) return undefined;
  if (!actsForOthers(self)) return `only administrators and owners act on other users' tokens; ${self.id} is ${self.role}`;
  if (target !== undefined && roleRank(target.role) >= roleRank(self.role)) {
    return `${self.id} (${self.role}) may not act for ${target.id} (${target.role}): not a lower role`;
  }
  return undefined;
}

export function createTokenAdmin(deps: TokenAdminDeps): TokenAdmin {
  const log = deps.logger.child({ component: 'token-admin' });
  /** Refusals are audited best-effort: the Store being down must not turn a 403 into a 503. */
  const auditRefusal = async (entry: Omit<AuditEntryInput, 'kind' | 'at' | 'result'>): Promise<void> => {
    await deps.store.appendAudit({ kind: 'token', at: deps.clock.now(), result: 'denied', ...entry }).catch((err: unknown) => {
      log.warn({ err, ...entry }, 'could not audit a refused token request');
    });
  };
  const self = (actor: string): User => {
    const u = userById(deps.policy.current(), actor);
    if (!u) throw new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED');
    return u;
  };

  return {
    async issue(actor, req) {
      const me = self(actor);
      const targetId = req.user ?? me.id;
      const target = userById(deps.policy.current(), targetId);
      const why = refusal(me, target, targetId);
      if (why !== undefined) {
        await auditRefusal({ actor: me.id, action: 'issue', detail: { user: targetId, label: req.label, reason: why } });
        throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: why }, { field: 'user' });
      }
      if (!target) throw new AgentgateError('AGENTGATE_ERR_UNKNOWN_USER', { id: targetId }, { field: 'user' });
      const token = await deps.tokens.issue(target.id, req.label);
      const tokenHash = sha256(token);
      try {
        await deps.store.appendAudit({
          kind: 'token',
          at: deps.clock.now(),
          actor: me.id,
          action: 'issue',
          result: 'ok',
          detail: { user: target.id, label: req.label, tokenHash },
        });
      } catch (err) {
        // No token without its audit record: take it back and say the Store failed.
        await deps.tokens
          .revoke(tokenHash)
          .catch((e: unknown) => log.error({ err: e, tokenHash }, 'token issued but neither audited nor revoked'));
        throw err;
      }
      return { token, user: target.id, tokenHash };
    },

    async revoke(actor, tokenHash) {
      const me = self(actor);
      const rec = await deps.tokens.lookup(tokenHash);
      // Non-administrators learn nothing about other users' tokens, not even whether one exists.
      const why = rec
        ? refusal(me, userById(deps.policy.current(), rec.userId), rec.userId)
        : actsForOthers(me)
          ? undefined
          : `${me.id} has no such token`;
      if (why !== undefined) {
        await auditRefusal({ actor: me.id, action: 'revoke', detail: { tokenHash, user: rec?.userId, reason: why } });
        throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: why }, { field: 'hash' });
      }
      if (!rec) throw new AgentgateError('AGENTGATE_ERR_NOT_FOUND', { what: 'Token' }, { field: 'hash' });
      if (rec.source === 'config') {
        throw new AgentgateError(
          'AGENTGATE_ERR_CONFLICT',
          { detail: 'this token comes from the config file (tokens:); remove it there and restart' },
          { field: 'hash' },
        );
      }
      const ok = await deps.tokens.revoke(tokenHash);
      if (!ok) throw new AgentgateError('AGENTGATE_ERR_NOT_FOUND', { what: 'Token' }, { field: 'hash' });
      // Revoked: report it as done even if its audit record cannot be written now.
      await deps.store
        .appendAudit({
          kind: 'token',
          at: deps.clock.now(),
          actor: me.id,
          action: 'revoke',
          result: 'ok',
          detail: { tokenHash, user: rec.userId },
        })
        .catch((err: unknown) => log.error({ err, tokenHash }, 'token revoked but its audit record could not be written'));
    },
  };
}
