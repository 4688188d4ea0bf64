/**
 * The audit tells the whole story of one call (issue #14): the real daemon over the simulator's ARI
 * and AMI, the API over real sockets, a memory Store. One customer's call goes through everything a
 * call can go through, and GET /v1/audit?call=<id> gives back exactly those steps, each naming who
 * did it, and nothing about any other call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../../src/sim/index.js';
import type { Store } from '../../../src/ports/store.js';
import { until } from '../../support/dispatch-harness.js';
import { agent, callsRig } from '../../support/calls-rig.js';

const rig = callsRig({
  instance: 'story-test',
  users: ['alice', 'carol', 'olivia'],
  directory: {
    users: [
      // alice may hold and hand a call to a colleague of her group, not transfer it to a number.
      agent('alice', 'support-team', ['PJSIP/2001'], { hold: true, hangup: true, directTransfer: 'own_group' }, '1001'),
      agent('carol', 'support-team', ['PJSIP/2002'], { hangup: true }, '1002'),
      { id: 'olivia', name: 'Olivia', role: 'manager', scope: 'office_manager', flags: {} },
    ],
    groups: [{ id: 'support-team', members: ['alice', 'carol'] }],
    extensions: ['1001', '1002'].map((id) => ({ id, interface: `PJSIP/${id}` })),
    queues: [{ id: 'support' }],
  },
});
let sim: Simulator;
let store: Store;
beforeAll(async () => ({ sim, store } = await rig.start()));
afterAll(() => rig.stop());

const { api, talking } = rig;
interface CallJson {
  id: string;
  agent: string;
  state: string;
}
interface Entry {
  kind: string;
  action?: string;
  result: string;
  actor?: string;
  call?: string;
  detail: Record<string, unknown>;
}
const calls = (): Promise<CallJson[]> => rig.calls<CallJson>();
/** GET /v1/audit?call= as `user`: the API answers newest first, so this reverses it into the story's order. */
const story = async (user: string, id: string): Promise<Entry[]> => {
  const r = await api(user, 'GET', `/v1/audit?call=${encodeURIComponent(id)}`);
  expect(r.status).toBe(200);
  return (r.body.entries as Entry[]).slice().reverse();
};
const steps = (entries: Entry[]) => entries.map((e) => [e.kind, e.action, e.result, e.actor]);

describe('GET /v1/audit?call=', () => {
  it('tells the whole story of one call in order: answered, held, unheld, a refused transfer, handed to a colleague, the customer hangs up', async () => {
    sim.setEndpoint('PJSIP/2001', { kind: 'answer', afterMs: 30 });
    sim.setEndpoint('PJSIP/2002', { kind: 'answer', afterMs: 200 });
    // Another call before ours: its entries must not show in our call's story.
    const other = await talking('alice');
    await other.call.hangup();
    await until(async () => (await store.leaseHolder('agent:alice')) === null, 3000, 'alice free after the other call');

    const { call, id } = await talking('alice');
    expect(id).not.toBe(other.id);
    expect((await api('alice', 'POST', `/v1/calls/${id}/hold`)).status).toBe(200);
    expect(sim.pbx.hears(call.id)).toBe('music');
    expect((await api('alice', 'POST', `/v1/calls/${id}/unhold`)).status).toBe(200);
    expect(sim.pbx.hears(call.id)).toBe('call');
    // alice has no transfer flag: refused, the customer stays with her.
    expect((await api('alice', 'POST', `/v1/calls/${id}/transfer`, { to: '0612345678' })).status).toBe(403);
    expect(sim.pbx.hears(call.id)).toBe('call');
    expect((await api('alice', 'POST', `/v1/calls/${id}/transfer`, { agent: 'carol', mode: 'blind' })).status).toBe(200);
    await until(
      async () => (await calls())[0]?.agent === 'carol' && (await store.leaseHolder('agent:alice')) === null,
      3000,
      'carol took the call',
    );
    expect(sim.pbx.hears(call.id)).toBe('call');
    await call.hangup();
    await until(async () => (await store.leaseHolder('agent:carol')) === null, 3000, 'carol released at the end');
    await until(async () => (await story('olivia', id)).some((e) => e.action === 'dispatch'), 3000, "the call's end audited");

    // Oldest to newest (the API answers newest first; story() reverses it): who did what.
    const entries = await story('olivia', id);
    expect(steps(entries)).toEqual([
      ['dispatch', 'answer', 'answered', 'alice'],
      ['call-action', 'hold', 'ok', 'alice'],
      ['call-action', 'unhold', 'ok', 'alice'],
      ['call-action', 'transfer', 'denied', 'alice'],
      ['call-action', 'directTransfer', 'ringing', 'alice'],
      ['call-action', 'directTransfer', 'answered', 'alice'],
      ['call-action', 'directTransfer', 'released', 'alice'],
      ['dispatch', 'dispatch', 'ANSWERED', 'carol'],
    ]);
    expect(entries.every((e) => e.call === id)).toBe(true);
    expect(entries[0]!.detail).toMatchObject({ endpoint: 'PJSIP/2001' });
    expect(entries[3]!.detail).toMatchObject({ target: '0612345678', decision: { allowed: false } });
    expect(entries[5]!.detail).toMatchObject({ target: 'carol', device: 'PJSIP/2002' });
    expect(entries[6]!.detail).toMatchObject({ released: 'alice' });
    expect(entries[7]!.detail).toMatchObject({ winner: 'PJSIP/2002', hungUpBy: 'caller' });
    // The other call has its own story, just as long as it lasted.
    expect(steps(await story('olivia', other.id))).toEqual([
      ['dispatch', 'answer', 'answered', 'alice'],
      ['dispatch', 'dispatch', 'ANSWERED', 'alice'],
    ]);
    // The usual visibility: an agent reads only the entries it is the actor of.
    expect(steps(await story('alice', id))).toEqual(steps(entries).filter((s) => s[3] === 'alice'));
    expect(steps(await story('carol', id))).toEqual([['dispatch', 'dispatch', 'ANSWERED', 'carol']]);
    // Combined with the other filters, and a bad id named as such.
    const holds = (await api('olivia', 'GET', `/v1/audit?call=${id}&kind=call-action&action=hold`)).body.entries as Entry[];
    expect(steps(holds)).toEqual([['call-action', 'hold', 'ok', 'alice']]);
    const bad = await api('olivia', 'GET', '/v1/audit?call=a%0Db');
    expect(bad.status).toBe(400);
    expect(bad.body.field).toBe('query.call');
    expect((await api('olivia', 'GET', '/v1/audit?call=nothing-here')).body.entries).toEqual([]);
  });
});
