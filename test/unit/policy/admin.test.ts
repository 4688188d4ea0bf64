import { beforeEach, describe, expect, it } from 'vitest';
import {
  applyChange,
  authorizeChange,
  changePolicy,
  compilePolicy,
  decide,
  DEFAULT_FLAGS,
  type CheckName,
  type CompiledPolicy,
  type PolicyDoc,
  type PolicyChange,
  type User,
} from '../../../src/domain/policy/index.js';
import { loadDoc, loadPolicy } from './fixture.js';

let policy: CompiledPolicy;
// Built before each test, not at import: mutation testing then knows which tests run which code.
beforeEach(() => {
  policy = loadPolicy();
});

function user(id: string, role: User['role'], extra: Partial<User> = {}): User {
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

interface Row {
  name: string;
  actor: string;
  change: PolicyChange;
  allowed: boolean;
  failing?: CheckName[];
  says?: string;
}

const rows: Row[] = [
  {
    name: 'administrator grants a right it holds (through a group target)',
    actor: 'olivia',
    change: { op: 'add-grant', grant: { id: 'bob-pause-alice', subject: 'user:bob', actions: ['pause'], targets: ['extension:1001'] } },
    allowed: true,
  },
  {
    name: 'nobody grants a right it does not hold',
    actor: 'olivia',
    change: { op: 'add-grant', grant: { id: 'x', subject: 'user:bob', actions: ['login'], targets: ['queue:night-q'] } },
    allowed: false,
    failing: ['no-escalation'],
    says: 'olivia does not hold: login queue:night-q',
  },
  {
    name: 'owners are not exempt from holding the right',
    actor: 'oscar',
    change: { op: 'add-grant', grant: { id: 'x', subject: 'user:bob', actions: ['pause'], targets: ['extension:1002'] } },
    allowed: false,
    failing: ['no-escalation'],
  },
  {
    name: 'a manager does not edit grants',
    actor: 'mike',
    change: { op: 'add-grant', grant: { id: 'x', subject: 'user:bob', actions: ['pause'], targets: ['extension:1002'] } },
    allowed: false,
    failing: ['admin-role'],
  },
  {
    name: 'an agent does not remove grants',
    actor: 'alice',
    change: { op: 'remove-grant', id: 'agents-self' },
    allowed: false,
    failing: ['admin-role'],
  },
  { name: 'administrator removes a grant', actor: 'olivia', change: { op: 'remove-grant', id: 'night-self' }, allowed: true },
  { name: 'removing an unknown grant', actor: 'olivia', change: { op: 'remove-grant', id: 'nope' }, allowed: false, failing: ['target'] },
  {
    name: 'only an owner makes another owner',
    actor: 'olivia',
    change: { op: 'put-user', user: user('newboss', 'owner') },
    allowed: false,
    failing: ['role', 'owner'],
  },
  { name: 'an owner makes another owner', actor: 'oscar', change: { op: 'put-user', user: user('newboss', 'owner') }, allowed: true },
  {
    name: 'administrator creates an administrator',
    actor: 'olivia',
    change: { op: 'put-user', user: user('ada', 'administrator') },
    allowed: true,
  },
  {
    name: 'administrator may not edit an owner',
    actor: 'olivia',
    change: { op: 'put-user', user: user('oscar', 'agent') },
    allowed: false,
    failing: ['role', 'owner'],
  },
  {
    name: 'administrator may not remove an owner',
    actor: 'olivia',
    change: { op: 'remove-user', id: 'oscar' },
    allowed: false,
    failing: ['role', 'owner'],
  },
  {
    name: 'putting a user into a group hands out the group grants: held',
    actor: 'olivia',
    change: { op: 'put-user', user: user('dave', 'agent', { extensions: ['1009'], groups: ['support-team'] }) },
    allowed: true,
  },
  {
    name: 'putting a user into a group hands out the group grants: not held',
    actor: 'olivia',
    change: { op: 'put-user', user: user('dave', 'agent', { extensions: ['1009'], groups: ['night'] }) },
    allowed: false,
    failing: ['no-escalation'],
  },
  {
    name: 'adding members to a group hands out its grants',
    actor: 'olivia',
    change: { op: 'put-group', group: { id: 'night', members: ['dave'], supervisors: [] } },
    allowed: false,
    failing: ['no-escalation'],
  },
  { name: 'unknown actor', actor: 'mallory', change: { op: 'remove-queue', id: 'late' }, allowed: false, failing: ['actor'] },
  { name: 'administrator adds a queue', actor: 'olivia', change: { op: 'put-queue', queue: { id: 'vip', server: 'pbx1' } }, allowed: true },
];

describe('authorizeChange (table)', () => {
  it.each(rows)('$name', (row) => {
    const d = authorizeChange(policy, row.actor, row.change);
    expect(d.allowed).toBe(row.allowed);
    const failing = d.reasons.filter((r) => !r.passed).map((r) => r.name);
    if (row.failing) expect(failing.sort()).toEqual([...row.failing].sort());
    if (row.says) expect(d.reasons.map((r) => r.detail).join('\n')).toContain(row.says);
  });
});

describe('applyChange', () => {
  let doc: PolicyDoc;
  beforeEach(() => {
    doc = loadDoc();
  });

  it('adds a grant, and the next version decides with it', () => {
    const req = { actor: 'carol', action: 'login', extension: '1003', queue: 'support' } as const;
    expect(decide(policy, req).allowed).toBe(false);
    const res = changePolicy(policy, 'olivia', {
      op: 'add-grant',
      grant: { id: 'g-new', subject: 'user:carol', actions: ['login'], targets: ['queue:support'] },
    });
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.policy.version).toBe(policy.version + 1);
    const after = decide(res.policy, req);
    expect(after.allowed).toBe(true);
    expect(after.matched).toEqual(['carol-self', 'g-new']);
    expect(policy.doc.grants.some((g) => g.id === 'g-new')).toBe(false);
  });

  it('refuses a denied change without touching the document', () => {
    const res = changePolicy(policy, 'mike', { op: 'remove-grant', id: 'agents-self' });
    expect(res.ok).toBe(false);
  });

  it('names the bad field of the changed item', () => {
    const bad = user('zoe', 'agent', { flags: { ...DEFAULT_FLAGS, ipAllow: [], blended: true, inbound: true } });
    const r = applyChange(doc, { op: 'put-user', user: bad });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toContain('user.flags.blended');
    const g = applyChange(doc, { op: 'add-grant', grant: { id: 'g2', subject: 'user:zed', actions: ['pause'], targets: ['queue:nope'] } });
    expect(g.ok).toBe(false);
    if (!g.ok) expect(g.errors.map((e) => e.path)).toEqual(['grant.subject', 'grant.targets[0]']);
  });

  it('refuses a duplicate grant id and unknown ids on removal', () => {
    expect(applyChange(doc, { op: 'add-grant', grant: { ...doc.grants[0]! } }).ok).toBe(false);
    const r = applyChange(doc, { op: 'remove-user', id: 'ghost' });
    expect(r.ok ? [] : r.errors).toEqual([{ path: 'id', message: "no user 'ghost'" }]);
  });

  it('removing a user still named by a grant is an error naming that grant', () => {
    const r = applyChange(doc, { op: 'remove-user', id: 'carol' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors).toContainEqual({ path: 'grants[1].subject', message: "unknown user 'carol'" });
  });

  it('removing a user takes it out of group lists; removing an extension out of its owner', () => {
    const r = applyChange(doc, { op: 'remove-user', id: 'bob' });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.doc.groups.find((g) => g.id === 'support-team')?.members).toEqual([]);
    const e = applyChange(doc, { op: 'remove-extension', id: '1001' });
    expect(e.ok).toBe(true);
    if (e.ok) {
      expect(e.doc.users.find((u) => u.id === 'alice')?.extensions).toEqual([]);
      expect(decide(compilePolicy(e.doc), { actor: 'alice', action: 'pause', extension: '1001' }).allowed).toBe(false);
    }
  });

  it('replaces an item in place by id', () => {
    const r = applyChange(doc, { op: 'put-queue', queue: { id: 'sales', name: 'Sales EU', server: 'pbx1' } });
    expect(r.ok && r.doc.queues.map((q) => q.name)).toEqual(['Support', 'Sales EU', 'Night line', 'Late line']);
  });
});
