/**
 * What `GET /v1/policy` shows to whom. The directory holds personal and security data (users'
 * phone addresses, IP allow-lists), so only those who administer the policy see all of it:
 *
 * - administrator, owner: the whole document (`view: 'full'`).
 * - everyone else (`view: 'restricted'`) sees themselves in full, plus the users they may act on:
 *   a supervisor the members of the groups it supervises, a manager every user of a lower role.
 *   Those other users are shown without `addresses` and without `flags.ipAllow`. An agent sees only
 *   itself. Extensions are those of the visible users; groups those a visible user belongs to or the
 *   viewer supervises, listing only visible members and supervisors; grants those whose subject is a
 *   visible user or group; queues all (their names are what the UI offers).
 */
import { roleRank, type CompiledPolicy, type Group, type User } from '../domain/policy/index.js';

export interface PolicyView {
  version: number;
  view: 'full' | 'restricted';
  doc: {
    users: Array<Omit<User, 'addresses' | 'flags'> & { addresses?: User['addresses']; flags: Partial<User['flags']> }>;
    groups: Group[];
    extensions: CompiledPolicy['doc']['extensions'];
    queues: CompiledPolicy['doc']['queues'];
    grants: CompiledPolicy['doc']['grants'];
  };
}

export function policyView(policy: CompiledPolicy, viewerId: string): PolicyView {
  const ix = policy.index;
  const viewer = ix.users.get(viewerId);
  if (viewer && viewer.rank >= roleRank('administrator')) {
    return { version: policy.version, view: 'full', doc: policy.doc };
  }
  const visible = new Set<string>();
  if (viewer) {
    visible.add(viewer.user.id);
    if (viewer.user.role === 'supervisor') for (const id of viewer.supervisees) visible.add(id);
    if (viewer.user.role === 'manager') for (const u of ix.users.values()) if (u.rank < roleRank('manager')) visible.add(u.user.id);
  }
  const users = policy.doc.users
    .filter((u) => visible.has(u.id))
    .map((u) => {
      if (u.id === viewerId) return u;
      const { addresses: _addresses, flags, ...rest } = u;
      const { ipAllow: _ipAllow, ...otherFlags } = flags;
      return { ...rest, flags: otherFlags };
    });
  const groups = policy.doc.groups
    .filter((g) => [...visible].some((id) => ix.users.get(id)?.groups.has(g.id)) || (viewer?.supervises.has(g.id) ?? false))
    .map((g) => ({ ...g, members: g.members.filter((m) => visible.has(m)), supervisors: g.supervisors.filter((m) => visible.has(m)) }));
  const groupIds = new Set(groups.map((g) => g.id));
  const extensions = policy.doc.extensions.filter((e) => {
    const owner = ix.extensions.get(e.id)?.owner;
    return owner !== undefined && visible.has(owner.user.id);
  });
  const grants = policy.doc.grants.filter((g) => {
    const colon = g.subject.indexOf(':');
    const kind = g.subject.slice(0, colon);
    const id = g.subject.slice(colon + 1);
    return kind === 'user' ? visible.has(id) : groupIds.has(id);
  });
  return { version: policy.version, view: 'restricted', doc: { users, groups, extensions, queues: policy.doc.queues, grants } };
}
