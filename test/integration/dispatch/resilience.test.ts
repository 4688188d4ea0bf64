/**
 * Dispatch when things go wrong: the winner vanishing before the bridge, the agent busy through
 * another instance on another Asterisk (one shared Redis), and a service stopping mid-ring.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { makeStore, scripts, startService, until } from '../../support/dispatch-harness.js';
import { deletePrefix, uniquePrefix } from '../../support/redis.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups.length = 0;
});

describe('dispatch resilience', () => {
  it('the winner hangs up before the bridge completes: the other legs keep ringing and the next answer wins', async () => {
    const sim = await Simulator.start();
    const { store, cleanup } = await makeStore('memory');
    const svc = await startService(sim, store);
    cleanups.push(
      cleanup,
      () => sim.stop(),
      () => svc.stop(),
    );
    scripts(sim, {
      'PJSIP/2001': { kind: 'answer-then-hangup', afterMs: 50, hangupAfterMs: 5 },
      'PJSIP/2002': { kind: 'answer', afterMs: 400 },
      'PJSIP/2003': { kind: 'ring' },
    });
    sim.faults.delayRest(/addChannel/, 100); // the first bridge attempt is still in flight when 2001 hangs up
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.bridges().some((b) => b.channels.length === 2), 5000, 'bridged with the second answer');
    const bridged = sim.pbx.bridges().find((b) => b.channels.length === 2)!.channels;
    expect(bridged).toContain(call.id);
    expect(sim.pbx.channel(bridged.find((id) => id !== call.id)!)?.name).toMatch(/^PJSIP\/2002-/);
    await until(() => sim.pbx.hangupRecords().some((r) => r.name.startsWith('PJSIP/2003-')), 3000, '2003 hung up');
    expect(sim.pbx.hangupRecords().find((r) => r.name.startsWith('PJSIP/2003-'))).toMatchObject({
      cause: 26,
      reason: 'answered_elsewhere',
    });
  });

  it('configured onWinnerHangupBeforeBridge: fail: the winner vanishing before the bridge ends the call NOANSWER and the other legs are hung up', async () => {
    const sim = await Simulator.start();
    const { store, cleanup } = await makeStore('memory');
    const svc = await startService(sim, store, { dispatch: { onWinnerHangupBeforeBridge: 'fail' } });
    cleanups.push(
      cleanup,
      () => sim.stop(),
      () => svc.stop(),
    );
    scripts(sim, {
      'PJSIP/2001': { kind: 'answer-then-hangup', afterMs: 50, hangupAfterMs: 5 },
      'PJSIP/2002': { kind: 'answer', afterMs: 2000 },
      'PJSIP/2003': { kind: 'ring' },
    });
    sim.faults.delayRest(/addChannel/, 100);
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOANSWER' } });
    await until(() => sim.pbx.channels().length === 0, 3000, 'every leg hung up');
    for (const r of ['2002', '2003'])
      expect(sim.pbx.hangupRecords().find((x) => x.name.startsWith(`PJSIP/${r}-`))).toMatchObject({
        answered: false,
        cause: 16,
        reason: 'normal',
      });
    await until(() => sim.pbx.bridges().length === 0, 3000, 'the prepared bridge destroyed');
  });

  it('the caller hangs up while the bridge join is in flight: nothing left behind, not even a Store record', async () => {
    const sim = await Simulator.start();
    const { store, cleanup } = await makeStore('memory');
    const svc = await startService(sim, store);
    cleanups.push(
      cleanup,
      () => sim.stop(),
      () => svc.stop(),
    );
    scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 20 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    sim.faults.delayResponse(/addChannel/, 150); // joined at once, but agentgate hears of it late
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await sim.waitForEvent((e) => e.type === 'ChannelEnteredBridge' && (e.channel as { id: string }).id === call.id, 3000);
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0, 3000, 'every leg hung up');
    await new Promise((r) => setTimeout(r, 300)); // the delayed join answers meanwhile
    expect(await store.listDispatches()).toEqual([]);
    expect(await store.leaseHolder('agent:alice')).toBeNull();
  });

  it('an agent on a call through another instance and another Asterisk (shared Redis) is not offered a second call', async () => {
    const prefix = uniquePrefix();
    const simA = await Simulator.start();
    const simB = await Simulator.start();
    const a = await makeStore('redis', { prefix });
    const b = await makeStore('redis', { prefix });
    const svcA = await startService(simA, a.store, { instance: 'inst-a' });
    const svcB = await startService(simB, b.store, { instance: 'inst-b' });
    cleanups.push(
      () => deletePrefix(prefix),
      a.cleanup,
      b.cleanup,
      () => simA.stop(),
      () => simB.stop(),
      () => svcA.stop(),
      () => svcB.stop(),
    );
    scripts(simA, { 'PJSIP/2001': { kind: 'answer', afterMs: 20 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    scripts(simB, { 'PJSIP/2001': { kind: 'answer', afterMs: 20 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const first = await simA.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => simA.pbx.bridges().some((x) => x.channels.length === 2), 3000, 'alice talking on A');
    const second = await simB.dialIn({ args: ['dispatch', 'alice'] });
    const ended = await second.ended();
    expect(ended.variables.AGENTGATE_RESULT).toBe('NOAGENT');
    expect(simB.pbx.hangupRecords().filter((r) => r.name.startsWith('PJSIP/200'))).toEqual([]);
    // When alice hangs up on A, B can ring her again.
    await first.hangup();
    await until(() => simA.pbx.channels().length === 0, 3000, 'A clean');
    const third = await simB.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => simB.pbx.bridges().some((x) => x.channels.length === 2), 3000, 'alice talking on B');
    await third.hangup();
  });

  it('a dispatch service stopped mid-ring (no clean-up) and started again: it finds its dispatch in the Store, hangs up the legs and sends the caller on (process-kill.test.ts does the same with SIGKILL)', async () => {
    const prefix = uniquePrefix();
    const sim = await Simulator.start();
    const s1 = await makeStore('redis', { prefix });
    cleanups.push(
      () => deletePrefix(prefix),
      s1.cleanup,
      () => sim.stop(),
    );
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const first = await startService(sim, s1.store, { instance: 'inst-x' });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing');
    await first.stop(); // the process is gone: its memory with it; legs ring on, the caller waits in Stasis
    expect(sim.pbx.channels()).toHaveLength(4);
    const s2 = await makeStore('redis', { prefix });
    cleanups.push(s2.cleanup);
    const second = await startService(sim, s2.store, { instance: 'inst-x' });
    cleanups.push(() => second.stop());
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'NOANSWER' } });
    await until(() => sim.pbx.channels().length === 0, 3000, 'legs hung up');
    await until(async () => (await s2.store.listDispatches({ owner: 'inst-x' })).length === 0, 3000, 'record removed');
    expect(await s2.store.leaseHolder('agent:alice')).toBeNull();
    expect((await s2.store.queryAudit({ kind: 'dispatch', result: 'RECOVERED' })).length).toBe(1);
  });
});
