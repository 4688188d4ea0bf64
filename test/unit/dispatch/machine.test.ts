/**
 * The ring-all state machine on its own: table tests of each behaviour and fast-check properties over
 * random event sequences (any order, duplicates, late and unknown events). No mocks, no clock.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  startDispatch,
  transition,
  isFinished,
  recover,
  type DispatchCommand,
  type DispatchConfig,
  type DispatchEvent,
  type DispatchState,
} from '../../../src/domain/dispatch/machine.js';

const config: DispatchConfig = { answer: 'late', ringTimeoutSec: 30, onWinnerHangupBeforeBridge: 'keep_ringing' };
const addresses = [
  { endpoint: 'PJSIP/1', delayMs: 0 },
  { endpoint: 'PJSIP/2', delayMs: 0 },
  { endpoint: 'PJSIP/3', delayMs: 5000 },
];

function begin(over: Partial<DispatchConfig> = {}): { state: DispatchState; log: DispatchCommand[] } {
  const s = startDispatch({
    id: 'd',
    agentId: 'alice',
    callerId: 'caller',
    now: 0,
    config: { ...config, ...over },
    addresses,
    claimHeld: true,
  });
  return { state: s.state, log: [...s.commands] };
}
function run(state: DispatchState, events: DispatchEvent[], log: DispatchCommand[]): DispatchState {
  let s = state;
  for (const e of events) {
    const step = transition(s, e);
    s = step.state;
    log.push(...step.commands);
  }
  return s;
}
const hangups = (log: DispatchCommand[]) => log.filter((c): c is Extract<DispatchCommand, { type: 'HangupLeg' }> => c.type === 'HangupLeg');

describe('dispatch machine (table)', () => {
  it('starts with ringback, prepares the bridge, creates the undelayed legs, delays the third, and starts the overall timer', () => {
    const { log } = begin();
    expect(log.map((c) => c.type)).toEqual(['RingCaller', 'PrepareBridge', 'StartTimer', 'CreateLeg', 'CreateLeg', 'StartTimer']);
  });

  it('dials a leg only after its StasisStart (a /dial before it gets 409)', () => {
    const { state, log } = begin();
    run(state, [{ type: 'LegStasisStarted', legId: 'd-leg1' }], log);
    expect(log.filter((c) => c.type === 'DialLeg')).toEqual([{ type: 'DialLeg', legId: 'd-leg1', timeoutSec: 30 }]);
  });

  it('first answer: answer the caller, bridge, then hang the others up as answered elsewhere; a delayed leg never starts', () => {
    const { state, log } = begin();
    const s = run(
      state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegStasisStarted', legId: 'd-leg2' },
        { type: 'LegAnswered', legId: 'd-leg2', at: 10 },
        { type: 'Bridged', at: 11 },
      ],
      log,
    );
    expect(s.phase).toBe('talking');
    expect(log).toContainEqual({ type: 'BridgeCallerWith', legId: 'd-leg2', bridgeId: 'd-bridge' });
    expect(hangups(log)).toEqual([{ type: 'HangupLeg', legId: 'd-leg1', reason: 'answered_elsewhere' }]);
    expect(log.filter((c) => c.type === 'CreateLeg')).toHaveLength(2);
    expect(log).toContainEqual({ type: 'SetCallerVar', name: 'AGENTGATE_ANSWERED_BY', value: 'PJSIP/2' });
  });

  it('the join fails with both sides still up (Asterisk refused it): the answered agent is hung up and the others keep ringing, never stuck in bridging', () => {
    const { state, log } = begin();
    let s = run(
      state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegStasisStarted', legId: 'd-leg2' },
        { type: 'LegAnswered', legId: 'd-leg2', at: 10 },
        { type: 'BridgeFailed', detail: '500', at: 11 },
      ],
      log,
    );
    expect(hangups(log)).toEqual([{ type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' }]);
    // the call's record says agentgate cleared that phone normally
    expect(s.legs.find((l) => l.id === 'd-leg2')?.hangupReason).toBe('normal');
    s = run(s, [{ type: 'LegEnded', legId: 'd-leg2', cause: 16, at: 12 }], log);
    expect(s.phase).toBe('ringing');
    s = run(s, [{ type: 'TimerFired', name: 'overall', at: 30_000 }], log);
    expect(isFinished(s)).toBe(true);
    expect(s.result).toBe('TIMEOUT');
    expect(log).toContainEqual({ type: 'ReleaseAgent' });
  });

  it('a failed join reported after the winner already hung up (the others ring again), or once the call is talking, sends nothing', () => {
    const { state, log } = begin();
    const answered = run(
      state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegStasisStarted', legId: 'd-leg2' },
        { type: 'LegAnswered', legId: 'd-leg2', at: 10 },
      ],
      log,
    );
    const ringingAgain = run(answered, [{ type: 'LegEnded', legId: 'd-leg2', cause: 16, at: 11 }], log);
    expect(ringingAgain.phase).toBe('ringing');
    expect(transition(ringingAgain, { type: 'BridgeFailed', detail: 'channel gone', at: 12 }).commands).toEqual([]);
    const talking = run(answered, [{ type: 'Bridged', at: 11 }], log);
    const late = transition(talking, { type: 'BridgeFailed', detail: 'late', at: 12 });
    expect(late.commands).toEqual([]);
    expect(late.state.phase).toBe('talking');
  });

  it('caller hangs up while ringing: legs hung up with normal clearing, claim released, nothing continued', () => {
    const { state, log } = begin();
    const s = run(
      state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegStasisStarted', legId: 'd-leg2' },
        { type: 'CallerHungUp', at: 5 },
      ],
      log,
    );
    expect(isFinished(s)).toBe(true);
    expect(hangups(log).every((h) => h.reason === 'normal')).toBe(true);
    expect(hangups(log)).toHaveLength(2);
    expect(log.some((c) => c.type === 'ContinueCaller')).toBe(false);
    expect(log).toContainEqual({ type: 'ReleaseAgent' });
    expect(s.timers).toEqual([]);
  });

  it('BUSY on a created leg: agentgate hangs it up; all busy → BUSY', () => {
    const { state, log } = begin();
    const s = run(
      state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegDialStatus', legId: 'd-leg1', dialStatus: 'BUSY' },
        { type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 2 },
        { type: 'LegCreateFailed', legId: 'd-leg2', detail: '500', at: 2 },
        { type: 'TimerFired', name: 'delay:d-leg3', at: 5000 },
        { type: 'LegStasisStarted', legId: 'd-leg3' },
        { type: 'LegEnded', legId: 'd-leg3', cause: 17, at: 5001 },
      ],
      log,
    );
    expect(hangups(log)).toContainEqual({ type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' });
    expect(s.result).toBe('BUSY');
    expect(log).toContainEqual({ type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: 'BUSY' });
  });

  it('the winner hangs up before the bridge: the others keep ringing and may still win (or, configured, the call fails)', () => {
    const keep = begin();
    const s = run(
      keep.state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegStasisStarted', legId: 'd-leg2' },
        { type: 'LegAnswered', legId: 'd-leg1', at: 3 },
        { type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 4 },
        { type: 'LegAnswered', legId: 'd-leg2', at: 6 },
      ],
      keep.log,
    );
    expect(s.phase).toBe('bridging');
    expect(s.winner).toBe('d-leg2');
    const fail = begin({ onWinnerHangupBeforeBridge: 'fail' });
    const f = run(
      fail.state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegStasisStarted', legId: 'd-leg2' },
        { type: 'LegAnswered', legId: 'd-leg1', at: 3 },
        { type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 4 },
      ],
      fail.log,
    );
    expect(f.result).toBe('NOANSWER');
    expect(hangups(fail.log)).toContainEqual({ type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' });
  });

  it('regression (fast-check seed -954890249): events for a leg still waiting for its delay change nothing and hang up no channel that does not exist', () => {
    const { state, log } = begin();
    const s = run(
      state,
      [
        { type: 'LegDialStatus', legId: 'd-leg3', dialStatus: 'BUSY' },
        { type: 'LegAnswered', legId: 'd-leg3', at: 1 },
        { type: 'LegAnswered', legId: 'd-leg2', at: 1 },
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'CallerHungUp', at: 3 },
      ],
      log,
    );
    expect(
      hangups(log)
        .map((h) => h.legId)
        .sort(),
    ).toEqual(['d-leg1', 'd-leg1', 'd-leg2']);
    expect(
      hangups(log)
        .slice(-2)
        .every((h) => h.reason === 'normal'),
    ).toBe(true);
    expect(s.result).toBe('CALLER_HANGUP');
  });

  it('no address → NOAGENT at once, claim released', () => {
    const s = startDispatch({ id: 'd', agentId: 'x', callerId: 'c', now: 0, config, addresses: [], claimHeld: true });
    expect(s.state.result).toBe('NOAGENT');
    expect(s.commands).toContainEqual({ type: 'ReleaseAgent' });
  });

  it('every address offline → UNAVAILABLE at once (not NOAGENT: the agent exists and may take calls), claim released, the caller continued', () => {
    const s = startDispatch({ id: 'd', agentId: 'x', callerId: 'c', now: 0, config, addresses: [], allOffline: true, claimHeld: true });
    expect(s.state.result).toBe('UNAVAILABLE');
    expect(s.commands).toContainEqual({ type: 'ReleaseAgent' });
    expect(s.commands).toContainEqual({ type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: 'UNAVAILABLE' });
  });

  it('#12.5 claim lost while ringing (another call holds the agent after a Store outage): legs hung up normally, caller continued NOAGENT; a talking call is left alone', () => {
    const { state, log } = begin();
    const s = run(
      state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegStasisStarted', legId: 'd-leg2' },
        { type: 'ClaimLost', at: 7 },
      ],
      log,
    );
    expect(s.result).toBe('NOAGENT');
    expect(s.hungUpBy).toBe('agentgate');
    expect(hangups(log)).toEqual([
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' },
    ]);
    expect(log).toContainEqual({ type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: 'NOAGENT' });
    expect(log.some((c) => c.type === 'ContinueCaller')).toBe(true);

    const talking = begin();
    const t = run(
      talking.state,
      [
        { type: 'LegStasisStarted', legId: 'd-leg1' },
        { type: 'LegAnswered', legId: 'd-leg1', at: 3 },
        { type: 'Bridged', at: 4 },
      ],
      talking.log,
    );
    const step = transition(t, { type: 'ClaimLost', at: 9 });
    expect(step.state.phase).toBe('talking');
    expect(step.commands).toEqual([]);
  });

  it('recover after a restart: every leg hung up, bridge destroyed, caller sent on or hung up', () => {
    expect(recover({ callerChannelId: 'c', legChannelIds: ['a', 'b'], bridgeId: 'br' }).map((c) => c.type)).toEqual([
      'HangupLeg',
      'HangupLeg',
      'DestroyBridge',
      'SetCallerVar',
      'ContinueCaller',
      'ReleaseAgent',
    ]);
    expect(recover({ callerChannelId: 'c', legChannelIds: [], talking: true }).map((c) => c.type)).toEqual([
      'HangupCaller',
      'ReleaseAgent',
    ]);
  });
});

const legIds = ['d-leg1', 'd-leg2', 'd-leg3', 'd-other'];
const arbEvent: fc.Arbitrary<DispatchEvent> = fc.oneof(
  fc.constantFrom(...legIds).map((legId) => ({ type: 'LegStasisStarted' as const, legId })),
  fc.constantFrom(...legIds).map((legId) => ({ type: 'LegRinging' as const, legId })),
  fc.constantFrom(...legIds).map((legId) => ({ type: 'LegAnswered' as const, legId, at: 1 })),
  fc
    .tuple(fc.constantFrom(...legIds), fc.constantFrom('BUSY', 'CONGESTION', 'NOANSWER', 'CHANUNAVAIL'))
    .map(([legId, dialStatus]) => ({ type: 'LegDialStatus' as const, legId, dialStatus })),
  fc
    .tuple(fc.constantFrom(...legIds), fc.constantFrom(0, 16, 17, 19, 20, 26))
    .map(([legId, cause]) => ({ type: 'LegEnded' as const, legId, cause, at: 2 })),
  fc.constantFrom(...legIds).map((legId) => ({ type: 'LegCreateFailed' as const, legId, detail: 'x', at: 2 })),
  fc.constant({ type: 'CallerHungUp' as const, at: 3 }),
  fc.constant({ type: 'Bridged' as const, at: 4 }),
  fc.constant({ type: 'ClaimLost' as const, at: 4 }),
  // Call control (call-control.ts): random order, duplicates, outside talking too.
  fc.constantFrom<DispatchEvent>(
    { type: 'HoldRequested', at: 6, mohClass: 'default' },
    { type: 'UnholdRequested', at: 6 },
    { type: 'PhoneHeld', at: 6 },
    { type: 'PhoneUnheld', at: 6 },
    { type: 'AgentReleaseRequested', at: 7 },
    { type: 'EndRequested', at: 7 },
    { type: 'TransferRequested', at: 7, to: '100', target: { context: 't', extension: '100', priority: 1 } },
    { type: 'RequeueRequested', at: 7, queue: 'sales', target: { context: 'q', extension: 'sales', priority: 1 } },
  ),
  fc
    .constantFrom('overall', 'leg:d-leg1', 'leg:d-leg2', 'delay:d-leg3', 'bogus')
    .map((name) => ({ type: 'TimerFired' as const, name, at: 5 })),
);

describe('dispatch machine (properties)', () => {
  it('total, one winner at most, finished holds no claim and no timer, late answers hung up, caller hang-up → normal', () => {
    fc.assert(
      fc.property(
        fc.array(arbEvent, { maxLength: 40 }),
        fc.constantFrom<DispatchConfig['onWinnerHangupBeforeBridge']>('keep_ringing', 'fail'),
        (events, onWin) => {
          const { state, log } = begin({ onWinnerHangupBeforeBridge: onWin });
          let s = state;
          const bridgedLegs = new Set<string>();
          let timers = new Set(s.timers);
          for (const e of events) {
            const step = transition(s, e);
            s = step.state;
            for (const c of step.commands) {
              if (c.type === 'BridgeCallerWith') {
                // The agent is in one call at most: every earlier winner has ended before a new one is bridged.
                for (const earlier of bridgedLegs) expect(s.legs.find((l) => l.id === earlier)?.status).toBe('ended');
                bridgedLegs.add(c.legId);
              }
              if (c.type === 'StartTimer') timers.add(c.name);
              if (c.type === 'CancelTimer') timers.delete(c.name);
            }
            if (e.type === 'TimerFired') timers.delete(e.name);
            // Caller hang-up while ringing: phones keep a missed call, every leg is cleared normally.
            if (e.type === 'CallerHungUp' && step.state.result === 'CALLER_HANGUP') {
              expect(step.commands.filter((c) => c.type === 'HangupLeg').every((c) => (c as { reason: string }).reason === 'normal')).toBe(
                true,
              );
            }
            // A leg never created (waiting for its delay) is never told to hang up.
            for (const c of step.commands)
              if (c.type === 'HangupLeg') expect(log.some((x) => x.type === 'CreateLeg' && x.legId === c.legId)).toBe(true);
            log.push(...step.commands);
            // An answer that is not the winner's is always hung up.
            if (
              e.type === 'LegAnswered' &&
              s.legs.some((l) => l.id === e.legId) &&
              s.winner !== e.legId &&
              log.some((c) => c.type === 'CreateLeg' && c.legId === e.legId)
            ) {
              const leg = s.legs.find((l) => l.id === e.legId)!;
              if (leg.status !== 'ended')
                expect(step.commands.some((c) => c.type === 'HangupLeg' && c.legId === e.legId) || leg.hangupReason !== undefined).toBe(
                  true,
                );
            }
            // The machine's timers are exactly the ones started and not cancelled or fired.
            expect([...timers].sort()).toEqual([...s.timers].sort());
          }
          if (isFinished(s)) {
            expect(s.timers).toEqual([]);
            expect(s.claimHeld).toBe(false);
            expect(log.filter((c) => c.type === 'ReleaseAgent')).toHaveLength(1);
            expect(log.filter((c) => c.type === 'Finished')).toHaveLength(1);
            // Every leg that was created and not ended by Asterisk, and is not the bridged winner, was hung up.
            for (const l of s.legs) {
              const created = log.some((c) => c.type === 'CreateLeg' && c.legId === l.id);
              const hung = hangups(log).some((h) => h.legId === l.id);
              if (created && l.status !== 'ended' && !(l.id === s.winner && s.result === 'ANSWERED' && !s.callerGone))
                expect(hung).toBe(true);
            }
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('two legs answering in any order: exactly one bridge request while the first stands; the other gets answered_elsewhere', () => {
    fc.assert(
      fc.property(fc.shuffledSubarray(['d-leg1', 'd-leg2'], { minLength: 2, maxLength: 2 }), (order) => {
        const { state, log } = begin();
        const s = run(
          state,
          [
            { type: 'LegStasisStarted', legId: 'd-leg1' },
            { type: 'LegStasisStarted', legId: 'd-leg2' },
            ...order.map((legId) => ({ type: 'LegAnswered' as const, legId, at: 1 })),
            { type: 'Bridged', at: 2 },
          ],
          log,
        );
        expect(log.filter((c) => c.type === 'BridgeCallerWith')).toEqual([
          { type: 'BridgeCallerWith', legId: order[0], bridgeId: 'd-bridge' },
        ]);
        expect(hangups(log)).toContainEqual({ type: 'HangupLeg', legId: order[1], reason: 'answered_elsewhere' });
        expect(s.winner).toBe(order[0]);
      }),
    );
  });
});
