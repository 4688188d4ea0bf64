/**
 * Call control end to end: the real daemon (HTTP server, dispatch over the simulator's ARI, queue
 * members over its AMI, memory Store), the API called over real sockets. Assertions are on what the
 * simulated PBX saw (where the customer went, with which variables; which legs and bridges are
 * left), on the answers, and on the audit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../../src/sim/index.js';
import type { Store } from '../../../src/ports/store.js';
import { until } from '../../support/dispatch-harness.js';
import { callsRig } from '../../support/calls-rig.js';

const ALL = { hold: true, hangup: true, transfer: true, requeue: true, crossQueueRequeue: true, endForAll: true };

const rig = callsRig({
  instance: 'calls-test',
  users: ['alice', 'carol', 'dave', 'sam', 'sue', 'olivia'],
  answering: { 'PJSIP/2001': 50, 'PJSIP/2002': 50, 'PJSIP/2003': 50 },
  calls: { holdAlertSec: 60, requeue: { sales: { context: 'queues', extension: 'sales-line', priority: 2 } } },
  directory: {
    users: [
      {
        id: 'alice',
        name: 'Alice',
        role: 'agent',
        scope: 'call_center_agent',
        groups: ['support-team'],
        extensions: ['1001'],
        addresses: ['PJSIP/2001'],
        flags: { inbound: true, hold: true, hangup: true, transfer: true, requeue: true, crossQueueRequeue: true },
      },
      {
        id: 'carol',
        name: 'Carol',
        role: 'agent',
        scope: 'call_center_agent',
        groups: ['support-team'],
        extensions: ['1002'],
        addresses: ['PJSIP/2002'],
        flags: { inbound: true },
      },
      {
        id: 'dave',
        name: 'Dave',
        role: 'agent',
        scope: 'call_center_agent',
        groups: ['sales-team'],
        extensions: ['1003'],
        addresses: ['PJSIP/2003'],
        flags: { inbound: true, ...ALL },
      },
      {
        id: 'sam',
        name: 'Sam',
        role: 'supervisor',
        scope: 'call_center_supervisor',
        flags: { hold: true, hangup: true, endForAll: true },
      },
      { id: 'sue', name: 'Sue', role: 'supervisor', scope: 'call_center_supervisor', flags: ALL },
      { id: 'olivia', name: 'Olivia', role: 'manager', scope: 'office_manager', flags: { ...ALL, internationalTransfer: true } },
    ],
    groups: [
      { id: 'support-team', members: ['alice', 'carol'], supervisors: ['sam'] },
      { id: 'sales-team', members: ['dave'], supervisors: ['sue'] },
    ],
    extensions: [
      { id: '1001', interface: 'PJSIP/1001' },
      { id: '1002', interface: 'PJSIP/1002' },
      { id: '1003', interface: 'PJSIP/1003' },
    ],
    queues: [{ id: 'support' }, { id: 'sales' }],
    grants: [{ id: 'olivia-queues', subject: 'user:olivia', actions: ['login', 'logout'], targets: ['user:alice', 'queue:sales'] }],
  },
});
let sim: Simulator;
let store: Store;
beforeAll(async () => ({ sim, store } = await rig.start()));
afterAll(() => rig.stop());
afterEach(() => rig.clean(['alice']));

const { api, talking } = rig;
interface CallJson {
  id: string;
  agent: string;
  state: string;
  endpoint?: string;
  queue?: string;
  caller: { number: string; name: string };
  holdSince?: number;
  holdBy?: string;
  holdTooLong: boolean;
  capabilities: Record<
    'hold' | 'unhold' | 'hangup' | 'end' | 'transfer' | 'directTransfer' | 'requeue' | 'crossQueueRequeue',
    { allowed: boolean; reasons: Array<{ name: string; passed: boolean; detail: string }> }
  >;
}
const calls = (user: string): Promise<CallJson[]> => rig.calls<CallJson>(user);
const agentLeg = (resource: string): string | undefined => sim.pbx.channels().find((c) => c.name.startsWith(`PJSIP/${resource}-`))?.id;

describe('GET /v1/calls', () => {
  it('each user sees the calls the policy lets them see, with their own capabilities', async () => {
    const { call, id } = await talking('alice', 'support');
    const mine = (await calls('alice'))[0]!;
    expect(mine).toMatchObject({
      id,
      agent: 'alice',
      state: 'talking',
      endpoint: 'PJSIP/2001',
      queue: 'support',
      caller: { number: '5550100' },
      holdTooLong: false,
    });
    expect(mine.capabilities.hold.allowed).toBe(true);
    expect(mine.capabilities.end).toMatchObject({ allowed: false });
    expect(mine.capabilities.end.reasons).toContainEqual({ name: 'flag', passed: false, detail: expect.stringMatching(/endForAll/) });
    // A colleague (agent) and a supervisor of another group see nothing; her supervisor and the manager see it.
    expect(await calls('carol')).toEqual([]);
    expect(await calls('sue')).toEqual([]);
    expect((await calls('sam')).map((c) => c.id)).toEqual([id]);
    expect((await calls('olivia')).map((c) => c.id)).toEqual([id]);
    await call.hangup();
  });
});

describe('the buttons are the ones that may be pressed now', () => {
  const allowed = (c: CallJson): string[] => Object.entries(c.capabilities).flatMap(([a, v]) => (v.allowed ? [a] : []));
  it('unhold only while on hold, hold only while not; the policy-allowed button missing for the state names it', async () => {
    const { call, id } = await talking('alice');
    const before = (await calls('alice'))[0]!;
    expect(before.capabilities.hold.allowed).toBe(true);
    expect(before.capabilities.unhold.allowed).toBe(false);
    expect(before.capabilities.unhold.reasons.filter((r) => !r.passed)).toEqual([
      { name: 'call-state', passed: false, detail: 'the call is not on hold' },
    ]);
    expect((await api('alice', 'POST', `/v1/calls/${id}/hold`)).status).toBe(200);
    const held = (await calls('alice'))[0]!;
    expect(held.capabilities.unhold.allowed).toBe(true);
    expect(held.capabilities.hold.reasons.filter((r) => !r.passed)).toEqual([
      { name: 'call-state', passed: false, detail: 'the call is already on hold' },
    ]);
    // What the list offers is what the API then accepts.
    expect(allowed(held)).toContain('unhold');
    expect((await api('alice', 'POST', `/v1/calls/${id}/unhold`)).status).toBe(200);
    await call.hangup();
  });
  it('a call still ringing offers no button, each saying why', async () => {
    sim.setEndpoint('PJSIP/2002', { kind: 'ring' });
    const call = await sim.dialIn({ args: ['dispatch', 'carol'] });
    let ringing: CallJson | undefined;
    await until(async () => ((ringing = (await calls('olivia'))[0]), ringing !== undefined), 3000, 'ringing call listed');
    expect(ringing!.state).toBe('ringing');
    expect(allowed(ringing!)).toEqual([]);
    for (const v of Object.values(ringing!.capabilities))
      expect(v.reasons).toContainEqual({ name: 'call-state', passed: false, detail: 'the call is not answered yet (ringing)' });
    await call.hangup();
    sim.setEndpoint('PJSIP/2002', { kind: 'answer', afterMs: 50 });
  });
});

describe('hold and unhold', () => {
  it('the agent puts the customer on hold and back: the call stays bridged with the agent on the line, hold is audited', async () => {
    const { call, id } = await talking('alice');
    const held = await api('alice', 'POST', `/v1/calls/${id}/hold`);
    expect(held.status).toBe(200);
    expect(held.body).toMatchObject({ ok: true, action: 'hold', call: { id, state: 'on_hold', holdBy: 'api', holdTooLong: false } });
    // The customer hears music; the agent stays on the line, in the bridge with the customer.
    expect(sim.hears(call.id)).toBe('music');
    expect(sim.hears(agentLeg('2001')!)).toBe('call');
    expect(sim.pbx.bridges()[0]!.channels.sort()).toEqual([call.id, agentLeg('2001')!].sort());
    expect((await calls('alice'))[0]).toMatchObject({ state: 'on_hold', holdBy: 'api' });
    // Already on hold: 409; then unhold, and unhold again: 409.
    expect((await api('alice', 'POST', `/v1/calls/${id}/hold`)).body).toMatchObject({ code: 'AGENTGATE_ERR_CALL_STATE' });
    const back = await api('alice', 'POST', `/v1/calls/${id}/unhold`);
    expect(back.body).toMatchObject({ ok: true, action: 'unhold', call: { state: 'talking' } });
    // No more music: the customer hears the agent again.
    expect(sim.hears(call.id)).toBe('call');
    const again = await api('alice', 'POST', `/v1/calls/${id}/unhold`);
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/not on hold/);
    const audit = (await store.queryAudit({ kind: 'call-action', actor: 'alice' })).filter(
      (a) => (a.detail as { call?: string }).call === id,
    );
    expect(audit.map((a) => `${a.action}:${a.result}`).reverse()).toEqual(['hold:ok', 'hold:conflict', 'unhold:ok', 'unhold:conflict']);
    expect(audit.at(-1)!.detail).toMatchObject({ call: id, agent: 'alice', decision: { allowed: true } });
    await call.hangup();
  });

  it('the customer hanging up while on hold leaves no leg, no bridge, no claim: the agent is free for the next call', async () => {
    const { call, id } = await talking('alice');
    expect((await api('alice', 'POST', `/v1/calls/${id}/hold`)).status).toBe(200);
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'all gone');
    await until(async () => (await store.leaseHolder('agent:alice')) === null, 3000, 'claim released');
    expect(await calls('olivia')).toEqual([]);
    const next = await talking('alice');
    await next.call.hangup();
  });

  it('an agent without the hold flag is refused (403 with the decision), nothing reaches the call, and it is audited', async () => {
    const { call, id } = await talking('carol');
    const r = await api('carol', 'POST', `/v1/calls/${id}/hold`);
    expect(r.status).toBe(403);
    expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_FORBIDDEN', decision: { allowed: false } });
    expect((r.body.decision as { reasons: unknown[] }).reasons).toContainEqual({
      name: 'flag',
      passed: false,
      detail: 'carol has no hold flag',
    });
    expect((await calls('carol'))[0]!.state).toBe('talking');
    const [a] = await store.queryAudit({ kind: 'call-action', actor: 'carol' });
    expect(a).toMatchObject({ action: 'hold', result: 'denied', detail: { call: id, agent: 'carol' } });
    await call.hangup();
  });
});

describe('who may act on whose call', () => {
  const cases: Array<{ who: string; agent: string; status: number }> = [
    { who: 'alice', agent: 'alice', status: 200 }, // an agent on her own call
    { who: 'sam', agent: 'alice', status: 200 }, // a supervisor on a managed agent
    { who: 'sue', agent: 'alice', status: 404 }, // a supervisor of another group: cannot even see it
    { who: 'olivia', agent: 'alice', status: 200 }, // the manager
    { who: 'carol', agent: 'alice', status: 404 }, // an agent on a colleague's call
  ];
  for (const c of cases)
    it(`${c.who} holds ${c.agent}'s call: ${c.status}`, async () => {
      const { call, id } = await talking(c.agent);
      const r = await api(c.who, 'POST', `/v1/calls/${id}/hold`);
      expect(r.status).toBe(c.status);
      if (c.status === 404) expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_CALL_NOT_FOUND', field: 'params.callId' });
      await call.hangup();
    });

  it('an agent without the flags is refused every action on her own call, each naming the missing flag', async () => {
    const { call, id } = await talking('carol', 'support');
    const asks: Array<[string, unknown, RegExp]> = [
      ['hangup', undefined, /carol has no hangup flag/],
      ['end', undefined, /endForAll/],
      ['transfer', { to: '1234' }, /carol has no transfer flag/],
      ['requeue', {}, /carol has no requeue flag/],
    ];
    for (const [action, body, why] of asks) {
      const r = await api('carol', 'POST', `/v1/calls/${id}/${action}`, body);
      expect(r.status, action).toBe(403);
      expect(JSON.stringify(r.body.decision), action).toMatch(why);
    }
    expect((await calls('carol'))[0]!.state).toBe('talking');
    const audit = await store.queryAudit({ kind: 'call-action', actor: 'carol' });
    expect(audit.slice(0, 4).map((x) => `${x.action}:${x.result}`)).toEqual([
      'requeue:denied',
      'transfer:denied',
      'end:denied',
      'hangup:denied',
    ]);
    await call.hangup();
  });

  it('an unknown call id is 404; a call still ringing is 409', async () => {
    expect((await api('olivia', 'POST', '/v1/calls/nope/hold')).status).toBe(404);
    sim.setEndpoint('PJSIP/2002', { kind: 'ring' });
    const call = await sim.dialIn({ args: ['dispatch', 'carol'] });
    let id = '';
    await until(async () => ((id = (await calls('olivia'))[0]?.id ?? ''), id !== ''), 3000, 'ringing call listed');
    expect((await calls('olivia'))[0]!.state).toBe('ringing');
    const r = await api('olivia', 'POST', `/v1/calls/${id}/hangup`);
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/ringing/);
    await call.hangup();
    sim.setEndpoint('PJSIP/2002', { kind: 'answer', afterMs: 50 });
  });
});

describe('leaving the call', () => {
  it('hangup: the agent leg is hung up and the customer goes on in the dialplan with AGENTGATE_RESULT=AGENT_HANGUP', async () => {
    const { call, id } = await talking('alice');
    const r = await api('alice', 'POST', `/v1/calls/${id}/hangup`);
    expect(r.body).toMatchObject({ ok: true, action: 'hangup', result: 'AGENT_HANGUP' });
    expect(r.body.call).toBeUndefined();
    const ended = await call.ended();
    expect(ended.how).toBe('continued');
    expect(ended.variables.AGENTGATE_RESULT).toBe('AGENT_HANGUP');
    await until(
      () => sim.pbx.hangupRecords().some((h) => h.name.startsWith('PJSIP/2001-') && h.reason === 'normal'),
      3000,
      'agent leg hung up',
    );
    await until(
      async () => (await store.queryAudit({ kind: 'dispatch', action: 'dispatch', actor: 'alice' })).length > 0,
      3000,
      'dispatch audited',
    );
    const [d] = await store.queryAudit({ kind: 'dispatch', action: 'dispatch', actor: 'alice', limit: 1 });
    expect(d).toMatchObject({ result: 'AGENT_HANGUP', detail: { hungUpBy: 'agent' } });
  });

  it('end for everyone needs endForAll: refused for alice, done by sam (customer and agent hung up)', async () => {
    const { call, id } = await talking('alice');
    expect((await api('alice', 'POST', `/v1/calls/${id}/end`)).status).toBe(403);
    const r = await api('sam', 'POST', `/v1/calls/${id}/end`);
    expect(r.body).toMatchObject({ ok: true, action: 'end', result: 'ENDED' });
    const ended = await call.ended();
    expect(ended.how).toBe('hungup');
    await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'everyone gone');
  });

  it('transfer: the customer continues at <number>@agentgate-transfer with TRANSFERRED and the number; the agent and the bridge are gone', async () => {
    const { call, id } = await talking('alice');
    const r = await api('alice', 'POST', `/v1/calls/${id}/transfer`, { to: '0612345678' });
    expect(r.body).toMatchObject({ ok: true, action: 'transfer', result: 'TRANSFERRED' });
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', continuedTo: { context: 'agentgate-transfer', exten: '0612345678', priority: 1 } });
    expect(ended.variables).toMatchObject({ AGENTGATE_RESULT: 'TRANSFERRED', AGENTGATE_TRANSFER_TO: '0612345678' });
    await until(() => agentLeg('2001') === undefined && sim.pbx.bridges().length === 0, 3000, 'agent leg and bridge gone');
    await until(async () => (await store.leaseHolder('agent:alice')) === null, 3000, 'claim released');
    await until(
      async () => (await store.queryAudit({ kind: 'dispatch', action: 'dispatch', actor: 'alice' })).length > 0,
      3000,
      'dispatch audited',
    );
    const [d] = await store.queryAudit({ kind: 'dispatch', action: 'dispatch', actor: 'alice', limit: 1 });
    expect(d).toMatchObject({ result: 'TRANSFERRED', detail: { transferTo: '0612345678' } });
    const [a] = await store.queryAudit({ kind: 'call-action', actor: 'alice' });
    expect(a).toMatchObject({ action: 'transfer', result: 'ok', detail: { target: '0612345678', ended: 'TRANSFERRED' } });
  });

  it('an international number needs internationalTransfer: alice refused, olivia allowed', async () => {
    const { call, id } = await talking('alice');
    const r = await api('alice', 'POST', `/v1/calls/${id}/transfer`, { to: '0044201234567' });
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body.decision)).toMatch(/internationalTransfer/);
    expect((await api('olivia', 'POST', `/v1/calls/${id}/transfer`, { to: '0044201234567' })).body).toMatchObject({
      result: 'TRANSFERRED',
    });
    expect((await call.ended()).continuedTo).toMatchObject({ exten: '0044201234567' });
  });

  it('transfer to an agent is decided by the policy (alice: directTransfer disabled, 403); a bad number, agent or a control character is 400 naming the field', async () => {
    const { call, id } = await talking('alice');
    const direct = await api('alice', 'POST', `/v1/calls/${id}/transfer`, { agent: 'carol', mode: 'blind' });
    expect(direct).toMatchObject({ status: 403, body: { code: 'AGENTGATE_ERR_FORBIDDEN' } });
    expect(JSON.stringify(direct.body.decision)).toMatch(/directTransfer is disabled/);
    const badAgent = await api('alice', 'POST', `/v1/calls/${id}/transfer`, { agent: 'ca\r\nrol', mode: 'blind' });
    expect(badAgent).toMatchObject({ status: 400, body: { field: 'body.agent' } });
    const noMode = await api('alice', 'POST', `/v1/calls/${id}/transfer`, { agent: 'carol' });
    expect(noMode).toMatchObject({ status: 400, body: { field: 'body.mode' } });
    const both = await api('alice', 'POST', `/v1/calls/${id}/transfer`, { to: '1234', agent: 'carol', mode: 'blind' });
    expect(both).toMatchObject({ status: 400, body: { field: 'body.agent' } });
    const bad = await api('alice', 'POST', `/v1/calls/${id}/transfer`, { to: '06\r\n12' });
    expect(bad).toMatchObject({ status: 400, body: { field: 'body.to' } });
    const ctl = await api('alice', 'POST', `/v1/calls/${id}/requeue`, { queue: 'sa\u0000les' });
    expect(ctl).toMatchObject({ status: 400, body: { code: 'AGENTGATE_ERR_CRLF', field: 'body.queue' } });
    expect((await calls('alice'))[0]!.state).toBe('talking');
    await call.hangup();
  });

  it('requeue with the queue from the 4th Stasis argument: REQUEUED to its configured location', async () => {
    const { call, id } = await talking('alice', 'sales');
    const r = await api('alice', 'POST', `/v1/calls/${id}/requeue`, {});
    expect(r.body).toMatchObject({ ok: true, action: 'requeue', result: 'REQUEUED' });
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', continuedTo: { context: 'queues', exten: 'sales-line', priority: 2 } });
    expect(ended.variables).toMatchObject({ AGENTGATE_RESULT: 'REQUEUED', AGENTGATE_REQUEUE_QUEUE: 'sales' });
  });

  it('requeue of a call from no queue is refused; to another queue is crossQueueRequeue and needs the agent logged into it', async () => {
    const noQueue = await talking('alice');
    const refused = await api('alice', 'POST', `/v1/calls/${noQueue.id}/requeue`);
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body.decision)).toMatch(/no queue/);
    await noQueue.call.hangup();
    await until(() => sim.pbx.channels().length === 0, 3000, 'clean');

    const { call, id } = await talking('alice', 'support');
    const notLogged = await api('alice', 'POST', `/v1/calls/${id}/requeue`, { queue: 'sales' });
    expect(notLogged.status).toBe(403);
    const target = (notLogged.body.decision as { reasons: Array<{ name: string; passed: boolean }> }).reasons.find(
      (x) => x.name === 'target',
    );
    expect(target).toMatchObject({ passed: false });
    expect((await api('olivia', 'POST', '/v1/queue/login', { extension: '1001', queue: 'sales' })).status).toBe(200);
    await until(async () => (await calls('alice'))[0]!.capabilities.crossQueueRequeue.allowed, 3000, 'alice logged into sales');
    const r = await api('alice', 'POST', `/v1/calls/${id}/requeue`, { queue: 'sales' });
    expect(r.body).toMatchObject({ ok: true, action: 'crossQueueRequeue', result: 'REQUEUED' });
    expect((await call.ended()).variables).toMatchObject({ AGENTGATE_REQUEUE_QUEUE: 'sales' });
    expect((await api('olivia', 'POST', '/v1/queue/logout', { extension: '1001', queue: 'sales' })).status).toBe(200);
  });
});
