/**
 * Issue 15: ARI commands whose order matters reach Asterisk in that order even when the network
 * reorders them. REST requests travel on separate keep-alive connections, and a real Asterisk under
 * load runs a later request before an earlier one; the simulator's delayOneRest holds one request
 * while later ones overtake it. The simulator records what the dialplan saw when the caller was
 * continued (a variable set after /continue is not seen), so these tests assert what the dialplan
 * after Stasis() would have read.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import type { DispatchService, TimelineEvent } from '../../../src/app/dispatch-service.js';
import { AriRest } from '../../../src/adapters/ari/rest.js';
import type { Store } from '../../../src/ports/store.js';
import { makeStore, scripts, startService, until } from '../../support/dispatch-harness.js';
import { recordEvents } from '../../support/ari-events.js';

/** POST /channels/{id}/variable: the request the race in issue 15 lost. */
const SET_VAR = /^POST \/channels\/[^/]+\/variable$/;

describe('ARI command order (issue 15)', () => {
  let sim: Simulator;
  let store: Store;
  let cleanup: () => Promise<void>;
  let svc: DispatchService;

  beforeEach(async () => {
    sim = await Simulator.start();
    ({ store, cleanup } = await makeStore('memory'));
    svc = await startService(sim, store);
  });
  afterEach(async () => {
    await svc.stop();
    await sim.stop();
    await cleanup();
  });

  it('a busy agent: AGENTGATE_RESULT=BUSY reaches the dialplan even when its /variable request is overtaken by the /continue', async () => {
    scripts(sim, { 'PJSIP/2001': { kind: 'busy' }, 'PJSIP/2002': { kind: 'busy' }, 'PJSIP/2003': { kind: 'busy' } });
    sim.faults.delayOneRest(SET_VAR, 300);
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    const ended = await call.ended();
    // Before the fix the /continue overtook the /variable: the dialplan read an empty result and the
    // caller went to the overflow queue instead of Busy().
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'BUSY' } });
    await until(() => sim.pbx.channels().length === 0, 3000, 'no leg left');
  });

  it('TIMEOUT after the overall timeout: the result is set before the caller is continued, also with the /variable held', async () => {
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    sim.faults.delayOneRest(SET_VAR, 300);
    const call = await sim.dialIn({ args: ['dispatch', 'alice', '1'] });
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'TIMEOUT' } });
  });

  it('AGENTGATE_ANSWERED_BY is on the caller before agentgate hangs it up (agent leaves at once), also with the /variable held', async () => {
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'answer', afterMs: 30 }, 'PJSIP/2003': { kind: 'ring' } });
    sim.faults.delayOneRest(SET_VAR, 300);
    // agentgate's own word that the join answered (the simulator's bridge alone would race its HTTP answer).
    const bridged = new Promise<void>((resolve) => svc.on('timeline', (t: TimelineEvent) => t.kind === 'bridged' && resolve()));
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await bridged;
    const winner = sim.pbx.bridges()[0]!.channels.find((id) => id !== call.id)!;
    sim.pbx.remoteHangup(winner, 16);
    const ended = await call.ended();
    // Before the fix the hang-up overtook the variable: the caller's CDR and hang-up handler never saw who answered.
    expect(ended).toMatchObject({ how: 'hungup', variables: { AGENTGATE_ANSWERED_BY: 'PJSIP/2002' } });
  });

  it("with the caller's /answer held, the winner is bridged at once and the caller is answered all the same, never before the agent (late answer, issue 13)", async () => {
    scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 30 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    sim.faults.delayOneRest(/^POST \/channels\/[^/]+\/answer$/, 200);
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    // The caller's state when the agent answered: billing starts only after that.
    const atAgentAnswer = sim
      .waitForEvent((e) => e.type === 'Dial' && e.dialstatus === 'ANSWER', 3000)
      .then(() => sim.pbx.channel(call.id)?.state);
    await sim.waitForEvent((e) => e.type === 'ChannelEnteredBridge' && (e.channel as { id: string }).id === call.id, 3000);
    expect(await atAgentAnswer).not.toBe('Up');
    // The join did not wait for the held /answer (issue 13: one round trip on the critical path) ...
    expect(sim.pbx.channel(call.id)?.state).not.toBe('Up');
    // ... and the held /answer still answers the caller, in the bridge.
    await until(() => sim.pbx.channel(call.id)?.state === 'Up', 3000, 'the caller answered');
    expect(sim.pbx.bridges()[0]?.channels).toContain(call.id);
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0, 3000, 'clean');
  });
});

describe('the simulator models the race (issue 15)', () => {
  it('a variable set after /continue is not seen by the dialplan; delayOneRest holds one request while a later one overtakes it', async () => {
    const sim = await Simulator.start();
    const rec = await recordEvents(sim);
    const rest = new AriRest({ url: sim.ariUrl, username: 'agentgate', password: 'secret', timeoutMs: 2000 });
    try {
      const call = await sim.dialIn({ args: ['x'] });
      await until(() => rec.starts.includes(call.id), 3000, 'StasisStart');
      sim.faults.delayOneRest(SET_VAR, 200);
      // Sent first, held: the /continue sent after it on another connection runs first.
      const setVar = rest.setVar(call.id, 'AGENTGATE_RESULT', 'BUSY').catch((err: unknown) => err);
      await rest.continueInDialplan(call.id);
      const ended = await call.ended();
      expect(ended.how).toBe('continued');
      expect(ended.variables.AGENTGATE_RESULT).toBeUndefined();
      await setVar;
      // Only one request was held: the next /variable goes through at once.
      const again = await sim.dialIn({ args: ['y'] });
      await until(() => rec.starts.includes(again.id), 3000, 'StasisStart');
      const t0 = Date.now();
      await rest.setVar(again.id, 'AGENTGATE_RESULT', 'NOANSWER');
      expect(Date.now() - t0).toBeLessThan(150);
      await rest.continueInDialplan(again.id);
      expect((await again.ended()).variables.AGENTGATE_RESULT).toBe('NOANSWER');
    } finally {
      rest.close();
      await rec.events.stop();
      await sim.stop();
    }
  });
});
