/**
 * Ring-all dispatch, end to end: the real dispatch service against the simulator over real ARI
 * sockets, with the memory Store and with Redis. Assertions are on what the simulated PBX saw:
 * which legs rang, what each phone was told on hang-up (cause 26 answered elsewhere vs 16 normal),
 * what the caller was sent back to the dialplan with, and that nothing is left behind.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Simulator, type HangupRecord } from '../../../src/sim/index.js';
import type { DispatchService } from '../../../src/app/dispatch-service.js';
import type { Store } from '../../../src/ports/store.js';
import { makeStore, scripts, startService, until, type StoreKind } from '../../support/dispatch-harness.js';

const legsOf = (sim: Simulator, resource: string): HangupRecord[] =>
  sim.pbx.hangupRecords().filter((r) => r.name.startsWith(`PJSIP/${resource}-`));
const liveLeg = (sim: Simulator, resource: string): string | undefined =>
  sim.pbx.channels().find((c) => c.name.startsWith(`PJSIP/${resource}-`))?.id;

for (const kind of ['memory', 'redis'] as StoreKind[]) {
  describe(`ring-all dispatch (${kind} Store)`, () => {
    let sim: Simulator;
    let store: Store;
    let cleanup: () => Promise<void>;
    let svc: DispatchService;

    beforeEach(async () => {
      sim = await Simulator.start();
      ({ store, cleanup } = await makeStore(kind));
      svc = await startService(sim, store);
    });
    afterEach(async () => {
      await svc.stop();
      await sim.stop();
      await cleanup();
    });

    it('rings every address; the second answers first and is bridged; the others end with cause 26; agent hang-up ends the call', async () => {
      scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'answer', afterMs: 150 }, 'PJSIP/2003': { kind: 'ring' } });
      const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
      await until(() => sim.pbx.bridges().some((b) => b.channels.length === 2), 5000, 'bridge with caller and winner');
      const bridge = sim.pbx.bridges()[0]!;
      const winner = liveLeg(sim, '2002')!;
      expect(bridge.channels.sort()).toEqual([call.id, winner].sort());
      await until(() => legsOf(sim, '2001').length === 1 && legsOf(sim, '2003').length === 1, 3000, 'losers hung up');
      for (const r of [...legsOf(sim, '2001'), ...legsOf(sim, '2003')])
        expect(r).toMatchObject({ cause: 26, reason: 'answered_elsewhere', answered: false });
      expect(sim.pbx.channel(call.id)?.state).toBe('Up');

      sim.pbx.remoteHangup(winner, 16);
      const ended = await call.ended();
      expect(ended.how).toBe('hungup');
      await until(() => sim.pbx.bridges().length === 0, 3000, 'bridge destroyed');
      expect(sim.pbx.channels()).toEqual([]);
      await until(async () => (await store.queryAudit({ kind: 'dispatch', action: 'dispatch' })).length === 1, 3000, 'audit');
      const [audit] = await store.queryAudit({ kind: 'dispatch', action: 'dispatch' });
      expect(audit).toMatchObject({ actor: 'alice', result: 'ANSWERED', detail: { winner: 'PJSIP/2002', hungUpBy: 'agent' } });
      expect((audit!.detail.legs as unknown[]).length).toBe(3);
    });

    it('caller hangs up while legs ring: every leg ends with normal clearing (cause 16), no bridge, the agent can be called at once', async () => {
      scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
      const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
      await until(
        () =>
          ['2001', '2002', '2003'].every((r) => sim.pbx.channels().some((c) => c.name.startsWith(`PJSIP/${r}-`) && c.state === 'Ringing')),
        3000,
        'three legs ringing',
      );
      await call.hangup();
      await until(() => sim.pbx.channels().length === 0, 3000, 'every leg hung up');
      for (const r of ['2001', '2002', '2003']) expect(legsOf(sim, r)[0]).toMatchObject({ cause: 16, reason: 'normal' });
      expect(sim.pbx.bridges()).toEqual([]);
      const again = await sim.dialIn({ args: ['dispatch', 'alice'] });
      await until(() => sim.pbx.channels().filter((c) => c.name.startsWith('PJSIP/200')).length === 3, 3000, 'rung again');
      await again.hangup();
      await until(() => sim.pbx.channels().length === 0, 3000, 'clean');
    });

    const outcomes: Array<
      [
        string,
        Record<string, { kind: 'busy' } | { kind: 'unavailable' } | { kind: 'noanswer'; afterMs: number } | { kind: 'ring' }>,
        string[],
        string,
      ]
    > = [
      [
        'all busy',
        { 'PJSIP/2001': { kind: 'busy' }, 'PJSIP/2002': { kind: 'busy' }, 'PJSIP/2003': { kind: 'busy' } },
        ['dispatch', 'alice'],
        'BUSY',
      ],
      [
        'all unavailable',
        { 'PJSIP/2001': { kind: 'unavailable' }, 'PJSIP/2002': { kind: 'unavailable' }, 'PJSIP/2003': { kind: 'unavailable' } },
        ['dispatch', 'alice'],
        'UNAVAILABLE',
      ],
      [
        'no answer',
        {
          'PJSIP/2001': { kind: 'noanswer', afterMs: 100 },
          'PJSIP/2002': { kind: 'noanswer', afterMs: 150 },
          'PJSIP/2003': { kind: 'noanswer', afterMs: 200 },
        },
        ['dispatch', 'alice'],
        'NOANSWER',
      ],
      [
        'overall timeout from the dialplan argument',
        { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } },
        ['dispatch', 'alice', '1'],
        'TIMEOUT',
      ],
      ['agent with inbound calls off', {}, ['dispatch', 'bob'], 'NOAGENT'],
      ['unknown agent', {}, ['dispatch', 'nobody'], 'NOAGENT'],
      ['bad timeout argument', {}, ['dispatch', 'alice', 'soon'], 'NOAGENT'],
    ];
    for (const [name, map, args, result] of outcomes) {
      it(`${name}: the caller continues in the dialplan with AGENTGATE_RESULT=${result}`, async () => {
        scripts(sim, map);
        const call = await sim.dialIn({ args });
        const ended = await call.ended();
        expect(ended.how).toBe('continued');
        expect(ended.variables.AGENTGATE_RESULT).toBe(result);
        expect(ended.continuedTo).toMatchObject({ context: 'incoming', exten: '100', priority: 2 });
        await until(() => sim.pbx.channels().length === 0, 3000, 'no leg left');
      });
    }

    it('a second leg answering in the same instant is hung up as answered elsewhere; exactly one is bridged', async () => {
      for (let i = 0; i < 5; i++) {
        scripts(sim, {
          'PJSIP/2001': { kind: 'answer', afterMs: 40 },
          'PJSIP/2002': { kind: 'answer', afterMs: 40 },
          'PJSIP/2003': { kind: 'answer', afterMs: 41 },
        });
        const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
        await until(() => sim.pbx.bridges().some((b) => b.channels.length === 2), 3000, 'bridged');
        await until(() => sim.pbx.channels().length === 2, 3000, 'losers gone');
        const bridged = sim.pbx.bridges()[0]!.channels;
        expect(bridged).toContain(call.id);
        await call.hangup();
        await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'clean');
      }
      const legs = sim.pbx.hangupRecords().filter((r) => r.name.startsWith('PJSIP/200'));
      expect(legs).toHaveLength(15);
      expect(legs.filter((r) => r.reason === 'answered_elsewhere' && r.cause === 26)).toHaveLength(10);
    });

    it('property: three legs answering at random moments (many in the same millisecond): exactly one bridged with the caller, the others hung up as answered elsewhere, nothing left', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 })),
          async ([a, b, c]) => {
            scripts(sim, {
              'PJSIP/2001': { kind: 'answer', afterMs: a },
              'PJSIP/2002': { kind: 'answer', afterMs: b },
              'PJSIP/2003': { kind: 'answer', afterMs: c },
            });
            const before = sim.pbx.hangupRecords().length;
            const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
            await until(() => sim.pbx.bridges().some((x) => x.channels.length === 2), 3000, 'bridged');
            await until(() => sim.pbx.channels().length === 2, 3000, 'the two others hung up');
            const [bridge, ...more] = sim.pbx.bridges();
            expect(more).toEqual([]);
            expect(bridge!.channels).toContain(call.id);
            const losers = sim.pbx.hangupRecords().slice(before);
            expect(losers).toHaveLength(2);
            for (const r of losers) expect(r).toMatchObject({ cause: 26, reason: 'answered_elsewhere' });
            await call.hangup();
            await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'clean');
            await until(async () => (await store.leaseHolder('agent:alice')) === null, 3000, 'alice free again');
          },
        ),
        { numRuns: 12 },
      );
    });

    it('a leg answering after its dispatch ended (its hang-up was lost) is hung up at once, never left up', async () => {
      scripts(sim, { 'PJSIP/2001': { kind: 'answer', afterMs: 400 }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
      const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
      await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing');
      const late = liveLeg(sim, '2001')!;
      sim.faults.failRest(new RegExp(`DELETE /channels/${late}`), 500, { message: 'Internal Server Error' });
      await call.hangup();
      await until(() => legsOf(sim, '2002').length === 1 && legsOf(sim, '2003').length === 1, 3000, 'the other legs hung up');
      expect(sim.pbx.channel(late)).toBeDefined(); // its hang-up failed: it rings on
      sim.faults.clear();
      await until(() => legsOf(sim, '2001').length === 1, 3000, 'the late answer hung up');
      expect(legsOf(sim, '2001')[0]).toMatchObject({ answered: true, reason: 'answered_elsewhere', cause: 26 });
      expect(sim.pbx.bridges()).toEqual([]);
      expect(sim.pbx.channels()).toEqual([]);
    });

    it('ARI websocket dropped mid-ring and a leg answered while agentgate was deaf: after reconnect it is bridged, the others hung up as answered elsewhere', async () => {
      scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'answer', afterMs: 300 }, 'PJSIP/2003': { kind: 'ring' } });
      const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
      await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing');
      sim.faults.dropAriWebsockets(600); // the Dial ANSWER of 2002 is lost: Asterisk replays nothing
      await until(() => sim.pbx.channels().some((c) => c.name.startsWith('PJSIP/2002-') && c.state === 'Up'), 3000, '2002 answered');
      expect(svc.connected()).toBe(false);
      await until(() => sim.pbx.bridges().some((b) => b.channels.length === 2), 5000, 'bridged after reconnect');
      expect(sim.pbx.bridges()[0]!.channels.sort()).toEqual([call.id, liveLeg(sim, '2002')!].sort());
      await until(() => legsOf(sim, '2001').length === 1 && legsOf(sim, '2003').length === 1, 3000, 'the others hung up');
      for (const r of [...legsOf(sim, '2001'), ...legsOf(sim, '2003')])
        expect(r).toMatchObject({ cause: 26, reason: 'answered_elsewhere' });
      await call.hangup();
      await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'clean');
    });

    it('ARI websocket dropped mid-ring and the caller gone meanwhile: reconciliation hangs up every leg', async () => {
      scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'ring' }, 'PJSIP/2003': { kind: 'ring' } });
      const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
      await until(() => sim.pbx.channels().filter((c) => c.state === 'Ringing').length === 3, 3000, 'ringing');
      sim.faults.dropAriWebsockets();
      await call.hangup(); // the app is deaf: no event reaches it
      await until(() => sim.pbx.channels().length === 0, 10_000, 'legs cleaned up after reconnect');
      expect(sim.pbx.bridges()).toEqual([]);
      expect(svc.connected()).toBe(true);
    });
  });
}
