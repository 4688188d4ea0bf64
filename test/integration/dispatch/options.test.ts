/**
 * What an admin configures or the directory says, as the PBX sees it: offline and duplicate
 * addresses, early answer, a configured fallback, AGENTGATE_ANSWERED_BY, and pino JSON lines that
 * all carry the call id.
 */
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { createLogger } from '../../../src/log.js';
import { makeStore, scripts, startService, until } from '../../support/dispatch-harness.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  cleanups.length = 0;
});

const carol = {
  id: 'carol',
  name: 'Carol',
  role: 'agent',
  scope: 'call_center_agent',
  addresses: ['PJSIP/2001', 'PJSIP/2009', 'PJSIP/2001', 'PJSIP/2002'],
  flags: { inbound: true },
};

async function setup(over: Parameters<typeof startService>[2] = {}): Promise<Simulator> {
  const sim = await Simulator.start();
  const { store, cleanup } = await makeStore('memory');
  const svc = await startService(sim, store, over);
  cleanups.push(
    cleanup,
    () => sim.stop(),
    () => svc.stop(),
  );
  return sim;
}

describe('dispatch options', () => {
  it('an address Asterisk reports offline is not rung, a duplicate address is rung once', async () => {
    const sim = await setup({ users: [carol] });
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2009': { kind: 'offline' } });
    const call = await sim.dialIn({ args: ['dispatch', 'carol'] });
    await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 2, 3000, 'two legs ringing');
    await new Promise((r) => setTimeout(r, 100)); // a third leg would have been created by now
    const legs = sim.pbx
      .channels()
      .filter((c) => c.id !== call.id)
      .map((c) => c.name.split('-')[0])
      .sort();
    expect(legs).toEqual(['PJSIP/2001', 'PJSIP/2002']);
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0, 3000, 'clean');
  });

  it('every address offline: the caller continues at once with AGENTGATE_RESULT=UNAVAILABLE, nothing rung', async () => {
    const sim = await setup({ users: [carol] });
    scripts(sim, { 'PJSIP/2001': { kind: 'offline' }, 'PJSIP/2002': { kind: 'offline' }, 'PJSIP/2009': { kind: 'offline' } });
    const call = await sim.dialIn({ args: ['dispatch', 'carol'] });
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', variables: { AGENTGATE_RESULT: 'UNAVAILABLE' } });
    expect(sim.pbx.hangupRecords().filter((r) => r.name.startsWith('PJSIP/200'))).toEqual([]);
  });

  it('answer: early answers the caller before any leg answers; late (default) only when the agent answers, with AGENTGATE_ANSWERED_BY set', async () => {
    const early = await setup({ dispatch: { answer: 'early' } });
    scripts(early, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const a = await early.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => early.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'legs ringing');
    await until(() => early.pbx.channel(a.id)?.state === 'Up', 3000, 'caller answered early');
    expect(early.pbx.bridges().filter((x) => x.channels.length > 0)).toEqual([]); // answered, yet nobody to talk to

    const late = await setup();
    scripts(late, { 'PJSIP/2001': { kind: 'answer', afterMs: 300 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
    const b = await late.dialIn({ args: ['dispatch', 'alice'] });
    await until(() => late.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'legs ringing');
    expect(late.pbx.channel(b.id)?.state).not.toBe('Up');
    await until(() => late.pbx.bridges().some((x) => x.channels.length === 2), 3000, 'bridged');
    expect(late.pbx.channel(b.id)?.state).toBe('Up');
    await until(() => late.pbx.variable(b.id, 'AGENTGATE_ANSWERED_BY') === 'PJSIP/2001', 3000, 'AGENTGATE_ANSWERED_BY');
    await a.hangup();
    await b.hangup();
  });

  it('a configured fallback is where the caller continues after no answer', async () => {
    const sim = await setup({ dispatch: { fallback: { context: 'queues', extension: 'support', priority: 3 } } });
    scripts(sim, { 'PJSIP/2001': { kind: 'busy' }, 'PJSIP/2002': { kind: 'busy' }, 'PJSIP/2003': { kind: 'busy' } });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    const ended = await call.ended();
    expect(ended).toMatchObject({
      how: 'continued',
      variables: { AGENTGATE_RESULT: 'BUSY' },
      continuedTo: { context: 'queues', exten: 'support', priority: 3 },
    });
  });

  it('every log line about a call is pino JSON carrying its call id', async () => {
    const sim = await Simulator.start();
    const { store, cleanup } = await makeStore('memory');
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const svc = await startService(sim, store, { users: [carol], instance: 'log-test', logger: createLogger({ level: 'debug' }, sink) });
    cleanups.push(
      cleanup,
      () => sim.stop(),
      () => svc.stop(),
    );
    scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 50 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2009': { kind: 'offline' } });
    sim.faults.failRest(/POST \/channels\/[^/]+-leg2\/dial/, 500, { message: 'Internal Server Error' });
    const call = await sim.dialIn({ args: ['dispatch', 'carol'] });
    await until(() => sim.pbx.bridges().some((b) => b.channels.length === 2), 3000, 'bridged');
    await call.hangup();
    await until(() => lines.some((l) => l.msg === 'call ended'), 3000, 'the ended line');
    const aboutCall = lines.filter((l) => l.callerChannel === call.id);
    expect(aboutCall.filter((l) => (l.level as number) >= 30).map((l) => l.msg)).toEqual([
      'offline addresses skipped',
      'call ringing',
      'dial failed',
      'call ended',
    ]);
    const ids = new Set(aboutCall.map((l) => l.callId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^log-test-/);
    expect(
      aboutCall.every(
        (l) => l.service === 'agentgate' && l.component === 'dispatch' && typeof l.level === 'number' && typeof l.time === 'number',
      ),
    ).toBe(true);
    // No line that mentions this call lacks its id.
    expect(lines.filter((l) => JSON.stringify(l).includes(call.id) && l.callId === undefined)).toEqual([]);
  });
});
