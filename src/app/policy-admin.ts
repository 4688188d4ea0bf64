/**
 * The policy-change use case: check the version, validate and authorize the change (the domain's
 * administration rules), store the next version, install it, audit. Refused changes are audited
 * too (best-effort: the Store being down must not turn a 403 into a 503). Field names in errors are
 * the request's own (`change.user.role`, `expectedVersion`); the HTTP layer says where they were.
 */
import type { Logger } from 'pino';
import { AgentgateError } from '../errors/codes.js';
import { changePolicy, plainDecision, type PolicyChange } from '../domain/policy/index.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import type { PolicyHolder } from './policy-holder.js';

export interface PolicyAdminDeps {
  policy: PolicyHolder;
  store: Store;
  clock: Clock;
  logger: Logger;
}

/** Applies `change` for `actor` when the policy in force is still `expectedVersion`; returns the new version. */
export async function applyPolicyChange(
  deps: PolicyAdminDeps,
  actor: string,
  expectedVersion: number,
  change: PolicyChange,
): Promise<{ version: number }> {
  const current = deps.policy.current();
  if (expectedVersion !== current.version) {
    throw new AgentgateError(
      'AGENTGATE_ERR_POLICY_VERSION',
      { expected: expectedVersion, actual: current.version },
      { field: 'expectedVersion' },
    );
  }
  const op = (change as { op?: unknown }).op;
  const r = changePolicy(current, actor, change);
  if (!r.ok && r.errors.length > 0) {
    const e = r.errors[0]!;
    const field = e.path === '(root)' ? 'change' : `change.${e.path}`;
    throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field, detail: e.message }, { field });
  }
  if (!r.ok) {
    const decision = plainDecision(r.decision);
    await deps.store
      .appendAudit({
        kind: 'policy-change',
        at: deps.clock.now(),
        actor,
        action: String(op),
        result: 'denied',
        detail: { change, decision },
      })
      .catch((err: unknown) => deps.logger.warn({ err, actor }, 'could not audit a refused policy change'));
    const failed = decision.reasons.filter((x) => !x.passed).map((x) => `${x.name}: ${x.detail}`);
    throw new AgentgateError('AGENTGATE_ERR_POLICY_ADMIN', { detail: failed.join('; '), decision });
  }
  const put = await deps.store.putPolicy(current.version, r.policy.doc);
  if (!put.ok)
    throw new AgentgateError(
      'AGENTGATE_ERR_POLICY_VERSION',
      { expected: current.version, actual: put.version },
      { field: 'expectedVersion' },
    );
  deps.policy.replace(r.policy.doc, put.version);
  // The change is stored: report it as done even if its audit record cannot be written now.
  await deps.store
    .appendAudit({
      kind: 'policy-change',
      at: deps.clock.now(),
      actor,
      action: String(op),
      result: 'ok',
      detail: { change, version: put.version, decision: plainDecision(r.decision) },
    })
    .catch((err: unknown) =>
      deps.logger.error({ err, actor, version: put.version }, 'policy changed but its audit record could not be written'),
    );
  return { version: put.version };
}
