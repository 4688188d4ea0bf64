/**
 * Administration of the policy itself. `authorizeChange` decides whether an actor may make a change
 * (same Decision shape as queue operations, so it is audited and explained the same way);
 * `applyChange` produces the next document and re-validates it. The Store keeps the versions.
 *
 * Rules (all must pass):
 * - actor: a known user; scope: not no_portal.
 * - admin-role: only Administrator and Owner change the policy (grants and directory alike).
 * - target: the thing removed exists.
 * - role: nobody puts or removes a user whose current role is above their own, nor gives a role above
 *   their own.
 * - owner: only an Owner makes another Owner (or changes / removes an Owner).
 * - no-escalation: nobody grants a right they do not hold. For add-grant, the actor's own grants
 *   must give every action of the new grant on every one of its targets: the same target, or one
 *   that stands for it (`group:g` holds `user:m` for each member m, a user or group target holds
 *   their extensions, a target is also held when every extension it stands for is held). Putting a
 *   user into a group, or adding members to a group, hands out that group's grants, so the actor
 *   must hold those too. Owners are not exempt: the first grants come from the config file.
 *   Not covered: giving a user more extensions, or adding supervisors to a group.
 *
 * Longer than 400 lines on purpose: each change op's authorization and its application sit side by side, so a reader checks both in one place.
 */
import { compilePolicy, grantsFor, type CompiledPolicy, type UserIndex } from './compile.js';
import type { Check, Decision } from './decide.js';
import { parsePolicyChange, parsePolicyDoc } from './parse.js';
import {
  roleRank,
  type Extension,
  type Grant,
  type Group,
  type PolicyDoc,
  type PolicyIssue,
  type Queue,
  type QueueAction,
  type User,
} from './types.js';

export type PolicyChange =
  | { op: 'add-grant'; grant: Grant }
  | { op: 'remove-grant'; id: string }
  | { op: 'put-user'; user: User }
  | { op: 'remove-user'; id: string }
  | { op: 'put-group'; group: Group }
  | { op: 'remove-group'; id: string }
  | { op: 'put-extension'; extension: Extension }
  | { op: 'remove-extension'; id: string }
  | { op: 'put-queue'; queue: Queue }
  | { op: 'remove-queue'; id: string };

function finish(reasons: Check[], matched: string[] = []): Decision {
  return { allowed: reasons.every((r) => r.passed), reasons, matched: [...new Set(matched)] };
}

/** Target keys the actor's grants give for `action`, and the grant ids behind each. */
function heldTargets(policy: CompiledPolicy, u: UserIndex, action: QueueAction): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const s of u.subjectIds) {
    for (const gi of grantsFor(policy.index, s, action)) {
      const g = policy.doc.grants[gi]!;
      for (const t of g.targets) {
        const l = out.get(t);
        if (l) l.push(g.id);
        else out.set(t, [g.id]);
      }
    }
  }
  return out;
}

/**
 * Whether `held` (target keys → grant ids) covers `target`; returns the grant ids used, or
 * undefined. Resolution follows the model: group → members, user → extensions.
 */
function covers(policy: CompiledPolicy, held: Map<string, string[]>, target: string, depth = 0): string[] | undefined {
  const direct = held.get(target);
  if (direct) return direct;
  if (depth > 2) return undefined;
  const ix = policy.index;
  const colon = target.indexOf(':');
  const kind = target.slice(0, colon);
  const id = target.slice(colon + 1);
  if (kind === 'extension') {
    const owner = ix.extensions.get(id)?.owner;
    if (!owner) return undefined;
    const viaUser = held.get(`user:${owner.user.id}`);
    if (viaUser) return viaUser;
    for (const g of owner.groups) {
      const viaGroup = held.get(`group:${g}`);
      if (viaGroup) return viaGroup;
    }
    return undefined;
  }
  const all = (parts: string[]): string[] | undefined => {
    if (parts.length === 0) return undefined;
    const used: string[] = [];
    for (const p of parts) {
      const c = covers(policy, held, p, depth + 1);
      if (!c) return undefined;
      used.push(...c);
    }
    return used;
  };
  if (kind === 'user') {
    const u = ix.users.get(id);
    if (!u) return undefined;
    for (const g of u.groups) {
      const viaGroup = held.get(`group:${g}`);
      if (viaGroup) return viaGroup;
    }
    return all(u.user.extensions.map((e) => `extension:${e}`));
  }
  if (kind === 'group') {
    const g = ix.groups.get(id);
    if (!g) return undefined;
    return all([...g.members].map((m) => `user:${m}`));
  }
  return undefined;
}

/** Checks that the actor holds every (action, target) of the given grants. */
function escalationCheck(policy: CompiledPolicy, u: UserIndex, grants: readonly Grant[], why: string): { check: Check; used: string[] } {
  const missing: string[] = [];
  const used: string[] = [];
  const heldByAction = new Map<QueueAction, Map<string, string[]>>();
  for (const g of grants) {
    for (const a of g.actions) {
      let held = heldByAction.get(a);
      if (!held) heldByAction.set(a, (held = heldTargets(policy, u, a)));
      for (const t of g.targets) {
        const c = covers(policy, held, t);
        if (c) used.push(...c);
        else missing.push(`${a} ${t}`);
      }
    }
  }
  if (missing.length > 0) {
    const list = missing.length > 5 ? `${missing.slice(0, 5).join(', ')} and ${missing.length - 5} more` : missing.join(', ');
    return { check: { name: 'no-escalation', passed: false, detail: `${why}, but ${u.user.id} does not hold: ${list}` }, used: [] };
  }
  return {
    check: {
      name: 'no-escalation',
      passed: true,
      detail: grants.length === 0 ? 'gives no queue rights' : `${u.user.id} holds every right it gives`,
      grants: [...new Set(used)],
    },
    used,
  };
}

function grantsOfGroups(doc: PolicyDoc, groups: Iterable<string>): Grant[] {
  const subjects = new Set([...groups].map((g) => `group:${g}`));
  return doc.grants.filter((g) => subjects.has(g.subject));
}

/**
 * May `actor` make `change`? A Decision with every check, like queue operations. Total: never throws,
 * whatever `change` holds at run time (it often comes from an API body): a change that is not
 * well-formed is denied by a failed `change` check naming the field (`user.role: must be one of ...`).
 */
export function authorizeChange(policy: CompiledPolicy, actor: string, raw: PolicyChange): Decision {
  const parsed = parsePolicyChange(raw);
  if (!parsed.ok) {
    return finish(parsed.errors.slice(0, 5).map((e) => ({ name: 'change', passed: false, detail: `${e.path}: ${e.message}` })));
  }
  const change = parsed.value;
  const ix = policy.index;
  const u = ix.users.get(actor);
  if (!u) return finish([{ name: 'actor', passed: false, detail: `unknown user '${actor}'` }]);
  const reasons: Check[] = [{ name: 'actor', passed: true, detail: `${u.user.id} (${u.user.role}, ${u.user.scope})` }];
  reasons.push(
    u.user.scope === 'no_portal'
      ? { name: 'scope', passed: false, detail: 'scope no_portal allows nothing' }
      : { name: 'scope', passed: true, detail: `scope ${u.user.scope}` },
  );
  const isAdmin = u.user.role === 'administrator' || u.user.role === 'owner';
  reasons.push({
    name: 'admin-role',
    passed: isAdmin,
    detail: isAdmin
      ? `${u.user.role} may change the policy`
      : `only administrator and owner change the policy; ${u.user.id} is ${u.user.role}`,
  });
  const matched: string[] = [];
  const exists = (kind: string, found: boolean, id: string): void => {
    reasons.push({ name: 'target', passed: found, detail: found ? `${kind} ${id}` : `unknown ${kind} '${id}'` });
  };

  switch (change.op) {
    case 'add-grant': {
      const { check, used } = escalationCheck(
        policy,
        u,
        [change.grant],
        `grant ${change.grant.id} gives ${change.grant.subject} ${change.grant.actions.join('/')} on ${change.grant.targets.join(', ')}`,
      );
      reasons.push(check);
      matched.push(...used);
      break;
    }
    case 'remove-grant':
      exists(
        'grant',
        policy.doc.grants.some((g) => g.id === change.id),
        change.id,
      );
      break;
    case 'put-user': {
      const next = change.user;
      const current = ix.users.get(next.id);
      const nextRank = roleRank(next.role);
      const ok = (current === undefined || current.rank <= u.rank) && nextRank <= u.rank;
      reasons.push({
        name: 'role',
        passed: ok,
        detail: ok
          ? `${u.user.id} (${u.user.role}) may set ${next.id} to ${next.role}`
          : current !== undefined && current.rank > u.rank
            ? `${u.user.id} (${u.user.role}) may not change ${next.id} (${current.user.role}): a higher role`
            : `${u.user.id} (${u.user.role}) may not give the role ${next.role}, above its own`,
      });
      if (next.role === 'owner' || current?.user.role === 'owner') {
        const owner = u.user.role === 'owner';
        reasons.push({
          name: 'owner',
          passed: owner,
          detail: owner ? 'an owner changes owners' : 'only an owner makes or changes another owner',
        });
      }
      const before = current?.groups ?? new Set<string>();
      const added = next.groups.filter((g) => !before.has(g) && ix.groups.has(g));
      const { check, used } = escalationCheck(
        policy,
        u,
        grantsOfGroups(policy.doc, added),
        `putting ${next.id} into ${added.join(', ')} hands out those groups' grants`,
      );
      reasons.push(check);
      matched.push(...used);
      break;
    }
    case 'remove-user': {
      const current = ix.users.get(change.id);
      exists('user', current !== undefined, change.id);
      if (current) {
        const ok = current.rank <= u.rank;
        reasons.push({
          name: 'role',
          passed: ok,
          detail: ok
            ? `${current.user.id} (${current.user.role}) is not above ${u.user.id}`
            : `${u.user.id} (${u.user.role}) may not remove ${current.user.id} (${current.user.role}): a higher role`,
        });
        if (current.user.role === 'owner') {
          const owner = u.user.role === 'owner';
          reasons.push({ name: 'owner', passed: owner, detail: owner ? 'an owner removes owners' : 'only an owner removes another owner' });
        }
      }
      break;
    }
    case 'put-group': {
      const before = ix.groups.get(change.group.id)?.members ?? new Set<string>();
      const addedMembers = change.group.members.filter((m) => !before.has(m));
      const grants = addedMembers.length > 0 ? grantsOfGroups(policy.doc, [change.group.id]) : [];
      const { check, used } = escalationCheck(
        policy,
        u,
        grants,
        `adding ${addedMembers.join(', ')} to ${change.group.id} hands out its grants`,
      );
      reasons.push(check);
      matched.push(...used);
      break;
    }
    case 'remove-group':
      exists('group', ix.groups.has(change.id), change.id);
      break;
    case 'remove-extension':
      exists('extension', ix.extensions.has(change.id), change.id);
      break;
    case 'remove-queue':
      exists('queue', ix.queues.has(change.id), change.id);
      break;
    case 'put-extension':
    case 'put-queue':
      break;
    default:
      reasons.push({ name: 'target', passed: false, detail: `unknown change '${String((change as { op?: unknown }).op)}'` });
  }
  return finish(reasons, matched);
}

function put<T extends { id: string }>(list: readonly T[], item: T): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  return i < 0 ? [...list, item] : list.map((x, j) => (j === i ? item : x));
}

function itemPath(list: readonly { id: string }[], id: string, key: string): string {
  const i = list.findIndex((x) => x.id === id);
  return `${key}[${i < 0 ? list.length : i}]`;
}

/**
 * Apply a change and re-validate the whole document. Removing a user, group or extension also takes
 * it out of the directory's membership and ownership lists; a grant that still names it is an error
 * (remove the grant first, deliberately: grants are never changed behind the admin's back).
 * Errors about the changed item are reported under `grant`, `user`, `group`, `extension` or `queue`
 * (e.g. `user.flags.blended`), others with their document path.
 */
export function applyChange(doc: PolicyDoc, raw: PolicyChange): { ok: true; doc: PolicyDoc } | { ok: false; errors: PolicyIssue[] } {
  const shape = parsePolicyChange(raw);
  if (!shape.ok) return shape;
  const change = shape.value;
  let next: PolicyDoc;
  let rename: { from: string; to: string } | undefined;
  const missing = (kind: string, id: string) => ({ ok: false as const, errors: [{ path: 'id', message: `no ${kind} '${id}'` }] });
  switch (change.op) {
    case 'add-grant':
      if (doc.grants.some((g) => g.id === change.grant.id))
        return { ok: false, errors: [{ path: 'grant.id', message: `grant '${change.grant.id}' already exists` }] };
      next = { ...doc, grants: [...doc.grants, change.grant] };
      rename = { from: `grants[${doc.grants.length}]`, to: 'grant' };
      break;
    case 'remove-grant':
      if (!doc.grants.some((g) => g.id === change.id)) return missing('grant', change.id);
      next = { ...doc, grants: doc.grants.filter((g) => g.id !== change.id) };
      break;
    case 'put-user':
      rename = { from: itemPath(doc.users, change.user.id, 'users'), to: 'user' };
      next = { ...doc, users: put(doc.users, change.user) };
      break;
    case 'remove-user':
      if (!doc.users.some((u) => u.id === change.id)) return missing('user', change.id);
      next = {
        ...doc,
        users: doc.users.filter((u) => u.id !== change.id),
        groups: doc.groups.map((g) => ({
          ...g,
          members: g.members.filter((m) => m !== change.id),
          supervisors: g.supervisors.filter((m) => m !== change.id),
        })),
      };
      break;
    case 'put-group':
      rename = { from: itemPath(doc.groups, change.group.id, 'groups'), to: 'group' };
      next = { ...doc, groups: put(doc.groups, change.group) };
      break;
    case 'remove-group':
      if (!doc.groups.some((g) => g.id === change.id)) return missing('group', change.id);
      next = {
        ...doc,
        groups: doc.groups.filter((g) => g.id !== change.id),
        users: doc.users.map((u) => (u.groups.includes(change.id) ? { ...u, groups: u.groups.filter((g) => g !== change.id) } : u)),
      };
      break;
    case 'put-extension':
      rename = { from: itemPath(doc.extensions, change.extension.id, 'extensions'), to: 'extension' };
      next = { ...doc, extensions: put(doc.extensions, change.extension) };
      break;
    case 'remove-extension':
      if (!doc.extensions.some((e) => e.id === change.id)) return missing('extension', change.id);
      next = {
        ...doc,
        extensions: doc.extensions.filter((e) => e.id !== change.id),
        users: doc.users.map((u) =>
          u.extensions.includes(change.id) ? { ...u, extensions: u.extensions.filter((e) => e !== change.id) } : u,
        ),
      };
      break;
    case 'put-queue':
      rename = { from: itemPath(doc.queues, change.queue.id, 'queues'), to: 'queue' };
      next = { ...doc, queues: put(doc.queues, change.queue) };
      break;
    case 'remove-queue':
      if (!doc.queues.some((q) => q.id === change.id)) return missing('queue', change.id);
      next = { ...doc, queues: doc.queues.filter((q) => q.id !== change.id) };
      break;
    default:
      return { ok: false, errors: [{ path: 'op', message: `unknown change '${String((change as { op?: unknown }).op)}'` }] };
  }
  // Re-validate from plain data, so a change built in code gets the same checks as the YAML.
  const parsed = parsePolicyDoc(JSON.parse(JSON.stringify(next)) as unknown);
  if (!parsed.ok) {
    const errors = parsed.errors.map((e) =>
      rename && (e.path === rename.from || e.path.startsWith(`${rename.from}.`) || e.path.startsWith(`${rename.from}[`))
        ? { ...e, path: rename.to + e.path.slice(rename.from.length) }
        : e,
    );
    return { ok: false, errors };
  }
  return { ok: true, doc: parsed.value };
}

/**
 * Convenience for use cases: validate the change's shape (errors name its fields), authorize, apply,
 * compile the next version. Total: a malformed change is `{ ok: false, errors }`, never a throw.
 */
export function changePolicy(
  policy: CompiledPolicy,
  actor: string,
  raw: PolicyChange,
): { ok: true; decision: Decision; policy: CompiledPolicy } | { ok: false; decision: Decision; errors: PolicyIssue[] } {
  const parsed = parsePolicyChange(raw);
  if (!parsed.ok) return { ok: false, decision: authorizeChange(policy, actor, raw), errors: parsed.errors };
  const change = parsed.value;
  const decision = authorizeChange(policy, actor, change);
  if (!decision.allowed) return { ok: false, decision, errors: [] };
  const applied = applyChange(policy.doc, change);
  if (!applied.ok) return { ok: false, decision, errors: applied.errors };
  return { ok: true, decision, policy: compilePolicy(applied.doc, policy.version + 1) };
}
