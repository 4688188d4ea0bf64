/**
 * Fault suite, AMI (#12): `agentgate run` as a real process while the simulator's AMI freezes (the
 * connection stays open, nothing is answered: a deadlocked manager thread) or goes away with an
 * operation in flight. The daemon does not crash; /readyz is 503 naming ami:pbx1 within about two
 * keepalive intervals and 200 after the reconnect; operations fail with a clear code and are never
 * sent again by the daemon; member state is re-read with QueueStatus after the reconnect, so changes
 * made on the PBX meanwhile show up.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { until } from '../support/dispatch-harness.js';
import { api, cleanStop, Cleanups, queueActions, readyzBecomes, startFaultDaemon, startRig, TOKENS } from '../support/fault-rig.js';

const PING_MS = 1000;
const cleanups = new Cleanups();
afterEach(() => cleanups.run());

/** The newest AMI connection the simulator has seen (each reconnect is a new one). */
const lastConnection = (sim: Simulator): number => Math.max(0, ...sim.ami.received.map((a) => a.connection));
const queueStatusOn = (sim: Simulator, after: number): boolean =>
  sim.ami.received.some((a) => a.action === 'QueueStatus' && a.connection > after);
const pbxMembers = (sim: Simulator): string[] =>
  sim.queues
    .members('support')
    .map((m) => `${m.interface} paused=${m.paused} ${m.pausedReason}`)
    .sort();

async function apiMembers(url: string): Promise<string[]> {
  const r = await api(url, 'GET', '/v1/queue/members?queue=support', { token: TOKENS.sam });
  expect(r.status).toBe(200);
  return (r.body.members as Array<{ interface: string; paused: boolean; pausedReason: string }>)
    .map((m) => `${m.interface} paused=${m.paused} ${m.pausedReason}`)
    .sort();
}

describe('faults: AMI frozen and dropped', () => {
  it('AMI frozen while operations run: the operation in flight fails with a clear code, /readyz names ami:pbx1 within about two ping intervals, new operations fail at once, dispatch goes on; after the thaw it reconnects, re-reads members with QueueStatus and never sends the failed operation again', async () => {
    const rig = await startRig(cleanups);
    const { sim } = rig;
    const d = await startFaultDaemon(rig, { amiPingMs: PING_MS, amiTimeoutMs: 1000 });
    await readyzBecomes(d.url, 200, [], 10_000);
    expect((await api(d.url, 'POST', '/v1/queue/login', { token: TOKENS.sam, body: { extension: '1001', queue: 'support' } })).status).toBe(
      200,
    );
    const frozenConnection = lastConnection(sim);

    sim.ami.freeze();
    const frozenAt = Date.now();
    const during = await api(d.url, 'POST', '/v1/queue/pause', {
      token: TOKENS.sam,
      body: { extension: '1001', queue: 'support', reason: 'coffee' },
    });
    expect(['AGENTGATE_ERR_AMI_TIMEOUT', 'AGENTGATE_ERR_AMI_DISCONNECTED'], JSON.stringify(during.body)).toContain(during.body.code);
    expect([503, 504]).toContain(during.status);
    expect(during.at - frozenAt).toBeLessThan(1000 + 1500); // its own timeout, not a hang

    const detectedAt = await readyzBecomes(d.url, 503, ['ami:pbx1'], 10_000);
    expect(detectedAt - frozenAt, 'frozen AMI peer noticed within ~2 ping intervals').toBeLessThan(2 * PING_MS + 1000);
    // Disconnected: refused at once, nothing sent.
    const sentBefore = queueActions(sim).length;
    const refused = await api(d.url, 'POST', '/v1/queue/unpause', { token: TOKENS.sam, body: { extension: '1001', queue: 'support' } });
    expect(refused).toMatchObject({ status: 503, body: { code: 'AGENTGATE_ERR_AMI_DISCONNECTED' } });
    // Dispatch does not need AMI: alice still rings.
    sim.setEndpoint('PJSIP/2001', { kind: 'ring' });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(
      () => sim.pbx.channels().some((c) => c.name.startsWith('PJSIP/2001-') && c.state === 'Ringing'),
      5000,
      'alice ringing during the AMI freeze',
    );
    await call.hangup();
    // Someone changes the PBX while agentgate cannot hear it (its events are lost).
    sim.queues.add({ queue: 'support', interface: 'PJSIP/1002', membername: 'Bob' });
    expect(queueActions(sim)).toHaveLength(sentBefore);

    sim.ami.thaw();
    await readyzBecomes(d.url, 200, [], 15_000);
    await until(() => queueStatusOn(sim, frozenConnection), 5000, 'QueueStatus sent on the new connection');
    // The view is Asterisk's, re-read: bob's login made meanwhile shows up, 1001's pause is as the PBX has it.
    await until(async () => JSON.stringify(await apiMembers(d.url)) === JSON.stringify(pbxMembers(sim)), 5000, 'members re-read');
    expect(await apiMembers(d.url)).toContainEqual(expect.stringMatching(/^PJSIP\/1002 /));
    // The pause sent into the freeze died with its connection (the frozen manager never ran it: the
    // simulator records an action when it runs it), and the daemon did not send it again on the new one.
    expect(queueActions(sim).filter((a) => a.action === 'QueuePause')).toHaveLength(0);
    expect(pbxMembers(sim)).toContain('PJSIP/1001 paused=false ');
    // The client may try again, now that it answers: applied once.
    const again = await api(d.url, 'POST', '/v1/queue/pause', {
      token: TOKENS.sam,
      body: { extension: '1001', queue: 'support', reason: 'coffee' },
    });
    expect(again, JSON.stringify(again.body)).toMatchObject({ status: 200, body: { ok: true } });
    expect(queueActions(sim).filter((a) => a.action === 'QueuePause')).toHaveLength(1);
    expect(pbxMembers(sim)).toContain('PJSIP/1001 paused=true coffee');
    await until(
      async () => (await apiMembers(d.url)).includes('PJSIP/1001 paused=true coffee'),
      3000,
      'member view follows the events again',
    );
    await cleanStop(d);
  }, 45_000);

  it("AMI dropped (Asterisk's manager gone) with an operation in flight: the caller gets AGENTGATE_ERR_AMI_DISCONNECTED saying it may not have run, /readyz names ami:pbx1, operations meanwhile fail at once; after the reconnect the member view shows what Asterisk really did, and nothing was sent twice", async () => {
    const rig = await startRig(cleanups);
    const { sim } = rig;
    const d = await startFaultDaemon(rig, { amiPingMs: PING_MS, amiTimeoutMs: 2000 });
    await readyzBecomes(d.url, 200, [], 10_000);
    expect((await api(d.url, 'POST', '/v1/queue/login', { token: TOKENS.sam, body: { extension: '1001', queue: 'support' } })).status).toBe(
      200,
    );
    const firstConnection = lastConnection(sim);

    // Asterisk takes its time with the pause; the connection drops before it answers.
    sim.ami.delayAction('QueuePause', 400);
    const pausing = api(d.url, 'POST', '/v1/queue/pause', {
      token: TOKENS.sam,
      body: { extension: '1001', queue: 'support', reason: 'meeting' },
    });
    await until(() => queueActions(sim).some((a) => a.action === 'QueuePause'), 5000, 'QueuePause sent');
    await sim.ami.stop();
    const paused = await pausing;
    expect(paused, JSON.stringify(paused.body)).toMatchObject({ status: 503, body: { code: 'AGENTGATE_ERR_AMI_DISCONNECTED' } });
    expect(paused.body.message).toMatch(/may not have run/);
    await readyzBecomes(d.url, 503, ['ami:pbx1'], 5000);
    const t0 = Date.now();
    const penalty = await api(d.url, 'POST', '/v1/queue/penalty', {
      token: TOKENS.sam,
      body: { extension: '1001', queue: 'support', penalty: 2 },
    });
    expect(penalty).toMatchObject({ status: 503, body: { code: 'AGENTGATE_ERR_AMI_DISCONNECTED' } });
    expect(penalty.at - t0).toBeLessThan(1000);
    // Asterisk did apply the pause (its answer was lost), and someone adds bob meanwhile.
    await until(
      () => sim.queues.members('support').some((m) => m.interface === 'PJSIP/1001' && m.paused),
      3000,
      'the pause applied on the PBX',
    );
    sim.queues.add({ queue: 'support', interface: 'PJSIP/1002', membername: 'Bob' });
    sim.ami.clearFaults();

    await sim.ami.start(); // same port
    await readyzBecomes(d.url, 200, [], 15_000);
    await until(() => queueStatusOn(sim, firstConnection), 5000, 'QueueStatus sent after the reconnect');
    await until(async () => JSON.stringify(await apiMembers(d.url)) === JSON.stringify(pbxMembers(sim)), 5000, 'members re-read');
    expect(await apiMembers(d.url)).toEqual(['PJSIP/1001 paused=true meeting', 'PJSIP/1002 paused=false ']);
    expect(queueActions(sim).map((a) => `${a.action} ${a.interface}`)).toEqual(['QueueAdd PJSIP/1001', 'QueuePause PJSIP/1001']);
    await cleanStop(d);
  }, 45_000);
});
