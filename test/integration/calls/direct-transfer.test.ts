/**
 * Direct transfer to a colleague end to end (issue #14 part 5): the real daemon over the simulator's
 * ARI and AMI, the API over real sockets, a memory Store. Assertions are on what the simulated PBX
 * saw (who is in the bridge, what the customer hears, how each phone was hung up), on GET /v1/calls,
 * on the agent claims and on the audit.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../../src/sim/index.js';
import type { Daemon } from '../../../src/daemon.js';
import type { Store } from '../../../src/ports/store.js';
import { until } from '../../support/dispatch-harness.js';
import { agent, callsRig } from '../../support/calls-rig.js';

const USERS = ['alice', 'carol', 'dave', 'erin', 'frank', 'olivia'];

/** Every agent here may hang up and end a call. */
const colleague = (id: string, group: string, addresses: string[], flags: Record<string, unknown>, ext: string) =>
  agent(id, group, addresses, { hangup: true, endForAll: true, ...flags }, ext);

const rig = callsRig({
  instance: 'direct-test',
  users: USERS,
  directory: {
    users: [
      colleague('alice', 'support-team', ['PJSIP/2001'], { directTransfer: 'own_group' }, '1001'),
      colleague('carol', 'support-team', ['PJSIP/2002', 'PJSIP/2012'], {}, '1002'),
      colleague('dave', 'sales-team', ['PJSIP/2003'], {}, '1003'),
      colleague('erin', 'support-team', ['PJSIP/2004'], { directTransfer: 'disabled' }, '1004'),
      colleague('frank', 'support-team', ['PJSIP/2005'], { directTransfer: 'any_logged_in' }, '1005'),
      { id: 'olivia', name: 'Olivia', role: 'manager', scope: 'office_manager', flags: {} },
    ],
    groups: [
      { id: 'support-team', members: ['alice', 'carol', 'erin', 'frank'] },
      { id: 'sales-team', members: ['dave'] },
    ],
    extensions: ['1001', '1002', '1003', '1004', '1005'].map((id) => ({ id, interface: `PJSIP/${id}` })),
    queues: [{ id: 'support' }, { id: 'sales' }],
    grants: [{ id: 'olivia-queues', subject: 'user:olivia', actions: ['login', 'logout'], targets: ['user:dave', 'queue:sales'] }],
  },
});
let sim: Simulator;
let daemon: Daemon;
let store: Store;
beforeAll(async () => ({ sim, daemon, store } = await rig.start()));
afterAll(() => rig.stop());
afterEach(() => rig.clean(USERS));

const { api, talking } = rig;
interface CallJson {
  id: string;
  agent: string;
  state: string;
  endpoint?: string;
}
const calls = (): Promise<CallJson[]> => rig.calls<CallJson>();

/** Phones: the caller's agent answers at once; each colleague device as given. */
function phones(scripts: Record<string, Parameters<Simulator['setEndpoint']>[1]>): void {
  for (const ep of ['PJSIP/2001', 'PJSIP/2003', 'PJSIP/2004', 'PJSIP/2005']) sim.setEndpoint(ep, { kind: 'answer', afterMs: 30 });
  for (const [ep, s] of Object.entries(scripts)) sim.setEndpoint(ep, s);
}

const legOf = (resource: string): string | undefined => sim.pbx.channels().find((c) => c.name.startsWith(`PJSIP/${resource}-`))?.id;
const recordsOf = (resource: string) => sim.pbx.hangupRecords().filter((r) => r.name.startsWith(`PJSIP/${resource}-`));
const bridged = (): string[] => [...(sim.pbx.bridges()[0]?.channels ?? [])].sort();
const transfer = (user: string, id: string, to: string, mode: 'blind' | 'warm') =>
  api(user, 'POST', `/v1/calls/${id}/transfer`, { agent: to, mode });
const auditOf = async (id: string): Promise<string[]> =>
  (await store.queryAudit({ kind: 'call-action' }))
    .filter((a) => (a.detail as { call?: string }).call === id && a.action === 'directTransfer')
    .map((a) => a.result)
    .reverse();

describe('blind transfer', () => {
  it('the colleague answers on one device: the other is hung up as answered elsewhere, the agent released, the customer talks to the colleague', async () => {
    phones({ 'PJSIP/2002': { kind: 'answer', afterMs: 300 }, 'PJSIP/2012': { kind: 'ring' } });
    const { call, id } = await talking('alice');
    const aliceLeg = legOf('2001')!;
    const r = await transfer('alice', id, 'carol', 'blind');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      ok: true,
      callId: id,
      action: 'directTransfer',
      transfer: { target: 'carol', mode: 'blind', state: 'ringing', devices: ['PJSIP/2002', 'PJSIP/2012'] },
    });
    // While the colleague rings, the customer hears music; the colleague is claimed for this call.
    expect(sim.pbx.hears(call.id)).toBe('music');
    expect((await store.leaseHolder('agent:carol'))?.holder).toBe(id);
    await until(async () => (await calls())[0]?.agent === 'carol', 3000, 'carol took the call');
    expect((await calls())[0]).toMatchObject({ id, agent: 'carol', state: 'talking', endpoint: 'PJSIP/2002' });
    await until(() => bridged().length === 2 && !bridged().includes(aliceLeg), 3000, 'alice out of the bridge');
    expect(bridged()).toEqual([call.id, legOf('2002')!].sort());
    expect(sim.pbx.hears(call.id)).toBe('call');
    await until(() => recordsOf('2012').length === 1 && recordsOf('2001').length === 1, 3000, 'others hung up');
    expect(recordsOf('2012')[0]).toMatchObject({ reason: 'answered_elsewhere', cause: 26 });
    expect(recordsOf('2001')[0]).toMatchObject({ cause: 16 });
    await until(async () => (await store.leaseHolder('agent:alice')) === null, 3000, 'alice released');
    expect((await store.leaseHolder('agent:carol'))?.holder).toBe(id);
    // Capabilities are now computed for carol's call (she has no directTransfer flag).
    const mine = (await api('carol', 'GET', '/v1/calls')).body.calls as Array<{
      id: string;
      capabilities: Record<string, { allowed: boolean }>;
    }>;
    expect(mine.map((c) => c.id)).toEqual([id]);
    expect(mine[0]!.capabilities.directTransfer!.allowed).toBe(false);
    await until(async () => (await auditOf(id)).length === 3, 3000, 'audit');
    expect(await auditOf(id)).toEqual(['ringing', 'answered', 'released']);
    await call.hangup();
    await until(async () => (await store.leaseHolder('agent:carol')) === null, 3000, 'carol released at the end');
  });

  it('the colleague does not answer: the customer is back with the agent (music off), the colleague claim released', async () => {
    phones({ 'PJSIP/2002': { kind: 'noanswer', afterMs: 200 }, 'PJSIP/2012': { kind: 'noanswer', afterMs: 250 } });
    const { call, id } = await talking('alice');
    expect((await transfer('alice', id, 'carol', 'blind')).status).toBe(200);
    expect(sim.pbx.hears(call.id)).toBe('music');
    await until(async () => (await auditOf(id)).includes('failed'), 3000, 'round failed');
    await until(() => sim.pbx.hears(call.id) !== 'music', 3000, 'music off');
    expect(sim.pbx.hears(call.id)).toBe('call');
    expect(bridged()).toEqual([call.id, legOf('2001')!].sort());
    expect((await calls())[0]).toMatchObject({ id, agent: 'alice', state: 'talking' });
    expect(await store.leaseHolder('agent:carol')).toBeNull();
    expect((await store.leaseHolder('agent:alice'))?.holder).toBe(id);
    const failed = (await store.queryAudit({ kind: 'call-action' })).find((a) => a.result === 'failed');
    expect(failed?.detail).toMatchObject({ why: 'NOANSWER' });
    await call.hangup();
  });

  it('a device busy: the round fails BUSY and the customer is back with the agent', async () => {
    phones({ 'PJSIP/2002': { kind: 'busy' }, 'PJSIP/2012': { kind: 'noanswer', afterMs: 200 } });
    const { call, id } = await talking('alice');
    expect((await transfer('alice', id, 'carol', 'blind')).status).toBe(200);
    await until(async () => (await auditOf(id)).includes('failed'), 3000, 'round failed');
    const failed = (await store.queryAudit({ kind: 'call-action' })).find((a) => a.result === 'failed');
    expect(failed?.detail).toMatchObject({ why: 'BUSY', target: 'carol' });
    await until(() => sim.pbx.hears(call.id) !== 'music', 3000, 'music off');
    expect(sim.pbx.hears(call.id)).toBe('call');
    expect(bridged()).toEqual([call.id, legOf('2001')!].sort());
    await call.hangup();
  });

  it('the colleague is on another call: 409 agent busy, nothing rings, the customer hears the agent', async () => {
    phones({ 'PJSIP/2002': { kind: 'answer', afterMs: 50 }, 'PJSIP/2012': { kind: 'ring' } });
    const { call, id } = await talking('alice');
    expect((await store.acquireLease('agent:carol', 'another-call', 60_000)).ok).toBe(true);
    let r: Awaited<ReturnType<typeof transfer>>;
    try {
      r = await transfer('alice', id, 'carol', 'blind');
    } finally {
      await store.releaseLease('agent:carol', 'another-call');
    }
    expect(r.status).toBe(409);
    expect(r.body).toMatchObject({ code: 'AGENTGATE_ERR_AGENT_BUSY', field: 'body.agent' });
    expect(legOf('2002')).toBeUndefined();
    expect(legOf('2012')).toBeUndefined();
    expect(sim.pbx.hears(call.id)).toBe('call');
    expect(await auditOf(id)).toEqual(['busy']);
    await call.hangup();
  });

  it('a second transfer while one rings is 409', async () => {
    phones({ 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2012': { kind: 'ring' } });
    const { call, id } = await talking('alice');
    expect((await transfer('alice', id, 'carol', 'warm')).status).toBe(200);
    const again = await transfer('alice', id, 'carol', 'blind');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'AGENTGATE_ERR_CALL_STATE' });
    await call.hangup();
  });

  it('the customer hangs up while the colleague rings: every colleague device hung up normally, both claims released', async () => {
    phones({ 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2012': { kind: 'ring' } });
    const { call, id } = await talking('alice');
    expect((await transfer('alice', id, 'carol', 'blind')).status).toBe(200);
    await until(() => legOf('2002') !== undefined && legOf('2012') !== undefined, 3000, 'carol rings');
    // The Store record lists carol's ringing devices and carol herself: a restart now would hang them up and free her.
    const [rec] = await store.listDispatches();
    expect(rec!.legChannelIds).toEqual(expect.arrayContaining([legOf('2002'), legOf('2012')]));
    expect(rec!.data).toMatchObject({ round: { target: 'carol', legs: expect.arrayContaining([legOf('2002'), legOf('2012')]) } });
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'all gone');
    for (const ep of ['2002', '2012']) expect(recordsOf(ep).at(-1)).toMatchObject({ reason: 'normal' });
    expect(await store.leaseHolder('agent:carol')).toBeNull();
    expect(await store.leaseHolder('agent:alice')).toBeNull();
    expect(await calls()).toEqual([]);
  });
});

describe("from the agent's phone (the REFER handler's entry)", () => {
  it("found by the agent's leg, decided as the call's agent; the outcome tells the device that answered, or why it failed", async () => {
    phones({ 'PJSIP/2002': { kind: 'answer', afterMs: 100 }, 'PJSIP/2012': { kind: 'ring' } });
    const { call, id } = await talking('alice');
    const out = await daemon.calls.directTransfer({ legId: legOf('2001')!, targetAgent: 'carol', mode: 'blind', source: 'phone' });
    expect(out).toMatchObject({ ok: true, callId: id, target: 'carol', devices: ['PJSIP/2002', 'PJSIP/2012'] });
    if (!out.ok) throw new Error('not started');
    expect(await out.outcome).toEqual({ callId: id, target: 'carol', outcome: 'answered', endpoint: 'PJSIP/2002' });
    await until(async () => (await calls())[0]?.agent === 'carol', 3000, 'carol took the call');
    // Carol sending it back from her phone is refused: her directTransfer flag is disabled (the default).
    const refused = await daemon.calls.directTransfer({ callId: id, targetAgent: 'alice', mode: 'blind', source: 'phone' });
    expect(refused).toMatchObject({ ok: false, reason: 'denied' });
    const unknown = await daemon.calls.directTransfer({ legId: 'no-such-channel', targetAgent: 'carol', mode: 'blind', source: 'phone' });
    expect(unknown).toMatchObject({ ok: false, reason: 'not-found' });
    await call.hangup();
  });

  it('a failed round resolves the outcome with the result (here every device busy: BUSY)', async () => {
    phones({ 'PJSIP/2002': { kind: 'busy' }, 'PJSIP/2012': { kind: 'busy' } });
    const { call } = await talking('alice');
    const out = await daemon.calls.directTransfer({ legId: legOf('2001')!, targetAgent: 'carol', mode: 'warm', source: 'phone' });
    if (!out.ok) throw new Error(`not started: ${out.detail}`);
    expect(await out.outcome).toMatchObject({ outcome: 'failed', result: 'BUSY', target: 'carol' });
    await call.hangup();
  });
});

describe('warm transfer', () => {
  it('the colleague joins (three in the bridge), the agent hangs up, the customer stays with the colleague', async () => {
    phones({ 'PJSIP/2002': { kind: 'answer', afterMs: 100 }, 'PJSIP/2012': { kind: 'ring' } });
    const { call, id } = await talking('alice');
    expect((await transfer('alice', id, 'carol', 'warm')).status).toBe(200);
    // No music: the agent goes on talking to the customer while the colleague rings.
    expect(sim.pbx.hears(call.id)).toBe('call');
    await until(() => bridged().length === 3, 3000, 'three parties');
    expect(bridged()).toEqual([call.id, legOf('2001')!, legOf('2002')!].sort());
    const r = await api('alice', 'POST', `/v1/calls/${id}/hangup`);
    expect(r.status).toBe(200);
    expect(r.body).not.toHaveProperty('result'); // no AGENT_HANGUP continue: the call goes on
    await until(() => bridged().length === 2, 3000, 'alice left');
    expect(bridged()).toEqual([call.id, legOf('2002')!].sort());
    expect(sim.pbx.channel(call.id)).toBeDefined();
    expect((await calls())[0]).toMatchObject({ id, agent: 'carol', endpoint: 'PJSIP/2002' });
    await until(async () => (await store.leaseHolder('agent:alice')) === null, 3000, 'alice released');
    expect((await store.leaseHolder('agent:carol'))?.holder).toBe(id);
    await call.hangup();
  });

  it('while both agents are in the call, each sees it with the partner, capabilities for the one asking; the partner hanging up leaves the agent with the customer', async () => {
    phones({ 'PJSIP/2002': { kind: 'answer', afterMs: 100 }, 'PJSIP/2012': { kind: 'ring' } });
    const { call, id } = await talking('alice');
    expect((await transfer('alice', id, 'carol', 'warm')).status).toBe(200);
    await until(() => bridged().length === 3, 3000, 'three parties');
    const seen = async (user: string) => (await api(user, 'GET', '/v1/calls')).body.calls as Array<Record<string, any>>;
    const byAlice = await seen('alice');
    const byCarol = await seen('carol');
    const byOlivia = await seen('olivia');
    for (const list of [byAlice, byCarol, byOlivia])
      expect(list).toEqual([
        expect.objectContaining({ id, agent: 'alice', endpoint: 'PJSIP/2001', partner: { agent: 'carol', endpoint: 'PJSIP/2002' } }),
      ]);
    // carol has no directTransfer flag (alice has own_group): each sees the capabilities of its own side.
    // Neither may start another direct transfer now (a partner is in the call): for alice that is the only reason.
    const failed = (c: Record<string, any>): string[] =>
      (c.capabilities.directTransfer.reasons as Array<{ name: string; passed: boolean }>).filter((r) => !r.passed).map((r) => r.name);
    expect(failed(byAlice[0]!)).toEqual(['call-state']);
    expect(failed(byCarol[0]!)).toEqual(['target', 'flag', 'call-state']);
    expect(byCarol[0]!.capabilities.hangup.allowed).toBe(true);
    // dave (another group) sees neither side.
    expect(await seen('dave')).toEqual([]);
    const r = await api('carol', 'POST', `/v1/calls/${id}/hangup`);
    expect(r.status).toBe(200);
    await until(() => bridged().length === 2, 3000, 'carol left');
    expect(bridged()).toEqual([call.id, legOf('2001')!].sort());
    expect(sim.pbx.hears(call.id)).toBe('call');
    await until(async () => (await store.leaseHolder('agent:carol')) === null, 3000, 'carol released');
    expect((await store.leaseHolder('agent:alice'))?.holder).toBe(id);
    expect(await seen('carol')).toEqual([]);
    expect((await seen('alice'))[0]).not.toHaveProperty('partner');
    await call.hangup();
  });

  it('end after a warm transfer hangs up the customer, the agent and the colleague', async () => {
    phones({ 'PJSIP/2002': { kind: 'answer', afterMs: 100 }, 'PJSIP/2012': { kind: 'ring' } });
    const { call, id } = await talking('alice');
    expect((await transfer('alice', id, 'carol', 'warm')).status).toBe(200);
    await until(() => bridged().length === 3, 3000, 'three parties');
    const r = await api('alice', 'POST', `/v1/calls/${id}/end`);
    expect(r.body).toMatchObject({ ok: true, result: 'ENDED' });
    expect(await call.ended()).toMatchObject({ how: 'hungup' });
    await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'all gone');
    expect(await store.leaseHolder('agent:carol')).toBeNull();
  });
});

describe('who may transfer to whom (directTransfer scope)', () => {
  it('own_group: a colleague of the group yes (above), one of another group no (403 naming the scope)', async () => {
    phones({});
    const { call, id } = await talking('alice');
    const r = await transfer('alice', id, 'dave', 'blind');
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body.decision)).toMatch(/shares no group/);
    expect(legOf('2003')).toBeUndefined();
    expect(await auditOf(id)).toEqual(['denied']);
    await call.hangup();
  });

  it('disabled: refused whoever the colleague is', async () => {
    phones({});
    const { call, id } = await talking('erin');
    const r = await transfer('erin', id, 'carol', 'blind');
    expect(r.status).toBe(403);
    expect(JSON.stringify(r.body.decision)).toMatch(/directTransfer is disabled/);
    await call.hangup();
  });

  it('any_logged_in: refused while the colleague is logged into no queue, allowed once logged in (live AMI state)', async () => {
    phones({});
    const { call, id } = await talking('frank');
    const refused = await transfer('frank', id, 'dave', 'blind');
    expect(refused.status).toBe(403);
    expect(JSON.stringify(refused.body.decision)).toMatch(/not/);
    expect((await api('olivia', 'POST', '/v1/queue/login', { extension: '1003', queue: 'sales' })).status).toBe(200);
    try {
      await until(async () => (await transfer('frank', id, 'dave', 'warm')).status === 200, 3000, 'allowed once dave is logged in');
    } finally {
      expect((await api('olivia', 'POST', '/v1/queue/logout', { extension: '1003', queue: 'sales' })).status).toBe(200);
    }
    await call.hangup();
  });
});
