/**
 * Who is calling the API: a bearer token maps to a user of the policy in force, whose portal scope
 * allows the API and whose IP allow-list holds the request's source address. The HTTP adapter
 * reads the header and the address and limits failed attempts; the rules are here.
 */
import { AgentgateError } from '../errors/codes.js';
import { checkIp, userById } from '../domain/policy/index.js';
import type { PolicyHolder } from './policy-holder.js';
import type { TokenService } from './tokens.js';

export interface ApiCaller {
  id: string;
  tokenHash: string;
}

/**
 * The caller behind `token` from `ip`. Throws AGENTGATE_ERR_UNAUTHENTICATED (no token, an unknown
 * one, or one whose user is gone: the adapter counts these as failed attempts),
 * AGENTGATE_ERR_FORBIDDEN (scope no_portal) or AGENTGATE_ERR_IP_NOT_ALLOWED.
 */
export async function authenticateCaller(
  deps: { tokens: TokenService; policy: PolicyHolder },
  token: string | undefined,
  ip: string,
): Promise<ApiCaller> {
  const rec = token === undefined ? null : await deps.tokens.verify(token);
  const user = rec ? userById(deps.policy.current(), rec.userId) : undefined;
  if (!rec || !user) throw new AgentgateError('AGENTGATE_ERR_UNAUTHENTICATED');
  if (user.scope === 'no_portal') throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: `${user.id} has scope no_portal` });
  if (!checkIp(user.flags.ipAllow, ip)) throw new AgentgateError('AGENTGATE_ERR_IP_NOT_ALLOWED', { ip, user: user.id });
  return { id: user.id, tokenHash: rec.tokenHash };
}
