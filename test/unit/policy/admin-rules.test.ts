/**
 * Who may change the policy, rule by rule (authorizeChange), on a small directory written here:
 * several groups, owners and administrators, so that "this one" differs from "any one".
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { authorizeChange, type CheckName, type CompiledPolicy, type Grant, type PolicyChange } from '../../../src/domain/policy/index.js';
import { ext, grant, group, policyOf, queue, user } from './directory.js';

const ALL = ['login', 'logout', 'pause', 'unpause', 'penalty'] as const;

let policy: CompiledPolicy;
// Built before each test, not at import: mutation testing then knows which tests run which code.
beforeEach(() => {
  policy = org();
});
const org = (): CompiledPolicy =>
  policyOf({
    users: [
      user('ada', 'administrator', { scope: 'office_manager' }),
      user('ed', 'administrator', { scope: 'office_manager' }),
      user('amy', 'administrator', { scope: 'no_portal' }),
      user('oz', 'owner', { scope: 'office_manager' }),
      user('ozzy', 'owner', { scope: 'office_manager' }),
      user('max', 'manager', { scope: 'office_manager' }),
      user('al', 'agent', { groups: ['red'], extensions: ['101', '102'] }),
      user('bo', 'agent', { groups: ['red'], extensions: ['103'] }),
      // cy is in blue only through the group's member list
      user('cy', 'agent', { extensions: ['104'] }),
      user('di', 'agent'),
      user('eve', 'agent', { extensions: ['105'] }),
      user('fay', 'agent', { extensions: ['107', '108'] }),
      // an administrator who holds rights only through its group
      user('gus', 'administrator', { scope: 'office_manager', groups: ['red'] }),
      // in two groups; only the second is held by ada
      user('ivy', 'agent', { groups: ['green', 'red'], extensions: ['109'] }),
    ],
    groups: [group('red', [], ['max']), group('blue', ['cy']), group('empty'), group('green', ['eve'])],
    extensions: ['101', '102', '103', '104', '105', '106', '107', '108', '109'].map((id) => ext(id)),
    queues: [queue('q1'), queue('q2'), queue('red')],
    grants: [
      grant('ada-red', 'user:ada', ['pause', 'unpause'], ['group:red', 'queue:q1']),
      grant('ada-104', 'user:ada', ['pause'], ['extension:104']),
      grant('ada-eve', 'user:ada', ['unpause'], ['user:eve']),
      grant('ada-107', 'user:ada', ['pause'], ['extension:107']),
      grant('red-login', 'group:red', ['login'], ['group:red', 'queue:q1']),
      grant('gus-own', 'user:gus', ['login'], ['group:red']),
      grant('blue-pause', 'group:blue', ['pause'], ['extension:104']),
      grant('oz-all', 'user:oz', [...ALL], ['group:red', 'group:blue', 'queue:q1', 'queue:q2']),
      grant('amy-red', 'user:amy', ['pause'], ['group:red']),
    ],
  });

interface Row {
  name: string;
  actor: string;
  change: PolicyChange;
  allowed: boolean;
  /** Exactly the checks that fail. */
  failing?: CheckName[];
  /** Exactly the checks made, in order. */
  checks?: CheckName[];
  /** Text one of the checks says. */
  says?: string;
  /** Grants that prove the actor holds what it gives. */
  matched?: string[];
}

/** ada, oz... give user di a new grant. */
const give = (actions: Grant['actions'], targets: string[]): PolicyChange => ({
  op: 'add-grant',
  grant: grant('new', 'user:di', actions, targets),
});

const rows: Row[] = [
  // --- who may change the policy at all
  {
    name: 'an administrator with scope no_portal may not change the policy',
    actor: 'amy',
    change: { op: 'remove-grant', id: 'ada-104' },
    allowed: false,
    failing: ['scope'],
    says: 'scope no_portal allows nothing',
  },
  {
    name: 'an agent may not',
    actor: 'al',
    change: { op: 'remove-grant', id: 'ada-104' },
    allowed: false,
    failing: ['admin-role'],
    says: 'only administrator and owner change the policy; al is agent',
  },
  { name: 'a manager may not', actor: 'max', change: { op: 'put-queue', queue: queue('q3') }, allowed: false, failing: ['admin-role'] },
  {
    name: 'an owner may',
    actor: 'oz',
    change: { op: 'put-queue', queue: queue('q3') },
    allowed: true,
    says: 'owner may change the policy',
  },
  {
    name: 'an unknown actor may not, and nothing else is checked',
    actor: 'zed',
    change: { op: 'put-queue', queue: queue('q3') },
    allowed: false,
    checks: ['actor'],
    says: "unknown user 'zed'",
  },
  {
    name: 'adding or replacing an extension or a queue needs only the role',
    actor: 'ada',
    change: { op: 'put-extension', extension: ext('107') },
    allowed: true,
    checks: ['actor', 'scope', 'admin-role'],
    says: 'ada (administrator, office_manager)',
  },
  {
    name: 'an unknown kind of change is refused',
    actor: 'ada',
    change: { op: 'rename' } as unknown as PolicyChange,
    allowed: false,
    failing: ['change'],
  },

  // --- removals name something that exists
  {
    name: 'remove an existing grant',
    actor: 'ada',
    change: { op: 'remove-grant', id: 'red-login' },
    allowed: true,
    checks: ['actor', 'scope', 'admin-role', 'target'],
    says: 'grant red-login',
  },
  {
    name: 'remove an unknown grant',
    actor: 'ada',
    change: { op: 'remove-grant', id: 'nope' },
    allowed: false,
    failing: ['target'],
    says: "unknown grant 'nope'",
  },
  { name: 'remove an existing group', actor: 'ada', change: { op: 'remove-group', id: 'empty' }, allowed: true, says: 'group empty' },
  {
    name: 'remove an unknown group',
    actor: 'ada',
    change: { op: 'remove-group', id: 'nope' },
    allowed: false,
    failing: ['target'],
    says: "unknown group 'nope'",
  },
  {
    name: 'remove an existing extension',
    actor: 'ada',
    change: { op: 'remove-extension', id: '106' },
    allowed: true,
    says: 'extension 106',
  },
  {
    name: 'remove an unknown extension',
    actor: 'ada',
    change: { op: 'remove-extension', id: '999' },
    allowed: false,
    failing: ['target'],
    says: "unknown extension '999'",
  },
  { name: 'remove an existing queue', actor: 'ada', change: { op: 'remove-queue', id: 'q2' }, allowed: true, says: 'queue q2' },
  {
    name: 'remove an unknown queue',
    actor: 'ada',
    change: { op: 'remove-queue', id: 'q9' },
    allowed: false,
    failing: ['target'],
    says: "unknown queue 'q9'",
  },

  // --- no-escalation: what an actor holds, and what stands for what
  {
    name: 'a group target held as such',
    actor: 'ada',
    change: give(['pause'], ['group:red']),
    allowed: true,
    matched: ['ada-red'],
    says: 'ada holds every right it gives',
  },
  {
    name: 'an extension held through its owner’s group',
    actor: 'ada',
    change: give(['pause'], ['extension:101', 'extension:103']),
    allowed: true,
    matched: ['ada-red'],
  },
  {
    name: 'an extension held through its owner',
    actor: 'ada',
    change: give(['unpause'], ['extension:105']),
    allowed: true,
    matched: ['ada-eve'],
  },
  { name: 'an extension held as such', actor: 'ada', change: give(['pause'], ['extension:104']), allowed: true, matched: ['ada-104'] },
  { name: 'a user held through its group', actor: 'ada', change: give(['unpause'], ['user:al']), allowed: true, matched: ['ada-red'] },
  {
    name: 'a user held through every one of its extensions',
    actor: 'ada',
    change: give(['pause'], ['user:cy']),
    allowed: true,
    matched: ['ada-104'],
  },
  {
    name: 'a group held through every one of its members',
    actor: 'ada',
    change: give(['pause'], ['group:blue']),
    allowed: true,
    matched: ['ada-104'],
  },
  {
    name: 'a group held through a member held as a user',
    actor: 'ada',
    change: give(['unpause'], ['group:green']),
    allowed: true,
    matched: ['ada-eve', 'ada-red'],
  },
  {
    name: 'an extension held through any of its owner’s groups',
    actor: 'ada',
    change: give(['pause'], ['extension:109']),
    allowed: true,
    matched: ['ada-red'],
  },
  {
    name: 'a user with no extension held through its group',
    actor: 'ada',
    change: give(['unpause'], ['user:gus']),
    allowed: true,
    matched: ['ada-red'],
  },
  {
    name: 'a queue is held only as such, even when a group has its name',
    actor: 'ada',
    change: give(['pause'], ['queue:red']),
    allowed: false,
    failing: ['no-escalation'],
  },
  { name: 'a queue held as such', actor: 'ada', change: give(['unpause'], ['queue:q1']), allowed: true, matched: ['ada-red'] },
  {
    name: 'an empty group is not held (nothing stands for it)',
    actor: 'ada',
    change: give(['pause'], ['group:empty']),
    allowed: false,
    failing: ['no-escalation'],
    says: 'ada does not hold: pause group:empty',
  },
  {
    name: 'a user with no extension and no group is not held',
    actor: 'ada',
    change: give(['pause'], ['user:di']),
    allowed: false,
    failing: ['no-escalation'],
    says: 'pause user:di',
  },
  {
    name: 'an extension nobody owns is held only as such',
    actor: 'ada',
    change: give(['pause'], ['extension:106']),
    allowed: false,
    failing: ['no-escalation'],
  },
  { name: 'a queue is held only as such', actor: 'ada', change: give(['pause'], ['queue:q2']), allowed: false, failing: ['no-escalation'] },
  {
    name: 'a user is not held through one of its extensions only',
    actor: 'ada',
    change: give(['pause'], ['user:fay']),
    allowed: false,
    failing: ['no-escalation'],
    says: 'pause user:fay',
  },
  { name: 'but each extension held is', actor: 'ada', change: give(['pause'], ['extension:107']), allowed: true, matched: ['ada-107'] },
  {
    name: 'the right is per action: holding pause gives no login',
    actor: 'ada',
    change: give(['pause', 'login'], ['group:red']),
    allowed: false,
    failing: ['no-escalation'],
    says: 'ada does not hold: login group:red',
  },
  {
    name: 'the actor’s groups’ grants count as its own, beside its own ones (both named)',
    actor: 'gus',
    change: give(['login'], ['group:red', 'extension:103', 'queue:q1']),
    allowed: true,
    matched: ['gus-own', 'red-login'],
  },
  {
    name: 'unknown targets are never held',
    actor: 'oz',
    change: give(['pause'], ['user:zz', 'group:zz', 'extension:zz']),
    allowed: false,
    failing: ['no-escalation'],
    says: 'oz does not hold: pause user:zz, pause group:zz, pause extension:zz',
  },
  {
    name: 'a long list of missing rights is cut after five',
    actor: 'ada',
    change: give(['login', 'logout', 'penalty'], ['extension:101', 'extension:102', 'extension:103']),
    allowed: false,
    says: 'does not hold: login extension:101, login extension:102, login extension:103, logout extension:101, logout extension:102 and 4 more',
  },
  {
    name: 'five missing rights are all listed',
    actor: 'ada',
    change: give(['login'], ['extension:101', 'extension:102', 'extension:103', 'extension:104', 'extension:105']),
    allowed: false,
    says: 'does not hold: login extension:101, login extension:102, login extension:103, login extension:104, login extension:105',
  },
  {
    name: 'an owner holds what its grants say, no more',
    actor: 'oz',
    change: give(['login'], ['group:red', 'queue:q2']),
    allowed: true,
    matched: ['oz-all'],
  },

  // --- users: roles and owners
  {
    name: 'an administrator creates an administrator',
    actor: 'ada',
    change: { op: 'put-user', user: user('new', 'administrator') },
    allowed: true,
    checks: ['actor', 'scope', 'admin-role', 'role', 'no-escalation'],
    says: 'ada (administrator) may set new to administrator',
  },
  {
    name: 'an administrator edits a peer administrator',
    actor: 'ada',
    change: { op: 'put-user', user: user('ed', 'agent') },
    allowed: true,
  },
  {
    name: 'an administrator may not give the owner role',
    actor: 'ada',
    change: { op: 'put-user', user: user('new', 'owner') },
    allowed: false,
    failing: ['role', 'owner'],
    says: 'ada (administrator) may not give the role owner, above its own',
  },
  {
    name: 'an administrator may not make a peer an owner',
    actor: 'ada',
    change: { op: 'put-user', user: user('ed', 'owner') },
    allowed: false,
    failing: ['role', 'owner'],
    says: 'ada (administrator) may not give the role owner, above its own',
  },
  {
    name: 'an administrator may not change an owner',
    actor: 'ada',
    change: { op: 'put-user', user: user('oz', 'owner') },
    allowed: false,
    failing: ['role', 'owner'],
    says: 'ada (administrator) may not change oz (owner): a higher role',
  },
  {
    name: 'an owner demotes another owner',
    actor: 'oz',
    change: { op: 'put-user', user: user('ozzy', 'agent') },
    allowed: true,
    checks: ['actor', 'scope', 'admin-role', 'role', 'owner', 'no-escalation'],
    says: 'an owner changes owners',
  },
  {
    name: 'an owner makes another owner',
    actor: 'oz',
    change: { op: 'put-user', user: user('new', 'owner') },
    allowed: true,
    says: 'oz (owner) may set new to owner',
  },
  {
    name: 'the owner check is for owners only',
    actor: 'ada',
    change: { op: 'put-user', user: user('al', 'agent', { extensions: ['101', '102'] }) },
    allowed: true,
    checks: ['actor', 'scope', 'admin-role', 'role', 'no-escalation'],
    says: 'gives no queue rights',
  },

  // --- users: group membership hands out the group's grants
  {
    name: 'keeping a user in the groups it is in hands out nothing',
    actor: 'ed',
    change: { op: 'put-user', user: user('al', 'agent', { groups: ['red'] }) },
    allowed: true,
  },
  {
    name: 'a membership declared on the group side counts as held already',
    actor: 'ed',
    change: { op: 'put-user', user: user('cy', 'agent', { groups: ['blue'] }) },
    allowed: true,
  },
  {
    name: 'putting a user into a group needs the group’s grants',
    actor: 'ed',
    change: { op: 'put-user', user: user('di', 'agent', { groups: ['red'] }) },
    allowed: false,
    failing: ['no-escalation'],
    says: "putting di into red hands out those groups' grants, but ed does not hold: login group:red, login queue:q1",
  },
  {
    name: 'putting a user into two groups names both',
    actor: 'ed',
    change: { op: 'put-user', user: user('di', 'agent', { groups: ['red', 'blue'] }) },
    allowed: false,
    says: "putting di into red, blue hands out those groups' grants, but ed does not hold: login group:red, login queue:q1, pause extension:104",
  },
  {
    name: 'an owner holding them may',
    actor: 'oz',
    change: { op: 'put-user', user: user('di', 'agent', { groups: ['red', 'blue'] }) },
    allowed: true,
    matched: ['oz-all'],
  },
  {
    name: 'a group with no grants hands out nothing',
    actor: 'ed',
    change: { op: 'put-user', user: user('di', 'agent', { groups: ['empty'] }) },
    allowed: true,
  },
  {
    name: 'only the new groups count',
    actor: 'ed',
    change: { op: 'put-user', user: user('bo', 'agent', { groups: ['red', 'blue'] }) },
    allowed: false,
    says: 'putting bo into blue hands out',
  },
  {
    name: 'an unknown group hands out nothing here (applying the change refuses it)',
    actor: 'ed',
    change: { op: 'put-user', user: user('di', 'agent', { groups: ['nosuch'] }) },
    allowed: true,
  },

  // --- removing users
  {
    name: 'an administrator removes an agent',
    actor: 'ada',
    change: { op: 'remove-user', id: 'al' },
    allowed: true,
    checks: ['actor', 'scope', 'admin-role', 'target', 'role'],
    says: 'al (agent) is not above ada',
  },
  { name: 'an administrator removes a peer', actor: 'ada', change: { op: 'remove-user', id: 'ed' }, allowed: true },
  {
    name: 'an administrator may not remove an owner',
    actor: 'ada',
    change: { op: 'remove-user', id: 'oz' },
    allowed: false,
    failing: ['role', 'owner'],
    says: 'ada (administrator) may not remove oz (owner): a higher role',
  },
  {
    name: 'an owner removes another owner',
    actor: 'oz',
    change: { op: 'remove-user', id: 'ozzy' },
    allowed: true,
    checks: ['actor', 'scope', 'admin-role', 'target', 'role', 'owner'],
    says: 'an owner removes owners',
  },
  {
    name: 'removing an unknown user checks no role',
    actor: 'ada',
    change: { op: 'remove-user', id: 'zz' },
    allowed: false,
    checks: ['actor', 'scope', 'admin-role', 'target'],
    says: "unknown user 'zz'",
  },

  // --- groups: adding members hands out the group's grants
  {
    name: 'adding a member to a group needs its grants',
    actor: 'ed',
    change: { op: 'put-group', group: group('red', ['di']) },
    allowed: false,
    failing: ['no-escalation'],
    says: 'adding di to red hands out its grants',
  },
  {
    name: 'adding two members names both',
    actor: 'ed',
    change: { op: 'put-group', group: group('red', ['di', 'cy']) },
    allowed: false,
    says: 'adding di, cy to red hands out its grants, but ed does not hold: login group:red, login queue:q1',
  },
  {
    name: 'an owner holding them may',
    actor: 'oz',
    change: { op: 'put-group', group: group('red', ['di']) },
    allowed: true,
    matched: ['oz-all'],
  },
  {
    name: 'listing a group’s current members hands out nothing',
    actor: 'ed',
    change: { op: 'put-group', group: group('red', ['al', 'bo', 'gus', 'ivy'], ['ed']) },
    allowed: true,
    says: 'gives no queue rights',
  },
  { name: 'removing members hands out nothing', actor: 'ed', change: { op: 'put-group', group: group('blue', []) }, allowed: true },
  { name: 'a new group has no grants yet', actor: 'ed', change: { op: 'put-group', group: group('new', ['di', 'al']) }, allowed: true },
];

describe('authorizeChange (rules)', () => {
  it.each(rows)('$name', (row) => {
    const d = authorizeChange(policy, row.actor, row.change);
    expect(d.allowed).toBe(row.allowed);
    // A decision is allowed exactly when every check passed, and every check it made is listed.
    expect(d.allowed).toBe(d.reasons.every((r) => r.passed));
    const failing = d.reasons.filter((r) => !r.passed).map((r) => r.name);
    expect(failing).toEqual(row.failing ?? (row.allowed ? [] : failing));
    if (row.checks) expect(d.reasons.map((r) => r.name)).toEqual(row.checks);
    if (row.says) expect(d.reasons.map((r) => r.detail)).toContainEqual(expect.stringContaining(row.says));
    if (row.matched) {
      expect(d.matched).toEqual(row.matched);
      expect(d.reasons.find((r) => r.name === 'no-escalation')?.grants).toEqual(row.matched);
    }
    if (!row.allowed) expect(d.matched).toEqual([]);
  });

  it('every check passed is said in words, and the actor is named with role and scope', () => {
    const d = authorizeChange(policy, 'oz', { op: 'remove-user', id: 'ozzy' });
    expect(d.reasons.map((r) => [r.name, r.passed, r.detail])).toEqual([
      ['actor', true, 'oz (owner, office_manager)'],
      ['scope', true, 'scope office_manager'],
      ['admin-role', true, 'owner may change the policy'],
      ['target', true, 'user ozzy'],
      ['role', true, 'ozzy (owner) is not above oz'],
      ['owner', true, 'an owner removes owners'],
    ]);
  });

  it('an administrator refused on an owner is told both reasons', () => {
    const put = authorizeChange(policy, 'ada', { op: 'put-user', user: user('ozzy', 'agent') });
    expect(put.reasons.filter((r) => !r.passed).map((r) => r.detail)).toEqual([
      'ada (administrator) may not change ozzy (owner): a higher role',
      'only an owner makes or changes another owner',
    ]);
    const rm = authorizeChange(policy, 'ed', { op: 'remove-user', id: 'oz' });
    expect(rm.reasons.filter((r) => !r.passed).map((r) => r.detail)).toEqual([
      'ed (administrator) may not remove oz (owner): a higher role',
      'only an owner removes another owner',
    ]);
  });

  it('a refused grant is described in full: what it gives, and what the actor lacks', () => {
    const d = authorizeChange(policy, 'ada', give(['pause', 'login'], ['group:red', 'queue:q2']));
    expect(d.reasons.at(-1)).toEqual({
      name: 'no-escalation',
      passed: false,
      detail:
        'grant new gives user:di pause/login on group:red, queue:q2, but ada does not hold: pause queue:q2, login group:red, login queue:q2',
    });
    const five = authorizeChange(
      policy,
      'ada',
      give(['login'], ['extension:101', 'extension:102', 'extension:103', 'extension:104', 'extension:105']),
    );
    expect(five.reasons.at(-1)?.detail).toMatch(
      /does not hold: login extension:101, login extension:102, login extension:103, login extension:104, login extension:105$/,
    );
  });

  it('no-escalation with nothing to hand out says so and names no grant', () => {
    const d = authorizeChange(policy, 'ed', { op: 'put-group', group: group('blue', ['cy']) });
    expect(d.reasons.at(-1)).toEqual({ name: 'no-escalation', passed: true, detail: 'gives no queue rights', grants: [] });
  });
});
