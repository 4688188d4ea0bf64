/**
 * Liveness of the ring-all machine: driven by a fair random world (world.ts) that answers every command
 * as Asterisk does, every dispatch finishes, releases the agent exactly once, has exactly one winner
 * when answered, and hangs up every other phone that answered as answered elsewhere (cause 26).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { DispatchCommand } from '../../../src/domain/dispatch/machine.js';
import { play, scenarioArb } from './world.js';

const of = <T extends DispatchCommand['type']>(log: DispatchCommand[], type: T): Extract<DispatchCommand, { type: T }>[] =>
  log.filter((c): c is Extract<DispatchCommand, { type: T }> => c.type === type);

/** Results of a dispatch that was answered and bridged (the conversation then ended one way or another). */
const TALKED = new Set(['ANSWERED', 'AGENT_HANGUP', 'TRANSFERRED', 'REQUEUED', 'ENDED']);

describe('dispatch machine (liveness, in a fair random world)', () => {
  it('every dispatch reaches done with nothing left pending, no timer, and the claim released exactly once', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { state, log, pending } = play(sc);
        expect(pending).toEqual([]);
        expect(state.phase).toBe('done');
        expect(state.timers).toEqual([]);
        expect(state.claimHeld).toBe(false);
        expect(of(log, 'ReleaseAgent')).toHaveLength(1);
        expect(of(log, 'Finished')).toEqual([{ type: 'Finished', result: state.result }]);
        // Whatever was started is stopped: the bridge made at the start is destroyed once.
        expect(of(log, 'DestroyBridge')).toEqual([{ type: 'DestroyBridge', bridgeId: 'd-bridge' }]);
        // Every channel created is gone at the end: none is left ringing on a desk.
        for (const l of state.legs) if (log.some((c) => c.type === 'CreateLeg' && c.legId === l.id)) expect(l.status).toBe('ended');
      }),
      { numRuns: 500 },
    );
  });

  it('call control after the answer: transfer and requeue send the caller on once to their target, end and release never leave the caller in the bridge', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { state, log } = play(sc);
        const continued = of(log, 'ContinueCaller');
        const resultVar = of(log, 'SetCallerVar').filter((c) => c.name === 'AGENTGATE_RESULT');
        if (state.result === 'TRANSFERRED' || state.result === 'REQUEUED') {
          expect(continued).toHaveLength(1);
          expect(continued[0]!.to).toBeDefined();
          expect(resultVar).toEqual([{ type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: state.result }]);
        }
        if (state.result === 'AGENT_HANGUP') expect(continued).toEqual([{ type: 'ContinueCaller', fallback: undefined }]);
        if (state.result === 'ENDED') {
          expect(continued).toEqual([]);
          expect(of(log, 'HangupCaller')).toHaveLength(1);
        }
        // Music agentgate started is stopped before the caller leaves for the dialplan.
        if (continued.length > 0 && of(log, 'StartCallerMoh').length > 0) expect(of(log, 'StopCallerMoh')).toHaveLength(1);
        // The winner is hung up by agentgate, or by itself, whatever the ending: no agent is left on the line.
        if (state.winner !== undefined) expect(state.legs.find((l) => l.id === state.winner)!.status).toBe('ended');
      }),
      { numRuns: 500 },
    );
  });

  it('an answered dispatch has exactly one winner: bridged once, announced once, and it is the one that answered', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { state, log, delivered } = play(sc);
        const announced = of(log, 'SetCallerVar').filter((c) => c.name === 'AGENTGATE_ANSWERED_BY');
        if (!TALKED.has(state.result!)) {
          expect(announced).toEqual([]);
          return;
        }
        const winner = state.legs.find((l) => l.id === state.winner)!;
        expect(announced).toEqual([{ type: 'SetCallerVar', name: 'AGENTGATE_ANSWERED_BY', value: winner.endpoint }]);
        expect(state.legs.filter((l) => l.outcome === 'answered' && l.id !== winner.id && l.cause === 26)).toEqual([]);
        // The winner answered, and the bridge that held was with it.
        expect(delivered.some((d) => d.event.type === 'LegAnswered' && d.event.legId === winner.id)).toBe(true);
        const lastJoin = of(log, 'BridgeCallerWith').at(-1);
        expect(lastJoin).toEqual({ type: 'BridgeCallerWith', legId: winner.id, bridgeId: 'd-bridge' });
        // The caller is never sent on to the dialplan once answered, unless call control sends it.
        if (state.result === 'ANSWERED') expect(of(log, 'ContinueCaller')).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });

  it('every phone that answered and did not win is hung up as answered elsewhere (cause 26), unless the caller had already gone', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { state, delivered } = play(sc);
        for (const d of delivered) {
          if (d.event.type !== 'LegAnswered') continue;
          const legId = d.event.legId;
          const before = d.before.legs.find((l) => l.id === legId)!;
          if (before.status === 'ended') continue; // its channel already ended by itself
          const lost = d.before.phase !== 'ringing' || d.before.winner !== undefined;
          if (!lost) continue;
          const reason = d.before.callerGone ? 'normal' : 'answered_elsewhere';
          expect(d.commands).toContainEqual({ type: 'HangupLeg', legId, reason });
          const after = state.legs.find((l) => l.id === legId)!;
          expect(after.status).toBe('ended');
          expect(after.outcome).toBe('cancelled');
          if (!d.before.callerGone) expect(after.cause).toBe(26);
        }
        // When the call was answered, every other phone that rang was cleared as answered elsewhere.
        if (state.result === 'ANSWERED') {
          for (const l of state.legs) {
            if (l.id === state.winner || l.hangupReason === undefined) continue;
            if (l.outcome === 'busy' || l.outcome === 'congestion' || l.outcome === 'noanswer') continue;
            expect(l.hangupReason).toBe('answered_elsewhere');
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the result tells the caller’s dialplan what happened, in one variable, exactly when the caller is still there to hear it', () => {
    fc.assert(
      fc.property(scenarioArb, (sc) => {
        const { state, log } = play(sc);
        const results = of(log, 'SetCallerVar').filter((c) => c.name === 'AGENTGATE_RESULT');
        const continued = of(log, 'ContinueCaller');
        if (state.result === 'ANSWERED' || state.result === 'CALLER_HANGUP' || state.result === 'ENDED') {
          expect(results).toEqual([]);
          expect(continued).toEqual([]);
        } else if (state.result === 'TRANSFERRED' || state.result === 'REQUEUED') {
          expect(results).toEqual([{ type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: state.result }]);
          expect(continued).toHaveLength(1);
        } else {
          expect(results).toEqual([{ type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: state.result }]);
          expect(continued).toEqual([{ type: 'ContinueCaller', fallback: undefined }]);
        }
        // Who hung up: the caller for CALLER_HANGUP; for an answered call, the side that ended the conversation.
        if (state.result === 'CALLER_HANGUP') expect(state.hungUpBy).toBe('caller');
        if (state.result === 'ANSWERED' && !sc.impatientCaller)
          expect(state.hungUpBy).toBe(sc.ending === 'callerHangsUp' || sc.ending === 'holdThenCallerHangsUp' ? 'caller' : 'agent');
      }),
      { numRuns: 500 },
    );
  });
});
