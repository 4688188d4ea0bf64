/**
 * "May <user> do <action> on <extension> [queue], and why", asked through the API. Anyone may ask
 * about themselves; asking about someone else shows what that user may do, so it takes a manager
 * or above (by the domain's role order).
 */
import { AgentgateError } from '../errors/codes.js';
import {
  decide,
  explain,
  plainDecision,
  roleRank,
  userById,
  type CompiledPolicy,
  type Decision,
  type QueueAction,
} from '../domain/policy/index.js';

export interface ExplainQuestion {
  /** Whose decision: the caller when absent. */
  user?: string;
  action: QueueAction;
  extension: string;
  queue?: string;
}

export function explainForCaller(policy: CompiledPolicy, callerId: string, q: ExplainQuestion, ip: string): Decision & { text: string } {
  const target = q.user ?? callerId;
  const caller = userById(policy, callerId);
  if (caller === undefined) throw new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED');
  if (target !== callerId && roleRank(caller.role) < roleRank('manager')) {
    throw new AgentgateError(
      'AGENTGATE_ERR_FORBIDDEN',
      { detail: 'only managers and above explain decisions for other users' },
      { field: 'user' },
    );
  }
  const request = { actor: target, action: q.action, extension: q.extension, queue: q.queue, source: 'http' as const, ip };
  const d = decide(policy, request);
  return { ...plainDecision(d), text: explain(d, request) };
}
