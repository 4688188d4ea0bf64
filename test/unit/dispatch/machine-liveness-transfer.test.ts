/**
 * Liveness of direct-transfer rounds (src/domain/dispatch/direct-transfer.ts): the fair random world
 * (world.ts) answers a talking call, the agent asks for a blind or warm transfer to bob, bob's devices
 * answer, are busy, ring out, reject, are unavailable or cannot be created, and at a random moment the
 * customer hangs up, someone ends the call, the agent leaves or hangs up, or the call is transferred to
 * a number or requeued. Whatever happens: the dispatch finishes with nothing pending, every claim
 * (alice's and bob's) released exactly once, every created leg ended, the bridge destroyed once, one
 * winner per round at most, and every other device of bob that answered hung up as answered elsewhere.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DispatchCommand } from '../../../src/domain/dispatch/machine.js';
import { play, transferScenarioArb, type Outcome } from './world.js';

const of = <T extends DispatchCommand['type']>(log: DispatchCommand[], type: T): Extract<DispatchCommand, { type: T }>[] =>
  log.filter((c): c is Extract<DispatchCommand, { type: T }> => c.type === type);

/** The round was started: the machine took the request (a call no longer talking ignores it, the app frees bob then). */
const roundStarted = (o: Outcome): boolean =>
  o.delivered.some((d) => d.event.type === 'DirectTransferRequested' && d.after.transfers === 1 && d.before.transfers === undefined);

/** Every claim release, in order: ReleaseClaim names its agent; ReleaseAgent is the claim of the call's agent at that step. */
function releases(o: Outcome): string[] {
  const out: string[] = [];
  for (const d of o.delivered)
    for (const c of d.commands) {
      if (c.type === 'ReleaseClaim') out.push(c.agentId);
      if (c.type === 'ReleaseAgent') out.push(d.after.agentId);
    }
  return out;
}

const RUNS = { numRuns: 800 };

describe('direct-transfer rounds (liveness, in a fair random world)', () => {
  it('most runs really transfer (the generator reaches the round, both answered and failed)', () => {
    const samples = fc.sample(transferScenarioArb, { numRuns: 1000, seed: 14 }).map(play);
    const outcomes = samples.flatMap((o) => of(o.log, 'TransferOutcome').map((t) => t.outcome));
    expect(samples.filter(roundStarted).length).toBeGreaterThan(450);
    expect(outcomes.filter((x) => x === 'answered').length).toBeGreaterThan(50);
    expect(outcomes.filter((x) => x === 'failed').length).toBeGreaterThan(200);
    expect(samples.filter((o) => o.delivered.some((d) => d.after.partner !== undefined)).length).toBeGreaterThan(20);
    expect(samples.filter((o) => o.state.result === 'TRANSFER_FAILED').length).toBeGreaterThan(20);
  });

  it('every run reaches done with nothing pending and no timer; alice and (once the round started) bob are released exactly once each', () => {
    fc.assert(
      fc.property(transferScenarioArb, (sc) => {
        const o = play(sc);
        expect(o.pending).toEqual([]);
        expect(o.state.phase).toBe('done');
        expect(o.state.timers).toEqual([]);
        expect(o.state.claimHeld).toBe(false);
        expect(o.state.round).toBeUndefined();
        expect(o.state.partner).toBeUndefined();
        expect(releases(o).sort()).toEqual(roundStarted(o) ? ['alice', 'bob'] : ['alice']);
        expect(of(o.log, 'Finished')).toEqual([{ type: 'Finished', result: o.state.result }]);
      }),
      RUNS,
    );
  });

  it('no leg or bridge is left: every created channel (the call’s and bob’s) ended, the bridge destroyed once, the music stopped', () => {
    fc.assert(
      fc.property(transferScenarioArb, (sc) => {
        const o = play(sc);
        const created = of(o.log, 'CreateLeg').map((c) => c.legId);
        for (const id of created) expect(o.state.legs.find((l) => l.id === id)?.status, id).toBe('ended');
        // Unless Asterisk took the customer and the bridge with it (a transfer it executed itself).
        expect(of(o.log, 'DestroyBridge')).toEqual(o.state.handedOver ? [] : [{ type: 'DestroyBridge', bridgeId: 'd-bridge' }]);
        // Music agentgate started for the customer is stopped (or the customer is gone) before the end.
        const moh = o.log.filter((c) => c.type === 'StartCallerMoh' || c.type === 'StopCallerMoh').map((c) => c.type);
        if (!o.state.callerGone || of(o.log, 'ContinueCaller').length > 0)
          expect(moh.filter((t) => t === 'StartCallerMoh').length).toBe(moh.filter((t) => t === 'StopCallerMoh').length);
        // The caller is sent on at most once, and never both sent on and hung up.
        const continued = of(o.log, 'ContinueCaller').length;
        expect(continued).toBeLessThanOrEqual(1);
        if (continued === 1) expect(of(o.log, 'HangupCaller')).toEqual([]);
      }),
      RUNS,
    );
  });

  it('exactly one outcome per round and at most one winner: the device that answered and whose join held', () => {
    fc.assert(
      fc.property(transferScenarioArb, (sc) => {
        const o = play(sc);
        const outcomes = of(o.log, 'TransferOutcome');
        expect(outcomes).toHaveLength(roundStarted(o) ? 1 : 0);
        const joined = o.delivered.filter((d) => d.commands.some((c) => c.type === 'TransferOutcome' && c.outcome === 'answered'));
        if (outcomes[0]?.outcome !== 'answered') {
          expect(joined).toEqual([]);
          return;
        }
        expect(joined).toHaveLength(1);
        const j = joined[0]!;
        expect(j.event.type).toBe('TransferJoined');
        const legId = (j.event as { legId: string }).legId;
        expect(outcomes[0]).toEqual({
          type: 'TransferOutcome',
          target: 'bob',
          outcome: 'answered',
          endpoint: j.after.legs.find((l) => l.id === legId)!.endpoint,
        });
        expect(o.delivered.some((d) => d.event.type === 'LegAnswered' && d.event.legId === legId)).toBe(true);
        // Blind: bob is the call's agent from the join on, alice's leg hung up; warm: bob is the partner.
        if (sc.transfer!.mode === 'warm' && j.before.round?.agentLeft !== true) expect(j.after.partner).toEqual({ legId, agentId: 'bob' });
        else {
          expect(j.after).toMatchObject({ agentId: 'bob', winner: legId });
          expect(j.after.partner).toBeUndefined();
        }
        // A TRANSFER_FAILED end only follows a failed round.
        expect(o.state.result).not.toBe('TRANSFER_FAILED');
      }),
      RUNS,
    );
  });

  it('every other device of bob that answered is hung up as answered elsewhere (cause 26), unless the customer had gone (normal)', () => {
    fc.assert(
      fc.property(transferScenarioArb, (sc) => {
        const o = play(sc);
        const won = of(o.log, 'TransferOutcome').find((t) => t.outcome === 'answered');
        for (const d of o.delivered) {
          if (d.event.type !== 'LegAnswered' || !d.event.legId.startsWith('d-t1-')) continue;
          const legId = d.event.legId;
          const before = [...d.before.legs, ...(d.before.round?.child.legs ?? [])].find((l) => l.id === legId)!;
          if (before.status === 'ended' || before.hangupReason !== undefined) continue; // already being hung up
          const child = d.before.round?.child;
          const first = child !== undefined && child.phase === 'ringing' && child.winner === undefined;
          if (first) continue; // this answer competes for the round
          const reason = d.before.callerGone || d.before.phase === 'done' ? 'normal' : 'answered_elsewhere';
          expect(d.commands, `late answer of ${legId}`).toContainEqual({ type: 'HangupLeg', legId, reason });
          const after = o.state.legs.find((l) => l.id === legId)!;
          expect(after.status).toBe('ended');
          if (reason === 'answered_elsewhere') expect(after.cause).toBe(26);
        }
        // The winner of the round (if any) was never hung up as answered elsewhere.
        if (won) {
          const w = o.state.legs.find(
            (l) => l.endpoint === won.endpoint && l.outcome === 'answered' && l.hangupReason !== 'answered_elsewhere',
          );
          expect(w).toBeDefined();
        }
      }),
      RUNS,
    );
  });

  it('a failed round leaves the customer with alice, or, when alice left meanwhile, sends the customer on with TRANSFER_FAILED', () => {
    fc.assert(
      fc.property(transferScenarioArb, (sc) => {
        const o = play(sc);
        const step = o.delivered.find((d) => d.commands.some((c) => c.type === 'TransferOutcome' && c.outcome === 'failed'));
        if (!step || step.after.phase === 'done') {
          if (o.state.result === 'TRANSFER_FAILED') expect(step?.after.result).toBe('TRANSFER_FAILED');
          return;
        }
        expect(step.after).toMatchObject({ phase: 'talking', agentId: 'alice' });
        expect(step.after.round).toBeUndefined();
      }),
      RUNS,
    );
  });
});
