/**
 * What a decision says, word for word: each request of the call-centre fixture with the exact checks
 * made, whether each passed and the sentence it gives (what an HTTP 403 body, the audit log and
 * `agentgate explain` show). One row per rule of the table in decide.ts.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { decide, type CheckName, type CompiledPolicy, type DecisionRequest } from '../../../src/domain/policy/index.js';
import { loadPolicy } from './fixture.js';
import { ext, grant, group, policyOf, queue, user } from './directory.js';

let policy: CompiledPolicy;
// Built before each test, not at import: mutation testing then knows which tests run which code.
beforeEach(() => {
  policy = loadPolicy();
});

interface Row {
  name: string;
  req: DecisionRequest;
  allowed: boolean;
  matched: string[];
  /** [check, passed, sentence, grants?] in the order decide makes them. */
  reasons: Array<[CheckName, boolean, string] | [CheckName, boolean, string, string[]]>;
}

const rows: Row[] = [
  {
    name: 'no_portal: nothing, whatever the grants',
    req: { actor: 'nina', action: 'login', extension: '1008', queue: 'support' },
    allowed: false,
    matched: ['nina-self'],
    reasons: [
      ['actor', true, 'nina (agent, no_portal)'],
      ['target', true, 'extension 1008, queue support'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, 'scope no_portal allows nothing'],
      ['role', true, 'nina acts on itself'],
      ['extension-grant', true, 'login extension:1008', ['nina-self']],
      ['queue-grant', true, 'login queue:support', ['nina-self']],
    ],
  },
  {
    name: 'basic_user: no queue operations',
    req: { actor: 'basil', action: 'pause', extension: '1007' },
    allowed: false,
    matched: ['basil-self'],
    reasons: [
      ['actor', true, 'basil (agent, basic_user)'],
      ['target', true, 'extension 1007, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, 'scope basic_user allows no queue operations'],
      ['role', true, 'basil acts on itself'],
      ['extension-grant', true, 'pause extension:1007', ['basil-self']],
    ],
  },
  {
    name: 'call_center_agent: never penalty',
    req: { actor: 'alice', action: 'penalty', extension: '1001' },
    allowed: false,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', true, 'extension 1001, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, 'scope call_center_agent does not allow penalty'],
      ['role', true, 'alice acts on itself'],
      ['extension-grant', true, 'penalty extension:1001', ['agents-self']],
    ],
  },
  {
    name: 'call_center_agent: not another agent’s extension (a peer)',
    req: { actor: 'alice', action: 'pause', extension: '1002' },
    allowed: false,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', true, 'extension 1002, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, "scope call_center_agent acts only on its own extensions, and 1002 is not alice's"],
      ['role', false, 'alice (agent) may not act on bob (agent): only on itself or lower roles'],
      ['extension-grant', true, 'pause extension:1002', ['agents-self']],
    ],
  },
  {
    name: 'call_center_agent: its own extension into a granted queue, from an allowed address',
    req: { actor: 'alice', action: 'login', extension: '1001', queue: 'support', ip: '10.0.3.7' },
    allowed: true,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', true, 'extension 1001, queue support'],
      ['ip', true, "10.0.3.7 is in alice's allow-list"],
      ['scope', true, 'call_center_agent on its own extension 1001'],
      ['role', true, 'alice acts on itself'],
      ['extension-grant', true, 'login extension:1001', ['agents-self']],
      ['queue-grant', true, 'login queue:support', ['agents-self']],
    ],
  },
  {
    name: 'an address outside the allow-list is named with the list',
    req: { actor: 'alice', action: 'pause', extension: '1001', ip: '10.0.4.1' },
    allowed: false,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', true, 'extension 1001, every queue'],
      ['ip', false, "10.0.4.1 is not in alice's allow-list (10.0.3.%, 192.168.1.20, ::1)"],
      ['scope', true, 'call_center_agent on its own extension 1001'],
      ['role', true, 'alice acts on itself'],
      ['extension-grant', true, 'pause extension:1001', ['agents-self']],
    ],
  },
  {
    name: 'an empty allow-list allows any address',
    req: { actor: 'bob', action: 'pause', extension: '1002', ip: '203.0.113.9' },
    allowed: true,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'bob (agent, call_center_agent)'],
      ['target', true, 'extension 1002, every queue'],
      ['ip', true, 'any address allowed'],
      ['scope', true, 'call_center_agent on its own extension 1002'],
      ['role', true, 'bob acts on itself'],
      ['extension-grant', true, 'pause extension:1002', ['agents-self']],
    ],
  },
  {
    name: 'an http request must carry its source address',
    req: { actor: 'bob', action: 'pause', extension: '1002', source: 'http' },
    allowed: false,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'bob (agent, call_center_agent)'],
      ['target', true, 'extension 1002, every queue'],
      ['ip', false, 'an http request without a source address'],
      ['scope', true, 'call_center_agent on its own extension 1002'],
      ['role', true, 'bob acts on itself'],
      ['extension-grant', true, 'pause extension:1002', ['agents-self']],
    ],
  },
  {
    name: 'call_center_supervisor on itself',
    req: { actor: 'sam', action: 'pause', extension: '1004' },
    allowed: true,
    matched: ['sam-team'],
    reasons: [
      ['actor', true, 'sam (supervisor, call_center_supervisor)'],
      ['target', true, 'extension 1004, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_supervisor on its own extension 1004'],
      ['role', true, 'sam acts on itself'],
      ['supervision', true, 'sam acts on itself'],
      ['extension-grant', true, 'pause extension:1004', ['sam-team']],
    ],
  },
  {
    name: 'call_center_supervisor on a member of a group it supervises',
    req: { actor: 'sam', action: 'penalty', extension: '1001' },
    allowed: true,
    matched: ['sam-team'],
    reasons: [
      ['actor', true, 'sam (supervisor, call_center_supervisor)'],
      ['target', true, 'extension 1001, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_supervisor: alice is in a group it supervises'],
      ['role', true, 'alice (agent) is below sam (supervisor)'],
      ['supervision', true, 'alice is in a group sam supervises'],
      ['extension-grant', true, 'penalty extension:1001', ['sam-team']],
    ],
  },
  {
    name: 'call_center_supervisor reaches an agent of a queue it can reach, but not a peer',
    req: { actor: 'sue', action: 'pause', extension: '1004' },
    allowed: false,
    matched: [],
    reasons: [
      ['actor', true, 'sue (supervisor, call_center_supervisor)'],
      ['target', true, 'extension 1004, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_supervisor: sam is an agent of a queue it can reach'],
      ['role', false, 'sue (supervisor) may not act on sam (supervisor): only on itself or lower roles'],
      ['supervision', false, 'supervisor sue acts only on members of the groups it supervises (sales-team); sam is not one'],
      ['extension-grant', false, 'no grant lets user:sue or group:supervisors pause extension:1004'],
    ],
  },
  {
    name: 'call_center_supervisor: an extension nobody owns is outside its reach',
    req: { actor: 'sam', action: 'pause', extension: '1010' },
    allowed: false,
    matched: [],
    reasons: [
      ['actor', true, 'sam (supervisor, call_center_supervisor)'],
      ['target', true, 'extension 1010, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, 'scope call_center_supervisor reaches only agents of its groups and queues; extension 1010 has no owner'],
      ['role', true, 'extension 1010 has no owner'],
      ['supervision', false, 'supervisor sam acts only on members of the groups it supervises (support-team); extension 1010 has no owner'],
      ['extension-grant', false, 'no grant lets user:sam or group:supervisors pause extension:1010'],
    ],
  },
  {
    name: 'call_center_supervisor: outside its groups and queues although a grant exists',
    req: { actor: 'sam', action: 'pause', extension: '2001' },
    allowed: false,
    matched: [],
    reasons: [
      ['actor', true, 'sam (supervisor, call_center_supervisor)'],
      ['target', true, 'extension 2001, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, 'scope call_center_supervisor reaches only agents of its groups and queues; extension 2001 belongs to night1'],
      ['role', true, 'night1 (agent) is below sam (supervisor)'],
      ['supervision', false, 'supervisor sam acts only on members of the groups it supervises (support-team); night1 is not one'],
      ['extension-grant', false, 'no grant lets user:sam or group:supervisors pause extension:2001'],
    ],
  },
  {
    name: 'supervisor role: a reachable queue agent outside its groups is still refused by supervision',
    req: { actor: 'sam', action: 'pause', extension: '1003' },
    allowed: false,
    matched: ['sam-team'],
    reasons: [
      ['actor', true, 'sam (supervisor, call_center_supervisor)'],
      ['target', true, 'extension 1003, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_supervisor: carol is an agent of a queue it can reach'],
      ['role', true, 'carol (agent) is below sam (supervisor)'],
      ['supervision', false, 'supervisor sam acts only on members of the groups it supervises (support-team); carol is not one'],
      ['extension-grant', true, 'pause extension:1003', ['sam-team']],
    ],
  },
  {
    name: 'office_manager: an extension of another PBX',
    req: { actor: 'mike', action: 'pause', extension: '2001' },
    allowed: false,
    matched: ['mike-office'],
    reasons: [
      ['actor', true, 'mike (manager, office_manager)'],
      ['target', true, 'extension 2001, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, 'scope office_manager covers PBX pbx1, and extension 2001 is on pbx2'],
      ['role', true, 'night1 (agent) is below mike (manager)'],
      ['extension-grant', true, 'pause extension:2001', ['mike-office']],
    ],
  },
  {
    name: 'office_manager on a lower role of its PBX',
    req: { actor: 'mike', action: 'unpause', extension: '1004' },
    allowed: true,
    matched: ['mike-office'],
    reasons: [
      ['actor', true, 'mike (manager, office_manager)'],
      ['target', true, 'extension 1004, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'office_manager: extension 1004 is on its PBX'],
      ['role', true, 'sam (supervisor) is below mike (manager)'],
      ['extension-grant', true, 'unpause extension:1004', ['mike-office']],
    ],
  },
  {
    name: 'nobody acts on a higher role',
    req: { actor: 'mike', action: 'pause', extension: '1011' },
    allowed: false,
    matched: ['mike-office'],
    reasons: [
      ['actor', true, 'mike (manager, office_manager)'],
      ['target', true, 'extension 1011, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'office_manager: extension 1011 is on its PBX'],
      ['role', false, 'mike (manager) may not act on oscar (owner): only on itself or lower roles'],
      ['extension-grant', true, 'pause extension:1011', ['mike-office']],
    ],
  },
  {
    name: 'office_manager with no server and no extension of its own: every PBX (but no grant here)',
    req: { actor: 'olivia', action: 'login', extension: '2001', queue: 'night-q' },
    allowed: false,
    matched: [],
    reasons: [
      ['actor', true, 'olivia (administrator, office_manager)'],
      ['target', true, 'extension 2001, queue night-q'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'office_manager: extension 2001 is on its PBX'],
      ['role', true, 'night1 (agent) is below olivia (administrator)'],
      ['extension-grant', false, 'no grant lets user:olivia login extension:2001'],
      ['queue-grant', false, 'no grant lets user:olivia login queue:night-q'],
    ],
  },
  {
    name: 'office_manager with no server: the PBXs of its own extensions only',
    req: { actor: 'oscar', action: 'pause', extension: '2001' },
    allowed: false,
    matched: [],
    reasons: [
      ['actor', true, 'oscar (owner, office_manager)'],
      ['target', true, 'extension 2001, every queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, 'scope office_manager covers PBX pbx1, and extension 2001 is on pbx2'],
      ['role', true, 'night1 (agent) is below oscar (owner)'],
      ['extension-grant', false, 'no grant lets user:oscar pause extension:2001'],
    ],
  },
  {
    name: 'extension and queue on different PBXs',
    req: { actor: 'mike', action: 'login', extension: '2001', queue: 'support' },
    allowed: false,
    matched: ['mike-office'],
    reasons: [
      ['actor', true, 'mike (manager, office_manager)'],
      ['target', false, 'extension 2001 is on pbx2 but queue support is on pbx1'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', false, 'scope office_manager covers PBX pbx1, and extension 2001 is on pbx2'],
      ['role', true, 'night1 (agent) is below mike (manager)'],
      ['extension-grant', true, 'login extension:2001', ['mike-office']],
      ['queue-grant', true, 'login queue:support', ['mike-office']],
    ],
  },
  {
    name: 'unknown extension, and login without a queue: both said',
    req: { actor: 'alice', action: 'login', extension: '9999' },
    allowed: false,
    matched: [],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', false, "unknown extension '9999'; login needs a queue"],
      ['ip', true, 'no source address (dialplan or local): not checked'],
    ],
  },
  {
    name: 'unknown extension and unknown queue: both said',
    req: { actor: 'alice', action: 'login', extension: '9999', queue: 'nope' },
    allowed: false,
    matched: [],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', false, "unknown extension '9999'; unknown queue 'nope'"],
      ['ip', true, 'no source address (dialplan or local): not checked'],
    ],
  },
  {
    name: 'unknown queue',
    req: { actor: 'alice', action: 'login', extension: '1001', queue: 'nope' },
    allowed: false,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', false, "unknown queue 'nope'"],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_agent on its own extension 1001'],
      ['role', true, 'alice acts on itself'],
      ['extension-grant', true, 'login extension:1001', ['agents-self']],
    ],
  },
  {
    name: 'login without a queue',
    req: { actor: 'alice', action: 'login', extension: '1001' },
    allowed: false,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', false, 'login needs a queue'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_agent on its own extension 1001'],
      ['role', true, 'alice acts on itself'],
      ['extension-grant', true, 'login extension:1001', ['agents-self']],
    ],
  },
  {
    name: 'pause names a queue it needs no permission for',
    req: { actor: 'alice', action: 'pause', extension: '1001', queue: 'sales' },
    allowed: true,
    matched: ['agents-self'],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', true, 'extension 1001, queue sales'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_agent on its own extension 1001'],
      ['role', true, 'alice acts on itself'],
      ['extension-grant', true, 'pause extension:1001', ['agents-self']],
    ],
  },
  {
    name: 'a queue grant without an extension grant',
    req: { actor: 'dave', action: 'login', extension: '1009', queue: 'support' },
    allowed: false,
    matched: ['dave-queue-only'],
    reasons: [
      ['actor', true, 'dave (agent, call_center_agent)'],
      ['target', true, 'extension 1009, queue support'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_agent on its own extension 1009'],
      ['role', true, 'dave acts on itself'],
      ['extension-grant', false, 'no grant lets user:dave login extension:1009'],
      ['queue-grant', true, 'login queue:support', ['dave-queue-only']],
    ],
  },
  {
    name: 'a group subject without a grant on that queue',
    req: { actor: 'night1', action: 'login', extension: '2001', queue: 'late' },
    allowed: false,
    matched: ['night-self'],
    reasons: [
      ['actor', true, 'night1 (agent, call_center_agent)'],
      ['target', true, 'extension 2001, queue late'],
      ['ip', true, 'no source address (dialplan or local): not checked'],
      ['scope', true, 'call_center_agent on its own extension 2001'],
      ['role', true, 'night1 acts on itself'],
      ['extension-grant', true, 'login extension:2001', ['night-self']],
      ['queue-grant', false, 'no grant lets user:night1 or group:night login queue:late'],
    ],
  },
  {
    name: 'an unknown action',
    req: { actor: 'alice', action: 'explode' as never, extension: '1001' },
    allowed: false,
    matched: [],
    reasons: [
      ['actor', true, 'alice (agent, call_center_agent)'],
      ['target', false, "unknown action 'explode'"],
    ],
  },
  {
    name: 'an unknown actor: nothing else is checked',
    req: { actor: 'mallory', action: 'pause', extension: '1001' },
    allowed: false,
    matched: [],
    reasons: [['actor', false, "unknown user 'mallory'"]],
  },
];

describe('decide, word for word', () => {
  it.each(rows)('$name', ({ req, allowed, matched, reasons }) => {
    const d = decide(policy, req);
    expect(d.allowed).toBe(allowed);
    expect(d.matched).toEqual(matched);
    expect(d.reasons.map((r) => (r.grants === undefined ? [r.name, r.passed, r.detail] : [r.name, r.passed, r.detail, r.grants]))).toEqual(
      reasons,
    );
  });
});

describe('decide, on a directory written here', () => {
  const ALL = ['login', 'logout', 'pause', 'unpause', 'penalty'] as const;
  let p: CompiledPolicy;
  beforeEach(() => {
    p = here();
  });
  const here = (): CompiledPolicy =>
    policyOf({
      users: [
        user('al', 'agent', { groups: ['red'], extensions: ['101'] }),
        user('bo', 'agent', { extensions: ['102'] }),
        user('cy', 'agent', { extensions: ['103'] }),
        // a supervisor that supervises no group
        user('lone', 'supervisor', { scope: 'call_center_supervisor' }),
        // a call_center_supervisor that supervises nothing but holds a queue grant
        user('qs', 'supervisor', { scope: 'call_center_supervisor', groups: ['leads'] }),
        // office managers: no server and no extension; an explicit server; servers of its extensions
        user('om', 'manager', { scope: 'office_manager' }),
        user('om1', 'manager', { scope: 'office_manager', server: 'pbx1', extensions: ['201'] }),
        user('om2', 'manager', { scope: 'office_manager', extensions: ['202'] }),
      ],
      groups: [group('red', ['bo']), group('leads')],
      extensions: [ext('101'), ext('102', 'pbx1'), ext('103', 'pbx2'), ext('201', 'pbx2'), ext('202', 'pbx2')],
      queues: [queue('q1'), queue('q2', 'pbx2'), queue('q3')],
      grants: [
        grant('red-login', 'group:red', ['login'], ['queue:q1']),
        grant('cy-pause', 'user:cy', ['pause'], ['queue:q3']),
        grant('leads-q', 'group:leads', ['pause'], ['queue:q1', 'queue:q3']),
        grant('ext', 'user:om', ['login', 'pause'], ['extension:101', 'queue:q1']),
        grant('usr', 'user:om', ['login'], ['user:al', 'queue:q1']),
        grant('grp', 'user:om', ['login', 'logout'], ['group:red', 'extension:101']),
        grant('all', 'user:om1', [...ALL], ['group:red', 'user:cy', 'extension:102', 'queue:q1', 'queue:q2']),
        grant('all2', 'user:om2', [...ALL], ['user:cy', 'user:bo']),
        grant('lone', 'user:lone', [...ALL], ['user:al']),
      ],
    });
  const scope = (actor: string, extension: string, action: DecisionRequest['action'] = 'pause'): [boolean, string] => {
    const c = decide(p, { actor, action, extension }).reasons.find((r) => r.name === 'scope')!;
    return [c.passed, c.detail];
  };

  it('a supervisor that supervises no group is told so without an empty list', () => {
    const d = decide(p, { actor: 'lone', action: 'pause', extension: '101' });
    expect(d.reasons.find((r) => r.name === 'supervision')?.detail).toBe(
      'supervisor lone acts only on members of the groups it supervises; al is not one',
    );
  });

  it('a call_center_supervisor reaches the agents of the queues its grants name: the users some grant lets log into them', () => {
    // red's members (al declared on the user side, bo on the group side) may log into q1, which leads-q names.
    expect(scope('qs', '101')).toEqual([true, 'call_center_supervisor: al is an agent of a queue it can reach']);
    expect(scope('qs', '102')).toEqual([true, 'call_center_supervisor: bo is an agent of a queue it can reach']);
    // cy's grant on q3 is for pause, not login: cy is not an agent of q3.
    expect(scope('qs', '103')).toEqual([
      false,
      'scope call_center_supervisor reaches only agents of its groups and queues; extension 103 belongs to cy',
    ]);
  });

  it.each([
    { name: 'no server, no extension: every PBX', actor: 'om', extension: '103', passed: true },
    { name: 'an explicit server: that PBX only', actor: 'om1', extension: '102', passed: true },
    { name: 'an explicit server wins over its own extensions’ servers', actor: 'om1', extension: '103', passed: false },
    { name: 'no server: the servers of its own extensions', actor: 'om2', extension: '103', passed: true },
    { name: 'no server: not another PBX than its extensions’', actor: 'om2', extension: '102', passed: false },
    { name: 'an extension with no server is on every PBX', actor: 'om1', extension: '101', passed: true },
  ])('office_manager: $name', ({ actor, extension, passed }) => {
    expect(scope(actor, extension)[0]).toBe(passed);
  });

  it.each([
    { name: 'extension without a server, queue on pbx2', extension: '101', queue: 'q2', ok: true },
    { name: 'extension on pbx1, queue without a server', extension: '102', queue: 'q1', ok: true },
    { name: 'extension on pbx1, queue on pbx2', extension: '102', queue: 'q2', ok: false },
    { name: 'extension on pbx2, queue on pbx2', extension: '103', queue: 'q2', ok: true },
  ])('the same PBX: $name', ({ extension, queue: q, ok }) => {
    expect(decide(p, { actor: 'om1', action: 'login', extension, queue: q }).reasons.find((r) => r.name === 'target')?.passed).toBe(ok);
  });

  it('every grant that matched is listed once, in document order, for the extension, the queue and the whole decision', () => {
    const d = decide(p, { actor: 'om', action: 'login', extension: '101', queue: 'q1' });
    expect(d.allowed).toBe(true);
    expect(d.reasons.find((r) => r.name === 'extension-grant')?.grants).toEqual(['ext', 'usr', 'grp']);
    expect(d.reasons.find((r) => r.name === 'queue-grant')?.grants).toEqual(['ext', 'usr']);
    expect(d.matched).toEqual(['ext', 'usr', 'grp']);
    const logout = decide(p, { actor: 'om', action: 'logout', extension: '101', queue: 'q1' });
    expect(logout.matched).toEqual(['grp']);
    expect(logout.reasons.find((r) => r.name === 'queue-grant')).toMatchObject({
      passed: false,
      detail: 'no grant lets user:om logout queue:q1',
    });
  });

  it('the queue grant may come from a grant listed before the extension’s, and matched keeps document order', () => {
    const d = decide(p, { actor: 'om1', action: 'login', extension: '103', queue: 'q2' });
    expect(d.matched).toEqual(['all']);
    const two = policyOf({
      users: [user('m', 'manager', { scope: 'office_manager' }), user('a', 'agent', { extensions: ['1'] })],
      extensions: [ext('1')],
      queues: [queue('q')],
      grants: [
        grant('z-queue', 'user:m', ['login'], ['queue:q']),
        grant('a-ext', 'user:m', ['login'], ['extension:1']),
        grant('m-both', 'user:m', ['login'], ['user:a', 'queue:q']),
      ],
    });
    expect(decide(two, { actor: 'm', action: 'login', extension: '1', queue: 'q' }).matched).toEqual(['z-queue', 'a-ext', 'm-both']);
  });

  it('an address given with a dialplan source is still checked', () => {
    const q = policyOf({
      users: [user('a', 'agent', { extensions: ['1'], flags: { ...user('x', 'agent').flags, ipAllow: ['10.0.0.1'] } })],
      extensions: [ext('1')],
      grants: [grant('g', 'user:a', ['pause'], ['user:a'])],
    });
    expect(decide(q, { actor: 'a', action: 'pause', extension: '1', ip: '10.0.0.2', source: 'dialplan' }).allowed).toBe(false);
    expect(decide(q, { actor: 'a', action: 'pause', extension: '1', ip: '10.0.0.1', source: 'http' }).allowed).toBe(true);
    expect(decide(q, { actor: 'a', action: 'pause', extension: '1' }).allowed).toBe(true);
  });
});
