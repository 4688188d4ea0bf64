/**
 * Call actions (hold, hang up, end for all, transfer, direct transfer, requeue, cross-queue requeue):
 * who may press which button on which call, and why not, in the words a supervisor reads.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CALL_ACTIONS,
  callCapabilities,
  canSeeCall,
  compilePolicy,
  decideCallAction,
  DEFAULT_FLAGS,
  parsePolicyDoc,
  type CallActionRequest,
  type CallFlags,
  type CompiledPolicy,
  type Decision,
  type PolicyDoc,
  type User,
} from '../../../src/domain/policy/index.js';
import { policyDocArb } from './arbitrary.js';
import { ext, group, policyOf, queue, user } from './directory.js';

const flags = (f: Partial<CallFlags>): CallFlags => ({ ...DEFAULT_FLAGS, ipAllow: [], ...f });
const ALL: Partial<CallFlags> = {
  inbound: true,
  hold: true,
  hangup: true,
  endForAll: true,
  transfer: true,
  internationalTransfer: true,
  requeue: true,
  crossQueueRequeue: true,
  directTransfer: 'any_logged_in',
};
const agent = (id: string, extra: Partial<User> = {}): User =>
  user(id, 'agent', { addresses: [{ endpoint: `PJSIP/${id}`, delayMs: 0 }], flags: flags({ inbound: true }), ...extra });

// Built per test (not at import): mutation testing then knows which tests run which code.
const directory = (): CompiledPolicy =>
  policyOf({
    users: [
      agent('ann', {
        groups: ['red'],
        extensions: ['101'],
        flags: flags({
          inbound: true,
          hold: true,
          hangup: true,
          transfer: true,
          requeue: true,
          crossQueueRequeue: true,
          directTransfer: 'own_group',
        }),
      }),
      agent('bob', { groups: ['red'], extensions: ['102'] }),
      agent('cat', { groups: ['blue'], extensions: ['103'], flags: flags({ inbound: true, directTransfer: 'own_group' }) }),
      agent('dan', { groups: ['red'], addresses: [] }),
      agent('eve', { groups: ['red'], flags: flags({}) }),
      user('sue', 'supervisor', {
        scope: 'call_center_supervisor',
        extensions: ['104'],
        flags: flags({ ...ALL, ipAllow: ['10.0.%', '::1'] }),
      }),
      user('sam', 'supervisor', { scope: 'call_center_supervisor', flags: flags(ALL) }),
      user('max', 'manager', { scope: 'office_manager', extensions: ['105'], flags: flags(ALL) }),
      user('mia', 'manager', { scope: 'office_manager', flags: flags(ALL) }),
      user('noa', 'agent', { scope: 'no_portal', extensions: ['106'], flags: flags({ hold: true }) }),
      user('bas', 'agent', { scope: 'basic_user', flags: flags({ hold: true }) }),
      user('ola', 'administrator', { scope: 'call_center_agent', flags: flags(ALL) }),
    ],
    groups: [group('red', [], ['sue']), group('blue'), group('gold', [], ['sue'])],
    extensions: [ext('101', 'pbx1'), ext('102', 'pbx1'), ext('103', 'pbx2'), ext('104', 'pbx1'), ext('105', 'pbx1'), ext('106')],
    queues: [queue('q1'), queue('q2'), queue('q3')],
  });

type Req = Omit<CallActionRequest, 'source'> & { source?: CallActionRequest['source'] };
const IP = '10.0.0.7';
function decided(r: Req): Decision {
  return decideCallAction(directory(), { source: 'http', ip: IP, ...r });
}
const failures = (d: Decision): Array<[string, string]> => d.reasons.filter((r) => !r.passed).map((r) => [r.name, r.detail]);
const names = (d: Decision): string[] => d.reasons.map((r) => r.name);

interface Case {
  name: string;
  req: Req;
  /** Every failed check, in order, with its sentence; [] = allowed. */
  refused: Array<[string, string]>;
}

function run(cases: Case[]): void {
  it.each(cases)('$name', ({ req, refused }) => {
    const d = decided(req);
    expect(failures(d)).toEqual(refused);
    expect(d.allowed).toBe(refused.length === 0);
    expect(d.matched).toEqual([]);
  });
}

describe('decideCallAction: flags are the actor’s own', () => {
  run([
    { name: 'an agent with the hold flag holds its own call', req: { actor: 'ann', action: 'hold', call: { agent: 'ann' } }, refused: [] },
    { name: 'unhold needs the hold flag too', req: { actor: 'ann', action: 'unhold', call: { agent: 'ann' } }, refused: [] },
    {
      name: 'an agent without the hold flag cannot hold its call',
      req: { actor: 'bob', action: 'hold', call: { agent: 'bob' } },
      refused: [['flag', 'bob has no hold flag']],
    },
    {
      name: 'nor take it off hold',
      req: { actor: 'bob', action: 'unhold', call: { agent: 'bob' } },
      refused: [['flag', 'bob has no hold flag']],
    },
    { name: 'hangup with the hangup flag', req: { actor: 'ann', action: 'hangup', call: { agent: 'ann' } }, refused: [] },
    {
      name: 'hangup without it',
      req: { actor: 'bob', action: 'hangup', call: { agent: 'bob' } },
      refused: [['flag', 'bob has no hangup flag']],
    },
    {
      name: 'end for all needs endForAll, not hangup',
      req: { actor: 'ann', action: 'end', call: { agent: 'ann' } },
      refused: [['flag', 'ann has no endForAll flag']],
    },
    {
      name: 'a supervisor with endForAll ends its agent’s call',
      req: { actor: 'sue', action: 'end', call: { agent: 'bob' } },
      refused: [],
    },
    {
      name: 'the actor’s flags count, not the call agent’s: bob cannot hold ann’s call... and ann no one else’s',
      req: { actor: 'bob', action: 'hold', call: { agent: 'ann' } },
      refused: [
        ['scope', "scope call_center_agent acts only on its own calls, and this call is ann's"],
        ['role', 'bob (agent) may not act on a call of ann (agent): only on its own calls or those of lower roles'],
        ['flag', 'bob has no hold flag'],
      ],
    },
    {
      name: 'a supervisor holds a call of an agent who has no hold flag',
      req: { actor: 'sue', action: 'hold', call: { agent: 'bob' } },
      refused: [],
    },
  ]);
});

describe('decideCallAction: actor, ip and source', () => {
  it('an unknown actor gets one reason and nothing else runs', () => {
    const d = decided({ actor: 'zed', action: 'hold', call: { agent: 'ann' } });
    expect(d).toEqual({ allowed: false, reasons: [expect.objectContaining({ name: 'actor', passed: false })], matched: [] });
    expect(d.reasons[0]!.detail).toBe("unknown user 'zed'");
  });

  it('an allowed http request shows every check it passed, in order', () => {
    const d = decided({ actor: 'sue', action: 'hold', call: { agent: 'bob' } });
    expect(d.reasons.map((r) => [r.name, r.passed, r.detail])).toEqual([
      ['actor', true, 'sue (supervisor, call_center_supervisor)'],
      ['ip', true, "10.0.0.7 is in sue's allow-list"],
      ['scope', true, 'call_center_supervisor: bob is in a group sue supervises'],
      ['role', true, 'bob (agent) is below sue (supervisor)'],
      ['supervision', true, 'bob is in a group sue supervises'],
      ['target', true, "bob's call"],
      ['flag', true, 'sue has the hold flag'],
    ]);
  });

  run([
    {
      name: 'http without a source address',
      req: { actor: 'ann', action: 'hold', call: { agent: 'ann' }, ip: undefined },
      refused: [['ip', 'an http request without a source address']],
    },
    {
      name: 'http from outside the allow-list',
      req: { actor: 'sue', action: 'hold', call: { agent: 'bob' }, ip: '192.168.1.1' },
      refused: [['ip', "192.168.1.1 is not in sue's allow-list (10.0.%, ::1)"]],
    },
    {
      name: 'the desk phone: no ip needed, no portal scope needed (no_portal)',
      req: { actor: 'noa', action: 'hold', call: { agent: 'noa' }, source: 'phone', ip: undefined },
      refused: [],
    },
    {
      name: 'the desk phone ignores the ip allow-list',
      req: { actor: 'sue', action: 'hold', call: { agent: 'sue' }, source: 'phone', ip: '192.168.1.1' },
      refused: [],
    },
    {
      name: 'a desk phone acts only on its own calls, even a supervisor’s',
      req: { actor: 'sue', action: 'hold', call: { agent: 'bob' }, source: 'phone' },
      refused: [['source', "a desk phone acts only on its own calls, and this call is bob's, not sue's"]],
    },
    {
      name: 'the desk phone still needs the actor’s flag',
      req: { actor: 'bob', action: 'hangup', call: { agent: 'bob' }, source: 'phone' },
      refused: [['flag', 'bob has no hangup flag']],
    },
  ]);

  it('a phone request runs source instead of ip and scope', () => {
    expect(names(decided({ actor: 'ann', action: 'hold', call: { agent: 'ann' }, source: 'phone' }))).toEqual([
      'actor',
      'source',
      'role',
      'target',
      'flag',
    ]);
    expect(names(decided({ actor: 'ann', action: 'hold', call: { agent: 'ann' } }))).toEqual([
      'actor',
      'ip',
      'scope',
      'role',
      'target',
      'flag',
    ]);
  });

  it('an unknown source is treated as http (an address is required)', () => {
    const d = decideCallAction(directory(), { actor: 'ann', action: 'hold', call: { agent: 'ann' }, source: 'fax' as 'http' });
    expect(failures(d)).toEqual([['ip', 'an http request without a source address']]);
  });
});

describe('decideCallAction: scope, role and supervision', () => {
  run([
    {
      name: 'no_portal acts on nothing over http, not even its own call',
      req: { actor: 'noa', action: 'hold', call: { agent: 'noa' } },
      refused: [['scope', 'scope no_portal allows nothing']],
    },
    { name: 'basic_user on its own call', req: { actor: 'bas', action: 'hold', call: { agent: 'bas' } }, refused: [] },
    {
      name: 'basic_user on another’s call',
      req: { actor: 'bas', action: 'hold', call: { agent: 'ann' } },
      refused: [
        ['scope', "scope basic_user acts only on its own calls, and this call is ann's"],
        ['role', 'bas (agent) may not act on a call of ann (agent): only on its own calls or those of lower roles'],
      ],
    },
    {
      name: 'a high role does not widen a call_center_agent scope',
      req: { actor: 'ola', action: 'hold', call: { agent: 'ann' } },
      refused: [['scope', "scope call_center_agent acts only on its own calls, and this call is ann's"]],
    },
    { name: 'a supervisor on its own call', req: { actor: 'sue', action: 'hold', call: { agent: 'sue' } }, refused: [] },
    {
      name: 'a supervisor on an agent outside its groups',
      req: { actor: 'sue', action: 'hold', call: { agent: 'cat' } },
      refused: [
        ['scope', "scope call_center_supervisor reaches only its own calls and those of the groups it supervises; this call is cat's"],
        ['supervision', 'supervisor sue acts only on calls of members of the groups it supervises (red, gold); cat is not one'],
      ],
    },
    {
      name: 'a supervisor of no group',
      req: { actor: 'sam', action: 'hold', call: { agent: 'bob' } },
      refused: [
        ['scope', "scope call_center_supervisor reaches only its own calls and those of the groups it supervises; this call is bob's"],
        ['supervision', 'supervisor sam acts only on calls of members of the groups it supervises; bob is not one'],
      ],
    },
    {
      name: 'a supervisor on a peer supervisor (no one acts on a peer)',
      req: { actor: 'sue', action: 'hold', call: { agent: 'sam' } },
      refused: [
        ['scope', "scope call_center_supervisor reaches only its own calls and those of the groups it supervises; this call is sam's"],
        ['role', 'sue (supervisor) may not act on a call of sam (supervisor): only on its own calls or those of lower roles'],
        ['supervision', 'supervisor sue acts only on calls of members of the groups it supervises (red, gold); sam is not one'],
      ],
    },
    { name: 'an office manager on a call on its PBX', req: { actor: 'max', action: 'hold', call: { agent: 'bob' } }, refused: [] },
    {
      name: 'an office manager on a call on another PBX',
      req: { actor: 'max', action: 'hold', call: { agent: 'cat' } },
      refused: [['scope', "scope office_manager covers PBX pbx1, and cat's calls are on pbx2"]],
    },
    {
      name: 'an agent with no extension is on every PBX',
      req: { actor: 'max', action: 'hold', call: { agent: 'eve' } },
      refused: [],
    },
    {
      name: 'an agent whose extension has no server is on every PBX',
      req: { actor: 'max', action: 'hold', call: { agent: 'noa' } },
      refused: [],
    },
    {
      name: 'an office manager with no PBX of its own covers every PBX',
      req: { actor: 'mia', action: 'hold', call: { agent: 'cat' } },
      refused: [],
    },
    {
      name: 'a manager on a peer manager’s call (upward or level: never)',
      req: { actor: 'max', action: 'hold', call: { agent: 'mia' } },
      refused: [['role', 'max (manager) may not act on a call of mia (manager): only on its own calls or those of lower roles']],
    },
    {
      name: 'an agent on a supervisor’s call',
      req: { actor: 'ann', action: 'hold', call: { agent: 'sue' } },
      refused: [
        ['scope', "scope call_center_agent acts only on its own calls, and this call is sue's"],
        ['role', 'ann (agent) may not act on a call of sue (supervisor): only on its own calls or those of lower roles'],
      ],
    },
    {
      name: 'a call whose agent is not in the directory (no role to compare)',
      req: { actor: 'max', action: 'hold', call: { agent: 'ghost' } },
      refused: [['target', "the call's agent 'ghost' is not in the directory"]],
    },
    {
      name: 'an unknown action',
      req: { actor: 'ann', action: 'park' as 'hold', call: { agent: 'ann' } },
      refused: [['target', "unknown call action 'park'"]],
    },
  ]);
});

describe('decideCallAction: transfer and international prefixes', () => {
  const PREFIXES = ['00', '+'];
  run([
    { name: 'a national number', req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '2000' }, refused: [] },
    {
      name: 'an international number without internationalTransfer',
      req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '00441234', internationalPrefixes: PREFIXES },
      refused: [['flag', 'ann has no internationalTransfer flag, and 00441234 starts with the international prefix 00']],
    },
    {
      name: 'any configured prefix counts',
      req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '+441234', internationalPrefixes: PREFIXES },
      refused: [['flag', 'ann has no internationalTransfer flag, and +441234 starts with the international prefix +']],
    },
    {
      name: 'a prefix only counts at the start',
      req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '1200', internationalPrefixes: PREFIXES },
      refused: [],
    },
    {
      name: 'without configured prefixes nothing is international',
      req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '00441234' },
      refused: [],
    },
    {
      name: 'an international number with internationalTransfer',
      req: { actor: 'sue', action: 'transfer', call: { agent: 'bob' }, transferTo: '00441234', internationalPrefixes: PREFIXES },
      refused: [],
    },
    {
      name: 'internationalTransfer alone is not transfer',
      req: { actor: 'bob', action: 'transfer', call: { agent: 'bob' }, transferTo: '2000' },
      refused: [['flag', 'bob has no transfer flag']],
    },
    {
      name: 'no destination',
      req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' } },
      refused: [['target', 'transfer needs a destination number (transferTo)']],
    },
    {
      name: 'an empty destination',
      req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '' },
      refused: [['target', 'transfer needs a destination number (transferTo)']],
    },
    {
      name: 'a destination that would inject into a dial string',
      req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '2000\r\nAction: Logoff' },
      refused: [['target', "'2000\r\nAction: Logoff' is not a number or extension"]],
    },
  ]);

  it('an allowed international transfer shows both flags it needed', () => {
    const d = decided({ actor: 'sue', action: 'transfer', call: { agent: 'sue' }, transferTo: '0033', internationalPrefixes: ['00'] });
    expect(d.reasons.filter((r) => r.name === 'flag').map((r) => r.detail)).toEqual([
      'sue has the transfer flag',
      'sue has the internationalTransfer flag (0033 starts with 00)',
    ]);
  });
});

describe('decideCallAction: direct transfer to a colleague', () => {
  run([
    {
      name: 'own_group: a colleague in the agent’s group',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: 'bob' },
      refused: [],
    },
    {
      name: 'own_group: a colleague of another group',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: 'cat' },
      refused: [['transfer-scope', "ann transfers only within the call's agent's groups, and cat shares no group with ann"]],
    },
    {
      name: 'own_group: the live logged-in fact does not matter',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: 'bob', targetLoggedIn: false },
      refused: [],
    },
    {
      name: 'any_logged_in: a colleague logged into a queue, any group',
      req: { actor: 'sue', action: 'directTransfer', call: { agent: 'bob' }, targetAgent: 'cat', targetLoggedIn: true },
      refused: [],
    },
    {
      name: 'any_logged_in: a colleague logged into no queue',
      req: { actor: 'sue', action: 'directTransfer', call: { agent: 'bob' }, targetAgent: 'cat', targetLoggedIn: false },
      refused: [['transfer-scope', 'sue transfers only to colleagues logged into a queue, and cat is not']],
    },
    {
      name: 'any_logged_in: unknown logged-in state is not logged in',
      req: { actor: 'sue', action: 'directTransfer', call: { agent: 'bob' }, targetAgent: 'cat' },
      refused: [['transfer-scope', 'sue transfers only to colleagues logged into a queue, and cat is not']],
    },
    {
      name: 'disabled: never',
      req: { actor: 'bob', action: 'directTransfer', call: { agent: 'bob' }, targetAgent: 'ann' },
      refused: [['flag', "bob's directTransfer is disabled"]],
    },
    {
      name: 'a colleague with no address to ring',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: 'dan' },
      refused: [['target', 'dan has no address to ring']],
    },
    {
      name: 'a colleague who takes no inbound calls',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: 'eve' },
      refused: [['target', 'eve takes no inbound calls (no inbound flag)']],
    },
    {
      name: 'the call’s own agent',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: 'ann' },
      refused: [['target', "ann is the call's agent already"]],
    },
    {
      name: 'no colleague named',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' } },
      refused: [['target', 'directTransfer needs a colleague (targetAgent)']],
    },
    {
      name: 'an unknown colleague',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: 'zed' },
      refused: [['target', "unknown user 'zed'"]],
    },
  ]);
});

describe('decideCallAction: requeue and cross-queue requeue', () => {
  run([
    {
      name: 'requeue to the call’s queue, unnamed',
      req: { actor: 'ann', action: 'requeue', call: { agent: 'ann', queue: 'q1' } },
      refused: [],
    },
    {
      name: 'requeue to the call’s queue, named',
      req: { actor: 'ann', action: 'requeue', call: { agent: 'ann', queue: 'q1' }, queue: 'q1' },
      refused: [],
    },
    {
      name: 'requeue to another queue',
      req: { actor: 'ann', action: 'requeue', call: { agent: 'ann', queue: 'q1' }, queue: 'q2' },
      refused: [['target', 'requeue returns the call to its own queue q1, not to q2 (that is a cross-queue requeue)']],
    },
    {
      name: 'requeue of a call that came from no queue',
      req: { actor: 'ann', action: 'requeue', call: { agent: 'ann' } },
      refused: [['target', 'the call came from no queue, so it cannot be requeued']],
    },
    {
      name: 'requeue without the flag',
      req: { actor: 'bob', action: 'requeue', call: { agent: 'bob', queue: 'q1' } },
      refused: [['flag', 'bob has no requeue flag']],
    },
    {
      name: 'cross-queue to a queue the agent is logged into',
      req: {
        actor: 'ann',
        action: 'crossQueueRequeue',
        call: { agent: 'ann', queue: 'q1' },
        queue: 'q2',
        agentLoggedInQueues: ['q1', 'q2'],
      },
      refused: [],
    },
    {
      name: 'cross-queue of a call that came from no queue',
      req: { actor: 'ann', action: 'crossQueueRequeue', call: { agent: 'ann' }, queue: 'q2', agentLoggedInQueues: ['q2'] },
      refused: [],
    },
    {
      name: 'cross-queue to a queue the agent is not logged into',
      req: {
        actor: 'ann',
        action: 'crossQueueRequeue',
        call: { agent: 'ann', queue: 'q1' },
        queue: 'q3',
        agentLoggedInQueues: ['q1', 'q2'],
      },
      refused: [['target', 'ann is not logged into queue q3']],
    },
    {
      name: 'cross-queue without the live queue list',
      req: { actor: 'ann', action: 'crossQueueRequeue', call: { agent: 'ann', queue: 'q1' }, queue: 'q2' },
      refused: [['target', 'ann is not logged into queue q2']],
    },
    {
      name: 'cross-queue to the call’s own queue',
      req: { actor: 'ann', action: 'crossQueueRequeue', call: { agent: 'ann', queue: 'q1' }, queue: 'q1', agentLoggedInQueues: ['q1'] },
      refused: [['target', "q1 is the call's own queue (that is a requeue)"]],
    },
    {
      name: 'cross-queue to an unknown queue',
      req: { actor: 'ann', action: 'crossQueueRequeue', call: { agent: 'ann', queue: 'q1' }, queue: 'qx', agentLoggedInQueues: ['qx'] },
      refused: [['target', "unknown queue 'qx'"]],
    },
    {
      name: 'cross-queue without a destination',
      req: { actor: 'ann', action: 'crossQueueRequeue', call: { agent: 'ann', queue: 'q1' }, agentLoggedInQueues: ['q2'] },
      refused: [['target', 'crossQueueRequeue needs a destination queue (queue)']],
    },
    {
      name: 'cross-queue needs crossQueueRequeue, requeue is not enough',
      req: { actor: 'bob', action: 'crossQueueRequeue', call: { agent: 'bob', queue: 'q1' }, queue: 'q2', agentLoggedInQueues: ['q2'] },
      refused: [['flag', 'bob has no crossQueueRequeue flag']],
    },
  ]);
});

describe('decideCallAction: a denial names every reason', () => {
  it('ip, scope, role, target and flag all at once', () => {
    const d = decided({ actor: 'bob', action: 'transfer', call: { agent: 'sue' }, ip: undefined });
    expect(failures(d)).toEqual([
      ['ip', 'an http request without a source address'],
      ['scope', "scope call_center_agent acts only on its own calls, and this call is sue's"],
      ['role', 'bob (agent) may not act on a call of sue (supervisor): only on its own calls or those of lower roles'],
      ['target', 'transfer needs a destination number (transferTo)'],
      ['flag', 'bob has no transfer flag'],
    ]);
  });

  it('an unknown agent and a missing queue in one target sentence', () => {
    const d = decided({ actor: 'max', action: 'requeue', call: { agent: 'ghost' } });
    expect(failures(d)).toEqual([
      ['target', "the call's agent 'ghost' is not in the directory; the call came from no queue, so it cannot be requeued"],
    ]);
  });

  it('never throws, whatever the request holds', () => {
    const p = directory();
    const some = fc.oneof(fc.anything(), fc.constantFrom('sue', 'bob', 'q1', '00', 'hold', 'phone', IP));
    fc.assert(
      fc.property(fc.record({ actor: some, call: some, action: some, extra: some, list: some, source: some, ip: some }), (x) => {
        const req = {
          actor: x.actor,
          action: x.action,
          call: x.call,
          source: x.source,
          ip: x.ip,
          transferTo: x.extra,
          targetAgent: x.extra,
          targetLoggedIn: x.extra,
          queue: x.extra,
          agentLoggedInQueues: x.list,
          internationalPrefixes: x.list,
        };
        const d = decideCallAction(p, req as unknown as CallActionRequest);
        expect(typeof d.allowed).toBe('boolean');
        for (const r of d.reasons) expect(typeof r.detail).toBe('string');
        const caps = callCapabilities(p, x.actor as string, x.call as never, { ip: x.ip, agentLoggedInQueues: x.list } as never);
        for (const a of CALL_ACTIONS) for (const r of caps[a].reasons) expect(typeof r.detail).toBe('string');
        expect(typeof canSeeCall(p, x.actor as string, x.call as never).detail).toBe('string');
      }),
      { numRuns: 500 },
    );
  });

  it('objects that cannot even become text are named by kind', () => {
    const odd = { toString: '' };
    const d = decideCallAction(directory(), { actor: 'sue', action: odd, call: { agent: 'sue' }, source: 'http', ip: odd } as never);
    expect(failures(d)).toEqual([
      ['ip', 'the source address (an object) is not an address'],
      ['target', "unknown call action '(an object)'"],
    ]);
    expect(failures(decideCallAction(directory(), { actor: odd } as never))).toEqual([['actor', "unknown user '(an object)'"]]);
    const t = decided({ actor: 'sue', action: 'transfer', call: { agent: 'sue' }, transferTo: [1] as never });
    expect(failures(t)).toEqual([['target', "'(a list)' is not a number or extension"]]);
  });
});

describe('callCapabilities: the buttons for one call', () => {
  const allowed = (caps: Record<string, Decision>): Record<string, boolean> =>
    Object.fromEntries(Object.entries(caps).map(([a, d]) => [a, d.allowed]));

  it('an agent on its own queue call, logged into another queue too', () => {
    const caps = callCapabilities(directory(), 'ann', { agent: 'ann', queue: 'q1' }, { ip: IP, agentLoggedInQueues: ['q1', 'q2'] });
    expect(allowed(caps)).toEqual({
      hold: true,
      unhold: true,
      hangup: true,
      end: false,
      transfer: true,
      directTransfer: true,
      requeue: true,
      crossQueueRequeue: true,
    });
    expect(caps.end.reasons.filter((r) => !r.passed).map((r) => r.detail)).toEqual(['ann has no endForAll flag']);
    expect(caps.directTransfer.reasons.find((r) => r.name === 'target')!.detail).toBe("bob could take ann's call");
  });

  it('a call from no queue cannot be requeued, and one queue only cannot be crossed', () => {
    const caps = callCapabilities(directory(), 'ann', { agent: 'ann' }, { ip: IP, agentLoggedInQueues: ['q1'] });
    expect(failures(caps.requeue)).toEqual([['target', 'the call came from no queue, so it cannot be requeued']]);
    expect(caps.crossQueueRequeue.allowed).toBe(true);
    const inQueue = callCapabilities(directory(), 'ann', { agent: 'ann', queue: 'q1' }, { ip: IP, agentLoggedInQueues: ['q1', 'qx'] });
    expect(failures(inQueue.crossQueueRequeue)).toEqual([['target', 'ann is logged into no other queue']]);
  });

  it('own_group with no colleague who could take the call', () => {
    const caps = callCapabilities(directory(), 'cat', { agent: 'cat' }, { ip: IP });
    expect(failures(caps.directTransfer)).toEqual([['target', "no colleague cat may transfer to could take cat's call"]]);
    expect(failures(caps.hold)).toEqual([['flag', 'cat has no hold flag']]);
  });

  it('a supervisor sees what it may do on a supervised agent’s call; an out-of-group call gives nothing', () => {
    const mine = callCapabilities(directory(), 'sue', { agent: 'bob', queue: 'q1' }, { ip: IP, agentLoggedInQueues: ['q1', 'q3'] });
    expect(CALL_ACTIONS.filter((a) => !mine[a].allowed)).toEqual([]);
    const other = callCapabilities(directory(), 'sue', { agent: 'cat', queue: 'q1' }, { ip: IP });
    expect(CALL_ACTIONS.filter((a) => other[a].allowed)).toEqual([]);
    expect(failures(other.hold).map(([n]) => n)).toEqual(['scope', 'supervision']);
  });

  it('an unknown actor, a missing address, a ghost agent: nothing', () => {
    const p = directory();
    const nobody = callCapabilities(p, 'zed', { agent: 'ann' }, { ip: IP });
    for (const a of CALL_ACTIONS) expect(failures(nobody[a])).toEqual([['actor', "unknown user 'zed'"]]);
    const noIp = callCapabilities(p, 'ann', { agent: 'ann' }, {});
    expect(failures(noIp.hold)).toEqual([['ip', 'an http request without a source address']]);
    const ghost = callCapabilities(p, 'mia', { agent: 'ghost' }, { ip: IP });
    for (const a of CALL_ACTIONS) expect(failures(ghost[a])).toEqual([['target', "the call's agent 'ghost' is not in the directory"]]);
  });
});

describe('canSeeCall: who sees a call in the list', () => {
  it.each([
    ['ann', 'ann', true, 'call_center_agent on its own call'],
    ['ann', 'bob', false, "scope call_center_agent acts only on its own calls, and this call is bob's"],
    ['bas', 'bas', true, 'basic_user on its own call'],
    ['noa', 'noa', false, 'scope no_portal allows nothing'],
    ['sue', 'bob', true, 'call_center_supervisor: bob is in a group sue supervises'],
    ['sue', 'sue', true, 'call_center_supervisor on its own call'],
    [
      'sue',
      'cat',
      false,
      "scope call_center_supervisor reaches only its own calls and those of the groups it supervises; this call is cat's",
    ],
    ['max', 'bob', true, "office_manager: bob's call is on pbx1"],
    ['max', 'cat', false, "scope office_manager covers PBX pbx1, and cat's calls are on pbx2"],
    ['mia', 'cat', true, "office_manager: cat's call is on its PBX"],
    ['zed', 'ann', false, "unknown user 'zed'"],
  ])('%s sees %s’s call: %s', (actor, agentId, passed, detail) => {
    const c = canSeeCall(directory(), actor, { agent: agentId });
    expect({ name: c.name, passed: c.passed, detail: c.detail }).toEqual({ name: actor === 'zed' ? 'actor' : 'scope', passed, detail });
  });
});

/** policyDocArb's documents with random call flags, addresses and server assignments per user. */
const callDocArb: fc.Arbitrary<PolicyDoc> = policyDocArb.chain((doc) =>
  fc
    .array(
      fc.record({
        bools: fc.array(fc.boolean(), { minLength: 9, maxLength: 9 }),
        dt: fc.constantFrom('disabled' as const, 'own_group' as const, 'any_logged_in' as const),
        address: fc.boolean(),
      }),
      { minLength: doc.users.length, maxLength: doc.users.length },
    )
    .map((extras) => {
      const raw = structuredClone(doc);
      raw.users.forEach((u, i) => {
        const { bools: b, dt, address } = extras[i]!;
        u.flags = {
          ...u.flags,
          inbound: b[0]!,
          hold: b[1]!,
          hangup: b[2]!,
          endForAll: b[3]!,
          transfer: b[4]!,
          internationalTransfer: b[5]!,
          requeue: b[6]!,
          crossQueueRequeue: b[7]!,
          directTransfer: dt,
        };
        u.addresses = address ? [{ endpoint: `PJSIP/${u.id}`, delayMs: 0 }] : [];
      });
      const parsed = parsePolicyDoc(raw);
      if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
      return parsed.value;
    }),
);

describe('callCapabilities agrees with decideCallAction', () => {
  it('an action is offered exactly when some choice of destination facts lets decideCallAction allow it, with the same checks otherwise', () => {
    fc.assert(
      fc.property(
        callDocArb,
        fc.constantFrom(undefined, '10.0.0.1', '192.168.1.1'),
        fc.subarray(['q0', 'q1', 'q2', 'qx']),
        fc.constantFrom(undefined, 'q0', 'q1'),
        (doc, ip, loggedIn, callQueue) => {
          const p = compilePolicy(doc);
          const userIds = [...doc.users.map((u) => u.id), 'ghost'];
          for (const actor of userIds) {
            for (const agentId of userIds) {
              const call = callQueue === undefined ? { agent: agentId } : { agent: agentId, queue: callQueue };
              const caps = callCapabilities(p, actor, call, { ip, agentLoggedInQueues: loggedIn });
              for (const action of CALL_ACTIONS) {
                // Only the facts an action reads vary (the others are ignored by it).
                const base: CallActionRequest = {
                  actor,
                  action,
                  call,
                  source: 'http',
                  ip,
                  internationalPrefixes: ['00'],
                  agentLoggedInQueues: loggedIn,
                };
                const tries: CallActionRequest[] = [base];
                if (action === 'transfer') for (const transferTo of ['2000', '0044']) tries.push({ ...base, transferTo });
                if (action === 'directTransfer')
                  for (const targetAgent of userIds)
                    for (const targetLoggedIn of [true, false]) tries.push({ ...base, targetAgent, targetLoggedIn });
                if (action === 'requeue' || action === 'crossQueueRequeue')
                  for (const queue of ['q0', 'q1', 'q2', 'qx']) tries.push({ ...base, queue });
                const some = tries.some((r) => decideCallAction(p, r).allowed);
                expect(caps[action].allowed, `${actor} ${action} on ${agentId}'s call`).toBe(some);
                // The checks that do not depend on the destination are the same ones, with the same verdicts.
                const fixed = (d: Decision): Array<[string, boolean]> =>
                  d.reasons.filter((r) => ['actor', 'ip', 'scope', 'role', 'supervision'].includes(r.name)).map((r) => [r.name, r.passed]);
                expect(fixed(caps[action])).toEqual(fixed(decideCallAction(p, tries[0]!)));
              }
            }
          }
        },
      ),
      { numRuns: Math.ceil(Number(process.env.PROPERTY_RUNS ?? 300) / 3) },
    );
  });
});

describe('decideCallAction: an allowed action explains every check it passed', () => {
  const passed = (r: Req): string[] => {
    const d = decided(r);
    expect(d.allowed).toBe(true);
    return d.reasons.map((c) => `${c.name}: ${c.detail}`);
  };

  it.each<[string, Req, string[]]>([
    [
      'unhold, from the desk phone',
      { actor: 'ann', action: 'unhold', call: { agent: 'ann' }, source: 'phone' },
      [
        'actor: ann (agent, call_center_agent)',
        "source: ann's own desk phone",
        'role: ann acts on its own call',
        "target: ann's call",
        'flag: ann has the hold flag',
      ],
    ],
    [
      'hangup over http, any address allowed',
      { actor: 'ann', action: 'hangup', call: { agent: 'ann' } },
      [
        'actor: ann (agent, call_center_agent)',
        'ip: any address allowed',
        'scope: call_center_agent on its own call',
        'role: ann acts on its own call',
        "target: ann's call",
        'flag: ann has the hangup flag',
      ],
    ],
    [
      'end, by a supervisor on its own call',
      { actor: 'sue', action: 'end', call: { agent: 'sue' } },
      [
        'actor: sue (supervisor, call_center_supervisor)',
        "ip: 10.0.0.7 is in sue's allow-list",
        'scope: call_center_supervisor on its own call',
        'role: sue acts on its own call',
        'supervision: sue acts on its own call',
        "target: sue's call",
        'flag: sue has the endForAll flag',
      ],
    ],
    [
      'transfer',
      { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '2000' },
      [
        'actor: ann (agent, call_center_agent)',
        'ip: any address allowed',
        'scope: call_center_agent on its own call',
        'role: ann acts on its own call',
        "target: ann's call to 2000",
        'flag: ann has the transfer flag',
      ],
    ],
    [
      'direct transfer within the group',
      { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: 'bob' },
      [
        'actor: ann (agent, call_center_agent)',
        'ip: any address allowed',
        'scope: call_center_agent on its own call',
        'role: ann acts on its own call',
        "target: ann's call to bob",
        'flag: ann may transfer directly (own_group)',
        'transfer-scope: bob and ann are both in red',
      ],
    ],
    [
      'direct transfer to anyone logged in, by an office manager',
      { actor: 'max', action: 'directTransfer', call: { agent: 'bob' }, targetAgent: 'cat', targetLoggedIn: true },
      [
        'actor: max (manager, office_manager)',
        'ip: any address allowed',
        "scope: office_manager: bob's call is on pbx1",
        'role: bob (agent) is below max (manager)',
        "target: bob's call to cat",
        'flag: max may transfer directly (any_logged_in)',
        'transfer-scope: cat is logged into a queue',
      ],
    ],
    [
      'requeue',
      { actor: 'ann', action: 'requeue', call: { agent: 'ann', queue: 'q1' } },
      [
        'actor: ann (agent, call_center_agent)',
        'ip: any address allowed',
        'scope: call_center_agent on its own call',
        'role: ann acts on its own call',
        "target: ann's call back to queue q1",
        'flag: ann has the requeue flag',
      ],
    ],
    [
      'cross-queue requeue',
      { actor: 'ann', action: 'crossQueueRequeue', call: { agent: 'ann', queue: 'q1' }, queue: 'q2', agentLoggedInQueues: ['q2'] },
      [
        'actor: ann (agent, call_center_agent)',
        'ip: any address allowed',
        'scope: call_center_agent on its own call',
        'role: ann acts on its own call',
        "target: ann's call to queue q2",
        'flag: ann has the crossQueueRequeue flag',
      ],
    ],
  ])('%s', (_name, req, expected) => {
    expect(passed(req)).toEqual(expected);
  });

  it('callCapabilities says why each button is there', () => {
    const caps = callCapabilities(directory(), 'max', { agent: 'bob', queue: 'q1' }, { ip: IP, agentLoggedInQueues: ['q1', 'q2'] });
    const target = (a: (typeof CALL_ACTIONS)[number]): string => caps[a].reasons.find((r) => r.name === 'target')!.detail;
    expect(CALL_ACTIONS.map(target)).toEqual([
      "bob's call",
      "bob's call",
      "bob's call",
      "bob's call",
      "bob's call",
      "ann could take bob's call",
      "bob's call back to queue q1",
      'bob is logged into queue q2 as well',
    ]);
  });
});

describe('decideCallAction: edges of the facts', () => {
  run([
    {
      name: 'an empty colleague name is a missing one',
      req: { actor: 'ann', action: 'directTransfer', call: { agent: 'ann' }, targetAgent: '' },
      refused: [['target', 'directTransfer needs a colleague (targetAgent)']],
    },
    {
      name: 'an empty destination queue is a missing one',
      req: { actor: 'ann', action: 'crossQueueRequeue', call: { agent: 'ann', queue: 'q1' }, queue: '', agentLoggedInQueues: ['q2'] },
      refused: [['target', 'crossQueueRequeue needs a destination queue (queue)']],
    },
    {
      name: 'a call whose queue is not a queue id came from no queue',
      req: { actor: 'ann', action: 'requeue', call: { agent: 'ann', queue: 5 as never } },
      refused: [['target', 'the call came from no queue, so it cannot be requeued']],
    },
    {
      name: 'configured prefixes that are not text are ignored',
      req: { actor: 'ann', action: 'transfer', call: { agent: 'ann' }, transferTo: '5123', internationalPrefixes: [5 as never] },
      refused: [],
    },
    {
      name: 'a desk phone on a call with no agent',
      req: { actor: 'ann', action: 'hold', call: { agent: 7 as never }, source: 'phone' },
      refused: [
        ['source', "a desk phone acts only on its own calls, and this call is nobody's, not ann's"],
        ['target', 'the call names no agent'],
      ],
    },
    {
      name: 'no call at all',
      req: { actor: 'max', action: 'hold', call: null as never },
      refused: [['target', 'the call names no agent']],
    },
  ]);

  it.each<[string, unknown, string]>([
    ['a number', 7, "unknown call action '7'"],
    ['null', null, "unknown call action 'null'"],
    ['a symbol', Symbol('x'), "unknown call action '(a symbol)'"],
    ['a function', () => 1, "unknown call action '(a function)'"],
  ])('an action that is %s is named as such', (_name, action, detail) => {
    expect(failures(decided({ actor: 'ann', action: action as never, call: { agent: 'ann' } }))).toEqual([['target', detail]]);
  });

  it('no request at all', () => {
    expect(failures(decideCallAction(directory(), undefined as never))).toEqual([['actor', "unknown user 'undefined'"]]);
  });

  it('capabilities of a call with no facts at all: every button refused, the call names no agent', () => {
    const caps = callCapabilities(directory(), 'max', undefined as never, { ip: IP });
    for (const a of CALL_ACTIONS) expect(failures(caps[a])).toEqual([['target', 'the call names no agent']]);
  });

  it('an agent that is not a name (a number) is named in no reason: the call names no agent', () => {
    const d = decided({ actor: 'max', action: 'crossQueueRequeue', call: { agent: 987654 as never, queue: 'q1' }, queue: 'q2' });
    expect(d.allowed).toBe(false);
    expect(failures(d)[0]).toEqual(['target', expect.stringMatching(/^the call names no agent; /)]);
    for (const r of d.reasons) expect(r.detail).not.toContain('987654');
  });

  it('no capability context: no address, so nothing', () => {
    const caps = callCapabilities(directory(), 'ann', { agent: 'ann', queue: 'q1' }, undefined as never);
    expect(failures(caps.crossQueueRequeue)).toEqual([
      ['ip', 'an http request without a source address'],
      ['target', 'ann is logged into no other queue'],
    ]);
  });

  it('a disabled direct transfer looks for no colleague', () => {
    const caps = callCapabilities(directory(), 'bob', { agent: 'bob' }, { ip: IP });
    expect(failures(caps.directTransfer)).toEqual([
      ['target', "no colleague bob may transfer to could take bob's call"],
      ['flag', "bob's directTransfer is disabled"],
    ]);
  });

  it('PBX lists are named in full, for several PBXs on either side', () => {
    const p = policyOf({
      users: [
        user('mo', 'manager', { scope: 'office_manager', extensions: ['1', '2'] }),
        agent('kit', { extensions: ['3', '4'] }),
        agent('lea', { extensions: ['5', '6'] }),
      ],
      extensions: [ext('1', 'pbx1'), ext('2', 'pbx3'), ext('3', 'pbx2'), ext('4', 'pbx4'), ext('5', 'pbx2'), ext('6', 'pbx3')],
    });
    expect(canSeeCall(p, 'mo', { agent: 'kit' }).detail).toBe(
      "scope office_manager covers PBX pbx1, pbx3, and kit's calls are on pbx2, pbx4",
    );
    expect(canSeeCall(p, 'mo', { agent: 'lea' }).detail).toBe("office_manager: lea's call is on pbx3");
  });

  it('a policy compiled without parsePolicyDoc (dangling references, an unknown scope) is decided, not thrown on', () => {
    const doc: PolicyDoc = {
      users: [
        { ...agent('ann', { groups: ['red'], extensions: ['999'] }), flags: flags({ inbound: true, directTransfer: 'own_group' }) },
        { ...user('max', 'manager', { extensions: ['105'] }), scope: 'office_manager' },
        { ...user('odd', 'manager'), scope: 'weird' as never },
      ],
      groups: [group('red', ['ann', 'ghost'])],
      extensions: [ext('105', 'pbx1')],
      queues: [],
      grants: [],
    };
    const p = compilePolicy(doc);
    // detail is rendered on read (a getter), so it is read explicitly rather than matched as a property
    const seen = (actor: string): [boolean, string] => {
      const c = canSeeCall(p, actor, { agent: 'ann' });
      return [c.passed, c.detail];
    };
    expect(seen('max')).toEqual([true, "office_manager: ann's call is on its PBX"]);
    expect(seen('odd')).toEqual([false, "unknown scope 'weird'"]);
    expect(canSeeCall(p, 'odd', { agent: 'ann' }).name).toBe('scope');
    expect(failures(callCapabilities(p, 'ann', { agent: 'ann' }, { ip: IP }).directTransfer)).toEqual([
      ['target', "no colleague ann may transfer to could take ann's call"],
    ]);
  });
});
