/**
 * The audit tells the whole story of one call (issue #14): the real daemon over the simulator's ARI
 * and AMI, the API over real sockets, a memory Store. One customer's call goes through everything a
 * call can go through, and GET /v1/audit?call=<id> gives back exactly those steps, each naming who
 * did it, and nothing about any other call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { validateConfig } from '../../../src/config/load.js';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { systemClock } from '../../../src/ports/clock.js';
import { silentLogger } from '../../../src/log.js';
import type { Store } from '../../../src/ports/store.js';
import { until } from '../../support/dispatch-harness.js';

let sim: Simulator;
let daemon: Daemon;
let store: Store;
const token: Record<string, string> = {};
const USERS = ['alice', 'carol', 'olivia'];

beforeAll(async () => {
  sim = await Simulator.start();
  const agent = (id: string, addresses: string[], flags: Record<string, unknown>, ext: string) => ({
    id,
    name: id,
    role: 'agent',
    scope: 'call_center_agent',
    groups: ['support-team'],
    extensions: [ext],
    addresses,
    flags: { inbound: true, ...flags },
  });
  const config = validateConfig({
    instance: { id: 'story-test' },
    servers: [
      {
        name: 'pbx1',
        ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', pingIntervalMs: 1000, restTimeoutMs: 2000 },
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' },
      },
    ],
    http: { enabled: true, host: '127.0.0.1', port: 0, rateLimit: { max: 100_000, timeWindowMs: 1000 } },
    dispatch: { answer: 'late', ringTimeoutSec: 10 },
    directory: {
      users: [
        // alice may hold and hand a call to a colleague of her group, not transfer it to a number.
        agent('alice', ['PJSIP/2001'], { hold: true, hangup: true, directTransfer: 'own_group' }, '1001'),
        agent('carol', ['PJSIP/2002'], { hangup: true }, '1002'),
        { id: 'olivia', name: 'Olivia', role: 'manager', scope: 'office_manager', flags: {} },
      ],
      groups: [{ id: 'support-team', members: ['alice', 'carol'] }],
      extensions: ['1001', '1002'].map((id) => ({ id, interface: `PJSIP/${id}` })),
      queues: [{ id: 'support' }],
    },
  });
  store = createMemoryStore({ clock: systemClock() });
  daemon = await startDaemon(config, { store, logger: silentLogger() });
  for (const u of USERS) token[u] = await daemon.tokens.issue(u, 't');
});
afterAll(async () => {
  await daemon?.stop();
  await sim?.stop();
});

async function api(user: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`${daemon.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
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
const calls = async (): Promise<CallJson[]> => (await api('olivia', 'GET', '/v1/calls')).body.calls as CallJson[];
/** GET /v1/audit?call= as `user`: the API answers newest first, so this reverses it into the story's order. */
const story = async (user: string, id: string): Promise<Entry[]> => {
  const r = await api(user, 'GET', `/v1/audit?call=${encodeURIComponent(id)}`);
  expect(r.status).toBe(200);
  return (r.body.entries as Entry[]).slice().reverse();
};
const steps = (entries: Entry[]) => entries.map((e) => [e.kind, e.action, e.result, e.actor]);

/** A customer calls `who` (who answers at once); resolves once they talk, with the call id. */
async function talking(who: string) {
  const call = await sim.dialIn({ args: ['dispatch', who, '10'], callerNumber: '5550100' });
  let id = '';
  await until(
    async () => {
      const c = (await calls()).find((x) => x.agent === who && x.state === 'talking');
      id = c?.id ?? '';
      return c !== undefined;
    },
    5000,
    `${who} talking`,
  );
  return { call, id };
}

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
