/**
 * Applying a policy change (applyChange, changePolicy): every kind of change, on a directory with
 * several of each thing, so that a change to one item is seen to leave the others alone.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import {
  applyChange,
  changePolicy,
  compilePolicy,
  decide,
  DEFAULT_FLAGS,
  parsePolicyChange,
  type CompiledPolicy,
  type PolicyChange,
  type PolicyDoc,
} from '../../../src/domain/policy/index.js';
import { docOf, ext, grant, group, queue, user } from './directory.js';

let doc: PolicyDoc;
// Built before each test, not at import: mutation testing then knows which tests run which code.
beforeEach(() => {
  doc = directory();
});
const directory = (): PolicyDoc =>
  docOf({
    users: [
      user('ada', 'administrator', { scope: 'office_manager' }),
      user('al', 'agent', { groups: ['red', 'blue'], extensions: ['101', '102'] }),
      user('bo', 'agent', { groups: ['red'], extensions: ['103'] }),
      user('cy', 'agent', { extensions: ['104'] }),
    ],
    groups: [group('red', ['cy'], ['ada', 'bo']), group('blue', ['bo', 'cy'], ['bo']), group('spare')],
    extensions: [ext('101'), ext('102'), ext('103'), ext('104'), ext('105', 'pbx1')],
    queues: [queue('q1'), queue('q2', 'pbx1'), queue('q3')],
    grants: [
      grant('g1', 'group:red', ['pause'], ['group:red']),
      grant('g2', 'user:ada', ['pause', 'unpause'], ['group:red', 'queue:q1']),
      grant('g3', 'user:al', ['login'], ['queue:q1']),
    ],
  });

function applied(change: PolicyChange): PolicyDoc {
  const r = applyChange(doc, change);
  if (!r.ok) throw new Error(`expected the change to apply: ${JSON.stringify(r.errors)}`);
  return r.doc;
}
function refused(change: PolicyChange): Array<{ path: string; message: string }> {
  const r = applyChange(doc, change);
  if (r.ok) throw new Error('expected the change to be refused');
  return r.errors;
}
const ids = (xs: ReadonlyArray<{ id: string }>): string[] => xs.map((x) => x.id);

describe('applyChange: grants', () => {
  it('adds a grant at the end', () => {
    const next = applied({ op: 'add-grant', grant: grant('g4', 'user:bo', ['pause'], ['extension:103']) });
    expect(ids(next.grants)).toEqual(['g1', 'g2', 'g3', 'g4']);
    expect(next.grants[3]).toEqual({ id: 'g4', subject: 'user:bo', actions: ['pause'], targets: ['extension:103'] });
  });

  it('refuses a grant id already used', () => {
    expect(refused({ op: 'add-grant', grant: grant('g2', 'user:bo', ['pause'], ['extension:103']) })).toEqual([
      { path: 'grant.id', message: "grant 'g2' already exists" },
    ]);
  });

  it('names the bad field of the new grant under grant', () => {
    expect(refused({ op: 'add-grant', grant: grant('g4', 'user:zz', ['pause'], ['extension:103', 'queue:nope']) })).toEqual([
      { path: 'grant.subject', message: "unknown user 'zz'" },
      { path: 'grant.targets[1]', message: "unknown queue 'nope'" },
    ]);
  });

  it('removes that grant only', () => {
    expect(ids(applied({ op: 'remove-grant', id: 'g2' }).grants)).toEqual(['g1', 'g3']);
  });

  it('refuses to remove a grant that does not exist', () => {
    expect(refused({ op: 'remove-grant', id: 'gx' })).toEqual([{ path: 'id', message: "no grant 'gx'" }]);
  });
});

describe('applyChange: users', () => {
  it('adds a new user at the end', () => {
    const next = applied({ op: 'put-user', user: user('di', 'agent', { extensions: ['105'] }) });
    expect(ids(next.users)).toEqual(['ada', 'al', 'bo', 'cy', 'di']);
    expect(next.users[4]!.extensions).toEqual(['105']);
  });

  it('replaces a user in place, by id', () => {
    const next = applied({ op: 'put-user', user: user('bo', 'supervisor', { extensions: ['103'] }) });
    expect(ids(next.users)).toEqual(['ada', 'al', 'bo', 'cy']);
    expect(next.users.map((u) => u.role)).toEqual(['administrator', 'agent', 'supervisor', 'agent']);
  });

  it.each([
    { name: 'a new user', id: 'di' },
    { name: 'a replaced user (its place in the list is not named)', id: 'bo' },
    { name: 'the first user, replaced', id: 'ada' },
  ])('names the bad field of $name under user', ({ id }) => {
    const bad = user(id, 'agent', { flags: { ...DEFAULT_FLAGS, ipAllow: [], blended: true, inbound: true } });
    expect(refused({ op: 'put-user', user: bad })).toEqual([
      { path: 'user.flags.blended', message: 'blended requires both inbound and outbound to be true' },
    ]);
  });

  it('an error the change causes on another user keeps that user’s path', () => {
    // ada (read first) takes bo's extension: the error is reported on bo, the user read second.
    const errors = refused({ op: 'put-user', user: user('ada', 'administrator', { extensions: ['103'] }) });
    expect(errors).toEqual([{ path: 'users[2].extensions[0]', message: "extension '103' is already owned by user 'ada'" }]);
  });

  it('removing a user takes it out of every group’s members and supervisors, and leaves the others', () => {
    const next = applied({ op: 'remove-user', id: 'cy' });
    expect(ids(next.users)).toEqual(['ada', 'al', 'bo']);
    expect(next.groups.map((g) => [g.id, g.members, g.supervisors])).toEqual([
      ['red', [], ['ada', 'bo']],
      ['blue', ['bo'], ['bo']],
      ['spare', [], []],
    ]);
    const sup = applied({ op: 'remove-user', id: 'bo' });
    expect(sup.groups.map((g) => [g.id, g.members, g.supervisors])).toEqual([
      ['red', ['cy'], ['ada']],
      ['blue', ['cy'], []],
      ['spare', [], []],
    ]);
  });

  it('removing a user still named by a grant is refused, naming the grant', () => {
    expect(refused({ op: 'remove-user', id: 'al' })).toEqual([{ path: 'grants[2].subject', message: "unknown user 'al'" }]);
  });

  it('refuses to remove a user that does not exist', () => {
    expect(refused({ op: 'remove-user', id: 'zz' })).toEqual([{ path: 'id', message: "no user 'zz'" }]);
  });
});

describe('applyChange: groups', () => {
  it('adds a group at the end and replaces one in place', () => {
    expect(ids(applied({ op: 'put-group', group: group('green', ['al']) }).groups)).toEqual(['red', 'blue', 'spare', 'green']);
    const next = applied({ op: 'put-group', group: group('blue', ['ada']) });
    expect(next.groups.map((g) => [g.id, g.members])).toEqual([
      ['red', ['cy']],
      ['blue', ['ada']],
      ['spare', []],
    ]);
  });

  it('names the bad field of the group under group', () => {
    expect(refused({ op: 'put-group', group: group('blue', ['zz']) })).toEqual([
      { path: 'group.members[0]', message: "unknown user 'zz'" },
    ]);
    expect(refused({ op: 'put-group', group: group('green', [], ['ada', 'zz']) })).toEqual([
      { path: 'group.supervisors[1]', message: "unknown user 'zz'" },
    ]);
  });

  it('removing a group takes it out of its users’ lists only', () => {
    const next = applied({ op: 'remove-group', id: 'blue' });
    expect(ids(next.groups)).toEqual(['red', 'spare']);
    expect(next.users.map((u) => [u.id, u.groups])).toEqual([
      ['ada', []],
      ['al', ['red']],
      ['bo', ['red']],
      ['cy', []],
    ]);
  });

  it('removing a group still named by a grant is refused, naming the grant', () => {
    expect(refused({ op: 'remove-group', id: 'red' })).toEqual([
      { path: 'grants[0].subject', message: "unknown group 'red'" },
      { path: 'grants[0].targets[0]', message: "unknown group 'red'" },
      { path: 'grants[1].targets[0]', message: "unknown group 'red'" },
    ]);
  });

  it('refuses to remove a group that does not exist', () => {
    expect(refused({ op: 'remove-group', id: 'zz' })).toEqual([{ path: 'id', message: "no group 'zz'" }]);
  });
});

describe('applyChange: extensions', () => {
  it('adds an extension at the end and replaces one in place', () => {
    expect(ids(applied({ op: 'put-extension', extension: ext('106') }).extensions)).toEqual(['101', '102', '103', '104', '105', '106']);
    const next = applied({ op: 'put-extension', extension: { id: '102', interface: 'PJSIP/9102', server: 'pbx2' } });
    expect(next.extensions[1]).toEqual({ id: '102', interface: 'PJSIP/9102', server: 'pbx2' });
    expect(ids(next.extensions)).toEqual(['101', '102', '103', '104', '105']);
  });

  it('names the bad field of the extension under extension, and applies nothing (so nothing else breaks)', () => {
    expect(refused({ op: 'put-extension', extension: { id: '103', interface: 'no-slash' } })).toEqual([
      { path: 'extension.interface', message: 'must be an interface like PJSIP/1001' },
    ]);
  });

  it('removing an extension takes it from its owner only; the owner keeps its others', () => {
    const next = applied({ op: 'remove-extension', id: '101' });
    expect(ids(next.extensions)).toEqual(['102', '103', '104', '105']);
    expect(next.users.map((u) => [u.id, u.extensions])).toEqual([
      ['ada', []],
      ['al', ['102']],
      ['bo', ['103']],
      ['cy', ['104']],
    ]);
    // and the next version decides without it
    expect(decide(compilePolicy(next), { actor: 'ada', action: 'pause', extension: '101' }).allowed).toBe(false);
  });

  it('refuses to remove an extension that does not exist', () => {
    expect(refused({ op: 'remove-extension', id: '999' })).toEqual([{ path: 'id', message: "no extension '999'" }]);
  });
});

describe('applyChange: queues', () => {
  it('adds a queue at the end and replaces one in place', () => {
    expect(ids(applied({ op: 'put-queue', queue: queue('q4') }).queues)).toEqual(['q1', 'q2', 'q3', 'q4']);
    expect(applied({ op: 'put-queue', queue: { id: 'q2', name: 'Two' } }).queues).toEqual([
      { id: 'q1' },
      { id: 'q2', name: 'Two' },
      { id: 'q3' },
    ]);
  });

  it('names the bad field of the queue under queue', () => {
    expect(refused({ op: 'put-queue', queue: { id: 'q2', server: 'not a name' } })).toEqual([
      { path: 'queue.server', message: 'must be a server name' },
    ]);
  });

  it('removes that queue only', () => {
    expect(ids(applied({ op: 'remove-queue', id: 'q3' }).queues)).toEqual(['q1', 'q2']);
  });

  it('removing a queue still named by a grant is refused, naming the grant', () => {
    expect(refused({ op: 'remove-queue', id: 'q1' })).toEqual([
      { path: 'grants[1].targets[1]', message: "unknown queue 'q1'" },
      { path: 'grants[2].targets[0]', message: "unknown queue 'q1'" },
    ]);
  });

  it('refuses to remove a queue that does not exist', () => {
    expect(refused({ op: 'remove-queue', id: 'q9' })).toEqual([{ path: 'id', message: "no queue 'q9'" }]);
  });
});

describe('applyChange: anything else', () => {
  it('refuses an unknown kind of change, naming it', () => {
    expect(refused({ op: 'rename', id: 'x' } as unknown as PolicyChange)).toEqual([
      {
        path: 'op',
        message:
          'must be one of add-grant | put-user | put-group | put-extension | put-queue | remove-grant | remove-user | remove-group | remove-extension | remove-queue',
      },
    ]);
  });

  it('never changes the document it was given', () => {
    const before = structuredClone(doc);
    for (const change of [
      { op: 'remove-user', id: 'cy' },
      { op: 'remove-group', id: 'blue' },
      { op: 'remove-extension', id: '101' },
      { op: 'put-group', group: group('red', []) },
      { op: 'add-grant', grant: grant('g9', 'user:bo', ['pause'], ['extension:103']) },
    ] satisfies PolicyChange[])
      applyChange(doc, change);
    expect(doc).toEqual(before);
  });
});

describe('changePolicy', () => {
  let policy: CompiledPolicy;
  beforeEach(() => {
    policy = compilePolicy(doc, 7);
  });

  it('an allowed change that applies gives the next version, compiled', () => {
    const r = changePolicy(policy, 'ada', { op: 'remove-grant', id: 'g3' });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.policy.version).toBe(8);
    expect(ids(r.policy.doc.grants)).toEqual(['g1', 'g2']);
    expect(r.decision.allowed).toBe(true);
    expect(r.policy.index.users.has('ada')).toBe(true);
  });

  it('a denied change is not applied and has no errors, only the decision', () => {
    const r = changePolicy(policy, 'al', { op: 'remove-grant', id: 'g3' });
    expect(r).toMatchObject({ ok: false, errors: [] });
    expect(r.decision.allowed).toBe(false);
  });

  it('an allowed change that does not apply gives the errors and the decision', () => {
    const r = changePolicy(policy, 'ada', { op: 'remove-queue', id: 'q1' });
    expect(r.ok).toBe(false);
    expect(r.decision.allowed).toBe(true);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toEqual(['grants[1].targets[1]', 'grants[2].targets[0]']);
  });
});

describe('applyChange: the call flags endForAll and internationalTransfer', () => {
  it('a put-user read from an API body keeps both flags, and a later put-user without them turns them off', () => {
    const parsed = parsePolicyChange({
      op: 'put-user',
      user: { id: 'bo', name: 'Bo', role: 'agent', scope: 'call_center_agent', flags: { endForAll: true, internationalTransfer: true } },
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const next = applied(parsed.value);
    expect(next.users[2]!.flags).toStrictEqual({ ...DEFAULT_FLAGS, ipAllow: [], endForAll: true, internationalTransfer: true });
    const plain = parsePolicyChange({ op: 'put-user', user: { id: 'bo', name: 'Bo', role: 'agent', scope: 'call_center_agent' } });
    if (!plain.ok) throw new Error(JSON.stringify(plain.errors));
    doc = next;
    expect(applied(plain.value).users[2]!.flags).toStrictEqual({ ...DEFAULT_FLAGS, ipAllow: [] });
  });

  it('a put-user with a flag that is not a boolean is refused, naming user.flags.<flag>', () => {
    const r = parsePolicyChange({
      op: 'put-user',
      user: { id: 'bo', name: 'Bo', role: 'agent', scope: 'call_center_agent', flags: { endForAll: 'yes', internationalTransfer: null } },
    });
    expect(r).toEqual({
      ok: false,
      errors: [
        { path: 'user.flags.endForAll', message: 'must be true or false' },
        { path: 'user.flags.internationalTransfer', message: 'must be true or false' },
      ],
    });
  });
});
