/**
 * Fault suite, ARI (#12): `agentgate run` as a real process loses its ARI websocket during a
 * dispatch — dropped (closed, reconnects refused for a while) or half-open (frozen: no pong, no
 * event, only the keepalive notices). /readyz names ari:pbx1 while agentgate is deaf and is 200
 * after the reconnect; what the PBX did meanwhile is reconciled: a leg answered while deaf is bridged
 * and the others hung up as answered elsewhere; a caller gone while deaf gets every leg hung up, and
 * no record or claim is left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { scripts, until } from '../support/dispatch-harness.js';
import { cleanStop, Cleanups, readyz, readyzBecomes, startFaultDaemon, startRig } from '../support/fault-rig.js';

const ARI_PING_MS = 1000;
const ORPHAN_LIMIT_MS = 15_000;
const cleanups = new Cleanups();
afterEach(() => cleanups.run());

const ringing = (sim: Simulator): number =>
  sim.pbx.channels().filter((c) => c.state === 'Ringing' && c.name.startsWith('PJSIP/200')).length;
const legRecords = (sim: Simulator, endpoint: string) => sim.pbx.hangupRecords().filter((r) => r.name.startsWith(`${endpoint}-`));
const liveLeg = (sim: Simulator, endpoint: string): string | undefined =>
  sim.pbx.channels().find((c) => c.name.startsWith(`${endpoint}-`))?.id;

describe('faults: ARI websocket lost during a dispatch', () => {
  it('dropped mid-ring and a leg answers while agentgate is deaf: /readyz names ari:pbx1, and after the reconnect the answered leg is bridged with the caller, the others hung up as answered elsewhere; the call ends clean', async () => {
    const rig = await startRig(cleanups);
    const { sim, store } = rig;
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'answer', afterMs: 1500 }, 'PJSIP/2003': { kind: 'ring' } });
    const d = await startFaultDaemon(rig, { ariPingMs: ARI_PING_MS });
    await readyzBecomes(d.url, 200, [], 10_000);
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'three legs ringing');

    sim.faults.dropAriWebsockets(3500); // reconnects refused for 3.5 s: 2002 answers in that time
    await readyzBecomes(d.url, 503, ['ari:pbx1'], 2000);
    await until(
      () => sim.pbx.channels().some((c) => c.name.startsWith('PJSIP/2002-') && c.state === 'Up'),
      5000,
      '2002 answered while agentgate is deaf',
    );
    expect((await readyz(d.url)).failing).toEqual(['ari:pbx1']);
    expect(sim.pbx.bridges().every((b) => b.channels.length === 0)).toBe(true); // nobody joined while deaf

    await readyzBecomes(d.url, 200, [], 15_000);
    await until(
      () => sim.pbx.bridges().some((b) => b.channels.length === 2),
      5000,
      () => `bridged after the reconnect:\n${d.output()}`,
    );
    expect(sim.pbx.bridges()[0]!.channels.sort()).toEqual([call.id, liveLeg(sim, 'PJSIP/2002')!].sort());
    await until(
      () => legRecords(sim, 'PJSIP/2001').length === 1 && legRecords(sim, 'PJSIP/2003').length === 1,
      5000,
      'the other legs hung up',
    );
    for (const r of [...legRecords(sim, 'PJSIP/2001'), ...legRecords(sim, 'PJSIP/2003')])
      expect(r).toMatchObject({ cause: 26, reason: 'answered_elsewhere' });

    await call.hangup();
    await until(
      () => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0,
      5000,
      'the agent hung up after the caller, the bridge gone',
    );
    await until(
      async () => (await store.listDispatches()).length === 0 && (await store.leaseHolder('agent:alice')) === null,
      5000,
      'no record or claim left',
    );
    await cleanStop(d);
  }, 45_000);

  it('half-open (frozen, no FIN) mid-ring and the caller hangs up meanwhile: the keepalive notices within a few ping intervals, /readyz names ari:pbx1 until the reconnect, then every leg is hung up within 15 s and alice rings for the next call', async () => {
    const rig = await startRig(cleanups);
    const { sim, store } = rig;
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const d = await startFaultDaemon(rig, { ariPingMs: ARI_PING_MS });
    await readyzBecomes(d.url, 200, [], 10_000);
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'three legs ringing');

    sim.faults.freezeAriWebsockets();
    const frozenAt = Date.now();
    // Reconnects refused for a while after the keepalive dropped the silent socket (detection takes
    // 2-3 ping intervals), so the time agentgate is deaf can be seen from outside.
    sim.ari.refuseWebsockets(3 * ARI_PING_MS + 2500);
    await call.hangup(); // no event reaches agentgate
    const detectedAt = await readyzBecomes(d.url, 503, ['ari:pbx1'], 3 * ARI_PING_MS + 2000);
    expect(detectedAt - frozenAt, 'silent ARI websocket noticed').toBeLessThan(3 * ARI_PING_MS + 1000);
    expect(ringing(sim)).toBe(3); // nobody told agentgate: the legs still ring

    await readyzBecomes(d.url, 200, [], 15_000);
    await until(
      () => sim.pbx.channels().length === 0,
      ORPHAN_LIMIT_MS,
      () => `every leg hung up after the reconnect:\n${d.output()}`,
    );
    expect(Date.now() - frozenAt).toBeLessThan(ORPHAN_LIMIT_MS);
    for (const ep of ['PJSIP/2001', 'PJSIP/2002', 'PJSIP/2003']) expect(legRecords(sim, ep)).toHaveLength(1);
    expect(sim.pbx.bridges()).toEqual([]);
    await until(
      async () => (await store.listDispatches()).length === 0 && (await store.leaseHolder('agent:alice')) === null,
      5000,
      'no record or claim left',
    );

    const next = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => ringing(sim) === 3, 5000, 'alice rung for the next call');
    await next.hangup();
    await until(() => sim.pbx.channels().length === 0, 5000, 'next call cleaned up');
    await cleanStop(d);
  }, 45_000);
});
