/**
 * /metrics as an operator's Prometheus sees it: a real daemon against the simulator (ARI + AMI), a
 * dispatch and queue operations driven through it, the text read over HTTP. Two daemons in one
 * process keep separate registries.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { validateConfig, type Config } from '../../../src/config/load.js';
import { startDaemon, type Daemon } from '../../../src/daemon.js';
import { createMemoryStore } from '../../../src/adapters/store/memory.js';
import { systemClock } from '../../../src/ports/clock.js';
import { silentLogger } from '../../../src/log.js';
import type { TimelineEvent } from '../../../src/app/dispatch-service.js';
import { scripts, until } from '../../support/dispatch-harness.js';
import { metricFamilies, sampleValue } from '../../support/metrics-text.js';

let sim: Simulator;
let daemon: Daemon;
let sam: string;
let alice: string;

function config(id: string): Config {
  return validateConfig({
    instance: { id },
    servers: [
      {
        name: 'pbx1',
        // The default keepalive (10 s): a 1 s one can drop the websocket on a loaded machine, and this test counts reconnects.
        ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', restTimeoutMs: 2000 },
        ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' },
      },
    ],
    dispatch: { answer: 'late', ringTimeoutSec: 10 },
    http: { enabled: true, host: '127.0.0.1', port: 0, rateLimit: { max: 10_000, timeWindowMs: 1000 } },
    directory: {
      users: [
        {
          id: 'alice',
          name: 'Alice',
          role: 'agent',
          scope: 'call_center_agent',
          groups: ['team'],
          extensions: ['1001'],
          addresses: ['PJSIP/2001', 'PJSIP/2002'],
          flags: { inbound: true },
        },
        { id: 'sam', name: 'Sam', role: 'supervisor', scope: 'call_center_supervisor' },
      ],
      groups: [{ id: 'team', members: ['alice'], supervisors: ['sam'] }],
      extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
      queues: [{ id: 'support' }],
      grants: [
        {
          id: 'sam-team',
          subject: 'user:sam',
          actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
          targets: ['group:team', 'queue:support'],
        },
      ],
    },
  });
}

const scrape = async (d: Daemon): Promise<string> => {
  const r = await fetch(`${d.httpUrl}/metrics`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return r.text();
};
const post = (path: string, token: string, body: unknown): Promise<Response> =>
  fetch(`${daemon.httpUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

beforeAll(async () => {
  sim = await Simulator.start();
  daemon = await startDaemon(config('metrics-1'), { store: createMemoryStore({ clock: systemClock() }), logger: silentLogger() });
  sam = await daemon.tokens.issue('sam', 't');
  alice = await daemon.tokens.issue('alice', 't');
});
afterAll(async () => {
  await daemon?.stop();
  await sim?.stop();
});

describe('GET /metrics', () => {
  it('counts a dispatch (result, ring time, answer→bridged, legs) and shows the live call and claim while it lasts', async () => {
    scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 100 }, 'PJSIP/2002': { kind: 'ring' } });
    const svc = daemon.dispatch.get('pbx1')!;
    const finished = new Promise<{ result: string }>((resolve) => svc.once('finished', resolve));
    // Bridged as agentgate sees it (not only as the PBX does): a hang-up before that is CALLER_HANGUP.
    const bridged = new Promise<void>((resolve) => svc.on('timeline', (t: TimelineEvent) => t.kind === 'bridged' && resolve()));
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await bridged;
    let text = await scrape(daemon);
    expect(sampleValue(text, 'agentgate_live_calls', { server: 'pbx1' })).toBe(1);
    expect(sampleValue(text, 'agentgate_agent_claims', { server: 'pbx1' })).toBe(1);
    await call.hangup();
    expect((await finished).result).toBe('ANSWERED');

    text = await scrape(daemon);
    expect(sampleValue(text, 'agentgate_dispatches_total', { server: 'pbx1', result: 'ANSWERED' })).toBe(1);
    expect(sampleValue(text, 'agentgate_dispatch_ring_seconds_count', { server: 'pbx1', answered: 'true' })).toBe(1);
    // It rang at least the scripted 100 ms before the answer.
    expect(sampleValue(text, 'agentgate_dispatch_ring_seconds_bucket', { server: 'pbx1', answered: 'true', le: '0.5' })).toBe(1);
    expect(sampleValue(text, 'agentgate_dispatch_ring_seconds_sum', { server: 'pbx1', answered: 'true' })).toBeGreaterThanOrEqual(0.1);
    expect(sampleValue(text, 'agentgate_dispatch_answer_to_bridged_seconds_count', { server: 'pbx1' })).toBe(1);
    expect(sampleValue(text, 'agentgate_dispatch_legs_total', { server: 'pbx1', outcome: 'answered' })).toBe(1);
    expect(sampleValue(text, 'agentgate_dispatch_legs_total', { server: 'pbx1', outcome: 'cancelled' })).toBe(1);
    expect(sampleValue(text, 'agentgate_live_calls', { server: 'pbx1' })).toBe(0);
    expect(sampleValue(text, 'agentgate_agent_claims', { server: 'pbx1' })).toBe(0);
  });

  it('a call for an unknown agent counts as NOAGENT without a ring time (no phone rang)', async () => {
    const svc = daemon.dispatch.get('pbx1')!;
    const finished = new Promise<{ result: string }>((resolve) => svc.once('finished', resolve));
    await sim.dialIn({ args: ['dispatch', 'nobody'] });
    expect((await finished).result).toBe('NOAGENT');
    const text = await scrape(daemon);
    expect(sampleValue(text, 'agentgate_dispatches_total', { server: 'pbx1', result: 'NOAGENT' })).toBe(1);
    expect(sampleValue(text, 'agentgate_dispatch_ring_seconds_count', { server: 'pbx1', answered: 'false' })).toBeUndefined();
  });

  it('counts queue operations by action, result and source, and the policy decisions that gated them', async () => {
    expect((await post('/v1/queue/login', sam, { extension: '1001', queue: 'support' })).status).toBe(200);
    expect((await post('/v1/queue/logout', alice, { extension: '1001', queue: 'support' })).status).toBe(403);
    const text = await scrape(daemon);
    expect(sampleValue(text, 'agentgate_queue_operations_total', { action: 'login', result: 'ok', source: 'http' })).toBe(1);
    expect(sampleValue(text, 'agentgate_queue_operations_total', { action: 'logout', result: 'denied', source: 'http' })).toBe(1);
    expect(sampleValue(text, 'agentgate_policy_decisions_total', { action: 'login', result: 'allowed' })).toBe(1);
    expect(sampleValue(text, 'agentgate_policy_decisions_total', { action: 'logout', result: 'denied' })).toBe(1);
    expect(sampleValue(text, 'agentgate_http_requests_total', { method: 'POST', route: '/v1/queue/login', status: '200' })).toBe(1);
  });

  it('shows ARI and AMI connection state, and counts an ARI reconnect', async () => {
    let text = await scrape(daemon);
    expect(sampleValue(text, 'agentgate_connection_up', { system: 'ari', server: 'pbx1' })).toBe(1);
    expect(sampleValue(text, 'agentgate_connection_up', { system: 'ami', server: 'pbx1' })).toBe(1);
    const reconnects = async (): Promise<number> =>
      sampleValue(await scrape(daemon), 'agentgate_reconnects_total', { system: 'ari', server: 'pbx1' }) ?? 0;
    const before = await reconnects();
    const svc = daemon.dispatch.get('pbx1')!;
    sim.faults.dropAriWebsockets();
    // Down then up again: counted (however quickly ari-client reconnected).
    await until(async () => (await reconnects()) === before + 1, 15_000, 'the ARI reconnect counted');
    await until(() => svc.connected(), 10_000, 'ARI back');
    text = await scrape(daemon);
    expect(sampleValue(text, 'agentgate_connection_up', { system: 'ari', server: 'pbx1' })).toBe(1);
  });

  it('has the default process metrics and every documented agentgate family', async () => {
    const families = metricFamilies(await scrape(daemon));
    expect(families.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(families.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(families.get('agentgate_dispatch_ring_seconds')).toBe('histogram');
    expect(families.get('agentgate_audit_records_buffered')).toBe('gauge');
  });

  it('a second daemon in the same process has its own registry: it starts at zero and does not collide', async () => {
    const other = await startDaemon(config('metrics-2'), { store: createMemoryStore({ clock: systemClock() }), logger: silentLogger() });
    try {
      const text = await scrape(other);
      expect(sampleValue(text, 'agentgate_dispatches_total', { server: 'pbx1', result: 'ANSWERED' })).toBeUndefined();
      expect(sampleValue(text, 'agentgate_connection_up', { system: 'ami', server: 'pbx1' })).toBe(1);
      expect(sampleValue(await scrape(daemon), 'agentgate_dispatches_total', { server: 'pbx1', result: 'ANSWERED' })).toBe(1);
    } finally {
      await other.stop();
    }
  });
});
