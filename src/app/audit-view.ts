/**
 * Reading the audit through the API: agents see only their own records; supervisors and above (by
 * the domain's role order) see everyone's.
 */
import { AgentgateError } from '../errors/codes.js';
import { roleRank, userById } from '../domain/policy/index.js';
import type { AuditEntry, AuditFilter, Store } from '../ports/store.js';
import type { PolicyHolder } from './policy-holder.js';

export async function auditForCaller(
  deps: { store: Store; policy: PolicyHolder },
  callerId: string,
  filter: AuditFilter,
): Promise<AuditEntry[]> {
  const caller = userById(deps.policy.current(), callerId);
  if (caller === undefined) throw new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED');
  const scoped = roleRank(caller.role) < roleRank('supervisor') ? { ...filter, actor: caller.id } : filter;
  return deps.store.queryAudit(scoped);
}
