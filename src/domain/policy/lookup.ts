/**
 * Directory look-ups the rest of the daemon needs: who owns an extension (the actor of a dialplan
 * feature code), extension by id or AMI interface (QueueMember events name interfaces), and what
 * ring-all dials for an agent.
 */
import type { CompiledPolicy } from './compile.js';
import type { Address, Extension, User } from './types.js';

/** The user who owns `extension`, if any. */
export function userOwningExtension(policy: CompiledPolicy, extension: string): User | undefined {
  return policy.index.extensions.get(extension)?.owner?.user;
}

export function extensionById(policy: CompiledPolicy, id: string): Extension | undefined {
  return policy.index.extensions.get(id)?.ext;
}

/** Extension whose `interface` is `iface` (exact, as AMI reports it), or undefined. */
export function extensionByInterface(policy: CompiledPolicy, iface: string): Extension | undefined {
  return policy.index.byInterface.get(iface);
}

export function userById(policy: CompiledPolicy, id: string): User | undefined {
  return policy.index.users.get(id)?.user;
}

export interface DispatchAgent {
  user: User;
  /** De-duplicated by endpoint (first occurrence kept), in configured order. */
  addresses: Array<{ endpoint: string; delayMs: number; timeoutSec?: number }>;
  /** flags.inbound: whether the agent takes inbound calls at all. */
  inbound: boolean;
}

/** What ring-all needs to dial an agent, or undefined for an unknown user. */
export function agentForDispatch(policy: CompiledPolicy, userId: string): DispatchAgent | undefined {
  const u = policy.index.users.get(userId)?.user;
  if (!u) return undefined;
  const seen = new Set<string>();
  const addresses: Address[] = [];
  for (const a of u.addresses) {
    if (seen.has(a.endpoint)) continue;
    seen.add(a.endpoint);
    addresses.push(
      a.timeoutSec === undefined
        ? { endpoint: a.endpoint, delayMs: a.delayMs }
        : { endpoint: a.endpoint, delayMs: a.delayMs, timeoutSec: a.timeoutSec },
    );
  }
  return { user: u, addresses, inbound: u.flags.inbound };
}
