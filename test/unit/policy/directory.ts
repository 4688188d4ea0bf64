/**
 * Small policy documents written in the test itself, for specs that need more than one of a thing
 * (two groups, two owners of extensions...) to tell "this one" from "every one".
 */
import {
  compilePolicy,
  DEFAULT_FLAGS,
  parsePolicyDoc,
  type CompiledPolicy,
  type Extension,
  type Grant,
  type Group,
  type PolicyDoc,
  type Queue,
  type User,
} from '../../../src/domain/policy/index.js';

export function user(id: string, role: User['role'], extra: Partial<User> = {}): User {
  return {
    id,
    name: id,
    role,
    scope: 'call_center_agent',
    groups: [],
    extensions: [],
    addresses: [],
    flags: { ...DEFAULT_FLAGS, ipAllow: [] },
    ...extra,
  };
}

export function group(id: string, members: string[] = [], supervisors: string[] = []): Group {
  return { id, members, supervisors };
}

export function ext(id: string, server?: string): Extension {
  return server === undefined ? { id, interface: `PJSIP/${id}` } : { id, interface: `PJSIP/${id}`, server };
}

export function queue(id: string, server?: string): Queue {
  return server === undefined ? { id } : { id, server };
}

export function grant(id: string, subject: string, actions: Grant['actions'], targets: string[]): Grant {
  return { id, subject, actions, targets };
}

/** A validated document (throws on a mistake in the test's own data). */
export function docOf(parts: Partial<PolicyDoc>): PolicyDoc {
  const res = parsePolicyDoc(
    JSON.parse(JSON.stringify({ users: [], groups: [], extensions: [], queues: [], grants: [], ...parts })) as unknown,
  );
  if (!res.ok) throw new Error(`test document invalid: ${JSON.stringify(res.errors)}`);
  return res.value;
}

export function policyOf(parts: Partial<PolicyDoc>, version = 1): CompiledPolicy {
  return compilePolicy(docOf(parts), version);
}
