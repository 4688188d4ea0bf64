/**
 * #12.5 at the service level (real simulator, real Redis, short lease TTLs): agent claims are short
 * leases renewed while the dispatch lives, a dead instance's dispatches are adopted by a live one,
 * and a talking call whose owner died is left up and cleaned up when it ends.
 * test/faults/ does the same with the daemon as a real process and SIGKILL.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { startInstanceHeartbeat, type InstanceHeartbeat } from '../../../src/app/instance-heartbeat.js';
import { systemClock, type Clock } from '../../../src/ports/clock.js';
import { silentLogger } from '../../../src/log.js';
import type { Store } from '../../../src/ports/store.js';
import { makeStore, scripts, startService, until } from '../../support/dispatch-harness.js';
import { deletePrefix, uniquePrefix } from '../../support/redis.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
  cleanups.length = 0;
});

const RING3 = { 'PJSIP/2001': { kind: 'ring' as const }, 'PJSIP/2002': { kind: 'ring' as const }, 'PJSIP/2003': { kind: 'ring' as const } };

async function shared(): Promise<{ prefix: string; a: Store; b: Store }> {
  const prefix = uniquePrefix();
  const a = await makeStore('redis', { prefix });
  const b = await makeStore('redis', { prefix });
  cleanups.push(() => deletePrefix(prefix), a.cleanup, b.cleanup);
  return { prefix, a: a.store, b: b.store };
}

/** A heartbeat whose process can "die": its timers stop firing, nothing is released (like SIGKILL). */
async function crashableHeartbeat(store: Store, instanceId: string, ttlMs: number): Promise<{ hb: InstanceHeartbeat; die: () => void }> {
  const real = systemClock();
  let dead = false;
  const clock: Clock = {
    now: () => real.now(),
    setTimer: (ms, fn) => real.setTimer(ms, () => !dead && fn()),
    cancelTimer: (h) => real.cancelTimer(h),
  };
  const hb = await startInstanceHeartbeat({
    store,
    clock,
    logger: silentLogger(),
    instanceId,
    ttlMs,
    pid: Math.floor(Math.random() * 1e6) + 1e6,
    processAlive: () => true,
  });
  cleanups.push(() => (dead ? undefined : hb.stop()));
  return { hb, die: () => (dead = true) };
}

describe('agent claims are short leases (#12.5)', () => {
  it('the claim of a dispatch whose process died lapses within 3 lease TTLs: the agent rings again from another instance (was: ring time + 1 h of NOAGENT)', async () => {
    const { a, b } = await shared();
    const simA = await Simulator.start();
    const simB = await Simulator.start();
    cleanups.push(
      () => simA.stop(),
      () => simB.stop(),
    );
    scripts(simA, RING3);
    scripts(simB, { 'PJSIP/2001': { kind: 'answer', afterMs: 20 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const svcA = await startService(simA, a, { instance: 'inst-a', leaseTtlMs: 1000, dispatch: { ringTimeoutSec: 60 } });
    const svcB = await startService(simB, b, { instance: 'inst-b', leaseTtlMs: 1000 });
    cleanups.push(() => svcB.stop());
    await simA.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => simA.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing on A');
    await svcA.stop(); // the process is gone: nothing released
    const died = Date.now();
    await until(async () => (await b.leaseHolder('agent:alice')) === null, 5000, "the dead dispatch's claim to lapse");
    expect(Date.now() - died).toBeLessThanOrEqual(3000 + 500);
    const next = await simB.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => simB.pbx.bridges().some((x) => x.channels.length === 2), 3000, 'alice talking on B');
    await next.hangup();
  });

  it('a claim is renewed while its call rings and talks, far beyond its TTL, and released at the end', async () => {
    const { a } = await shared();
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    scripts(sim, RING3);
    const svc = await startService(sim, a, { instance: 'inst-a', leaseTtlMs: 300, dispatch: { ringTimeoutSec: 60 } });
    cleanups.push(() => svc.stop());
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing');
    const holder = (await a.leaseHolder('agent:alice'))!.holder;
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 700)); // past the 900 ms claim TTL each time
      expect((await a.leaseHolder('agent:alice'))?.holder).toBe(holder);
    }
    const second = await sim.dialIn({ args: ['dispatch', 'alice'] });
    expect((await second.ended()).variables.AGENTGATE_RESULT).toBe('NOAGENT');
    await call.hangup();
    await until(async () => (await a.leaseHolder('agent:alice')) === null, 2000, 'claim released');
  });

  it('Redis emptied while ringing: the claim and the dispatch record are written again at the next renewal', async () => {
    const { prefix, a } = await shared();
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    scripts(sim, RING3);
    const svc = await startService(sim, a, { instance: 'inst-a', leaseTtlMs: 400, dispatch: { ringTimeoutSec: 60 } });
    cleanups.push(() => svc.stop());
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing');
    const holder = (await a.leaseHolder('agent:alice'))!.holder;
    await deletePrefix(prefix);
    await until(
      async () => (await a.leaseHolder('agent:alice'))?.holder === holder && (await a.listDispatches({ owner: 'inst-a' })).length === 1,
      2000,
      'claim and record back',
    );
    await call.hangup();
    await until(
      async () => (await a.leaseHolder('agent:alice')) === null && (await a.listDispatches()).length === 0,
      2000,
      'released and deleted',
    );
  });

  it('Redis emptied and the agent given to another call meanwhile: the ringing call stops (legs hung up, caller continued NOAGENT)', async () => {
    const { prefix, a } = await shared();
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    scripts(sim, RING3);
    const svc = await startService(sim, a, { instance: 'inst-a', leaseTtlMs: 1000, dispatch: { ringTimeoutSec: 60 } });
    cleanups.push(() => svc.stop());
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing');
    await deletePrefix(prefix);
    expect((await a.acquireLease('agent:alice', 'another-call', 10_000)).ok).toBe(true);
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOAGENT' } });
    await until(() => sim.pbx.channels().length === 0, 2000, 'legs hung up');
    for (const r of sim.pbx.hangupRecords().filter((x) => x.name.startsWith('PJSIP/200')))
      expect(r).toMatchObject({ cause: 16, reason: 'normal' });
    expect((await a.leaseHolder('agent:alice'))?.holder).toBe('another-call');
  });

  it('the Store down when a call arrives: the caller goes on at once (NOAGENT), never left waiting in Stasis', async () => {
    const { store, cleanup } = await makeStore('memory');
    cleanups.push(cleanup);
    const failing: Store = {
      ...store,
      acquireLease: () => Promise.reject(new Error('Redis down')),
      putDispatch: () => Promise.reject(new Error('Redis down')),
    };
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    scripts(sim, RING3);
    const svc = await startService(sim, failing, { instance: 'inst-a' });
    cleanups.push(() => svc.stop());
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    const ended = await Promise.race([call.ended(), new Promise((r) => setTimeout(() => r('still in Stasis'), 3000))]);
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOAGENT' } });
    expect(sim.pbx.hangupRecords().filter((r) => r.name.startsWith('PJSIP/200'))).toEqual([]);
  });
});

describe("a dead instance's dispatches are adopted by a live one (#12.5)", () => {
  it('ringing: the survivor hangs the legs up, sends the caller on NOANSWER, frees the agent and the record, within ~2 lease TTLs', async () => {
    const { a, b } = await shared();
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    scripts(sim, RING3);
    const A = await crashableHeartbeat(a, 'inst-a', 1000);
    const B = await crashableHeartbeat(b, 'inst-b', 1000);
    const svcA = await startService(sim, a, {
      instance: 'inst-a',
      app: 'agentgate-a',
      leaseTtlMs: 1000,
      heartbeat: A.hb,
      dispatch: { ringTimeoutSec: 60 },
    });
    const svcB = await startService(sim, b, { instance: 'inst-b', app: 'agentgate-b', leaseTtlMs: 1000, heartbeat: B.hb });
    cleanups.push(() => svcB.stop());
    const call = await sim.dialIn({ app: 'agentgate-a', args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing');
    A.die();
    await svcA.stop();
    const died = Date.now();
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOANSWER' } });
    expect(Date.now() - died).toBeLessThan(2500);
    await until(() => sim.pbx.channels().length === 0, 2000, 'legs hung up');
    await until(async () => (await b.listDispatches()).length === 0, 2000, 'record removed');
    expect(await b.leaseHolder('agent:alice')).toBeNull();
    const recovered = await b.queryAudit({ kind: 'dispatch', result: 'RECOVERED' });
    expect(recovered).toHaveLength(1);
    // Never answered: the call's story is only its recovery, written by the survivor.
    expect(await b.queryAudit({ call: recovered[0]!.call! })).toEqual(recovered);
  });

  it('talking: the conversation is NOT cut; the survivor holds the claim while it lasts and, when the caller hangs up, hangs up the agent and frees everything', async () => {
    const { a, b } = await shared();
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 20 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const A = await crashableHeartbeat(a, 'inst-a', 1000);
    const B = await crashableHeartbeat(b, 'inst-b', 1000);
    const svcA = await startService(sim, a, { instance: 'inst-a', app: 'agentgate-a', leaseTtlMs: 1000, heartbeat: A.hb });
    const svcB = await startService(sim, b, { instance: 'inst-b', app: 'agentgate-b', leaseTtlMs: 1000, heartbeat: B.hb });
    cleanups.push(() => svcB.stop());
    const call = await sim.dialIn({ app: 'agentgate-a', args: ['dispatch', 'alice'] });
    await until(
      () => sim.pbx.bridges().some((x) => x.channels.length === 2) && sim.pbx.channels().length === 2,
      3000,
      'alice talking, other legs gone',
    );
    await until(async () => (await a.listDispatches())[0]?.data?.talking === true, 2000, 'recorded as talking');
    const dispatchId = (await a.listDispatches())[0]!.id;
    A.die();
    await svcA.stop();
    await until(async () => (await b.listDispatches())[0]?.owner === 'inst-b', 5000, 'adopted by inst-b');
    // Past the point where a ringing call would have been cleaned up: still talking, claim held for it.
    await new Promise((r) => setTimeout(r, 4000)); // longer than the 3 s claim TTL: renewed by inst-b
    expect(sim.pbx.bridges().some((x) => x.channels.length === 2)).toBe(true);
    expect(sim.pbx.channels()).toHaveLength(2);
    expect((await b.leaseHolder('agent:alice'))?.holder).toBe(dispatchId);
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0, 3000, 'the agent hung up after the caller');
    expect(sim.pbx.hangupRecords().find((r) => r.name.startsWith('PJSIP/2001-'))).toMatchObject({ cause: 16 });
    await until(() => sim.pbx.bridges().length === 0, 2000, 'bridge destroyed');
    await until(
      async () => (await b.listDispatches()).length === 0 && (await b.leaseHolder('agent:alice')) === null,
      2000,
      'record and claim gone',
    );
    expect(await b.queryAudit({ kind: 'dispatch', result: 'ANSWERED' })).toHaveLength(1);
    // One story across both instances: answered under inst-a, ended under inst-b (newest first).
    expect((await b.queryAudit({ call: dispatchId })).map((e) => [e.action, e.result, e.actor, e.detail.adopted])).toEqual([
      ['dispatch', 'ANSWERED', 'alice', true],
      ['answer', 'answered', 'alice', undefined],
    ]);
  });

  it('talking when the process restarts with the same id: the call goes on; when the agent hangs up the caller is hung up at once', async () => {
    const { a, b } = await shared();
    const sim = await Simulator.start();
    cleanups.push(() => sim.stop());
    scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 20 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const first = await startService(sim, a, { instance: 'inst-x' });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.bridges().some((x) => x.channels.length === 2) && sim.pbx.channels().length === 2, 3000, 'talking');
    await until(async () => (await a.listDispatches())[0]?.data?.talking === true, 2000, 'recorded as talking');
    await first.stop();
    const second = await startService(sim, b, { instance: 'inst-x' });
    cleanups.push(() => second.stop());
    await until(() => second.connected(), 3000, 'connected');
    await new Promise((r) => setTimeout(r, 500)); // reconcile ran
    expect(sim.pbx.channels()).toHaveLength(2); // before #12.5 the restart hung the conversation up
    const agentLeg = sim.pbx.channels().find((c) => c.name.startsWith('PJSIP/2001-'))!;
    sim.pbx.remoteHangup(agentLeg.id, 16);
    const ended = await call.ended();
    expect(ended.how).toBe('hungup');
    await until(
      async () => (await b.listDispatches()).length === 0 && (await b.leaseHolder('agent:alice')) === null,
      2000,
      'record and claim gone',
    );
  });
});
