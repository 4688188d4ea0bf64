/**
 * The ring-all machine, behaviour by behaviour, with exact expectations: what the caller, the agents'
 * phones and the agent's claim see after each event. Complements the properties in machine.test.ts
 * and machine-liveness.test.ts, which check invariants over random sequences.
 */
import { describe, expect, it } from 'vitest';
import {
  isFinished,
  recover,
  startDispatch,
  transition,
  type DispatchCommand,
  type DispatchConfig,
  type DispatchEvent,
  type DispatchResult,
  type DispatchState,
  type StartInput,
} from '../../../src/domain/dispatch/machine.js';

const config: DispatchConfig = { answer: 'late', ringTimeoutSec: 30, onWinnerHangupBeforeBridge: 'keep_ringing' };

/** Two phones that ring at once and a third 5 s later, as in the README's example agent. */
const THREE = [
  { endpoint: 'PJSIP/1', delayMs: 0 },
  { endpoint: 'PJSIP/2', delayMs: 0 },
  { endpoint: 'PJSIP/3', delayMs: 5000 },
];

function start(over: Partial<StartInput> = {}, cfg: Partial<DispatchConfig> = {}): { state: DispatchState; commands: DispatchCommand[] } {
  return startDispatch({
    id: 'd',
    agentId: 'alice',
    callerId: 'caller',
    now: 100,
    config: { ...config, ...cfg },
    addresses: THREE,
    claimHeld: true,
    ...over,
  });
}

/** Feed events one by one; return the final state and the commands of the LAST event only. */
function feed(state: DispatchState, events: DispatchEvent[]): { state: DispatchState; last: DispatchCommand[]; all: DispatchCommand[] } {
  let s = state;
  let last: DispatchCommand[] = [];
  const all: DispatchCommand[] = [];
  for (const e of events) {
    const step = transition(s, e);
    s = step.state;
    last = step.commands;
    all.push(...step.commands);
  }
  return { state: s, last, all };
}

const stasis = (n: number): DispatchEvent => ({ type: 'LegStasisStarted', legId: `d-leg${n}` });
const answered = (n: number, at = 10): DispatchEvent => ({ type: 'LegAnswered', legId: `d-leg${n}`, at });
const ended = (n: number, cause = 16, at = 20): DispatchEvent => ({ type: 'LegEnded', legId: `d-leg${n}`, cause, at });
const dial = (n: number, dialStatus: string): DispatchEvent => ({ type: 'LegDialStatus', legId: `d-leg${n}`, dialStatus });
const fired = (name: string, at = 30_100): DispatchEvent => ({ type: 'TimerFired', name, at });
const bridged = (at = 11): DispatchEvent => ({ type: 'Bridged', at });
const callerHangup = (at = 50): DispatchEvent => ({ type: 'CallerHungUp', at });

/** Both undelayed phones ringing. */
const ringing = (cfg: Partial<DispatchConfig> = {}): DispatchState => feed(start({}, cfg).state, [stasis(1), stasis(2)]).state;
/** Phone 2 answered; the caller is being bridged with it. */
const bridging = (cfg: Partial<DispatchConfig> = {}): DispatchState => feed(ringing(cfg), [answered(2)]).state;
/** Caller and phone 2 talking. */
const talking = (): DispatchState => feed(bridging(), [bridged()]).state;

/** The commands that end a dispatch that was ringing, for `result`, in order. */
const endRinging = (result: DispatchResult, timers: string[]): DispatchCommand[] => [
  ...timers.map((name) => ({ type: 'CancelTimer' as const, name })),
  { type: 'DestroyBridge', bridgeId: 'd-bridge' },
  { type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: result },
  { type: 'ContinueCaller', fallback: undefined },
  { type: 'ReleaseAgent' },
  { type: 'Finished', result },
];

describe('starting a dispatch', () => {
  it('rings back the caller, prepares the bridge, starts the overall timer, creates the undelayed phones and delays the third', () => {
    const { state, commands } = start();
    expect(commands).toEqual([
      { type: 'RingCaller' },
      { type: 'PrepareBridge', bridgeId: 'd-bridge' },
      { type: 'StartTimer', name: 'overall', ms: 30_000 },
      { type: 'CreateLeg', legId: 'd-leg1', endpoint: 'PJSIP/1' },
      { type: 'CreateLeg', legId: 'd-leg2', endpoint: 'PJSIP/2' },
      { type: 'StartTimer', name: 'delay:d-leg3', ms: 5000 },
    ]);
    expect(state).toMatchObject({
      id: 'd',
      agentId: 'alice',
      callerId: 'caller',
      bridgeId: 'd-bridge',
      phase: 'ringing',
      startedAt: 100,
      claimHeld: true,
      callerGone: false,
      bridgeCreated: true,
      timers: ['overall', 'delay:d-leg3'],
    });
    expect(state.legs.map((l) => [l.id, l.endpoint, l.status, l.dialStatus])).toEqual([
      ['d-leg1', 'PJSIP/1', 'creating', ''],
      ['d-leg2', 'PJSIP/2', 'creating', ''],
      ['d-leg3', 'PJSIP/3', 'waiting', ''],
    ]);
    expect(isFinished(state)).toBe(false);
  });

  it('answers the caller at once with answer: early (no ringback)', () => {
    expect(start({}, { answer: 'early' }).commands[0]).toEqual({ type: 'AnswerCaller' });
  });

  it.each([
    {
      name: 'the dialplan timeout overrides the configured one',
      timeoutSec: 20,
      perAddress: [undefined, undefined],
      overall: 20_000,
      legs: [20, 20],
    },
    {
      name: 'the configured ring timeout when the dialplan gives none',
      timeoutSec: undefined,
      perAddress: [undefined, undefined],
      overall: 30_000,
      legs: [30, 30],
    },
    {
      name: 'an address rings for its own timeout when shorter',
      timeoutSec: 20,
      perAddress: [10, undefined],
      overall: 20_000,
      legs: [10, 20],
    },
    {
      name: 'an address never rings longer than the whole dispatch',
      timeoutSec: 20,
      perAddress: [40, 25],
      overall: 20_000,
      legs: [20, 20],
    },
  ])('ring timeouts: $name', ({ timeoutSec, perAddress, overall, legs }) => {
    const addresses = perAddress.map((t, i) =>
      t === undefined ? { endpoint: `PJSIP/${i + 1}`, delayMs: 0 } : { endpoint: `PJSIP/${i + 1}`, delayMs: 0, timeoutSec: t },
    );
    const { state, commands } = start(timeoutSec === undefined ? { addresses } : { addresses, timeoutSec });
    expect(commands).toContainEqual({ type: 'StartTimer', name: 'overall', ms: overall });
    expect(state.legs.map((l) => l.timeoutSec)).toEqual(legs);
    // Each phone is dialled for its timeout, and its own timer says so.
    const s = feed(state, [stasis(1)]);
    expect(s.last).toEqual([
      { type: 'DialLeg', legId: 'd-leg1', timeoutSec: legs[0] },
      { type: 'StartTimer', name: 'leg:d-leg1', ms: legs[0]! * 1000 },
    ]);
    expect(s.state.legs[0]!.status).toBe('created');
  });

  it.each([
    { name: 'no agent to ring → NOAGENT', allOffline: undefined, noAgentReason: 'not found', result: 'NOAGENT' },
    {
      name: 'every address offline → UNAVAILABLE (the agent exists, as Dial’s CHANUNAVAIL)',
      allOffline: true,
      noAgentReason: undefined,
      result: 'UNAVAILABLE',
    },
    {
      name: 'a reason not to ring wins over offline addresses → NOAGENT',
      allOffline: true,
      noAgentReason: 'inbound off',
      result: 'NOAGENT',
    },
    { name: 'nothing said at all → NOAGENT', allOffline: undefined, noAgentReason: undefined, result: 'NOAGENT' },
  ] as const)(
    'nobody to ring: $name, at once: no bridge, no timer, caller continued, claim released',
    ({ allOffline, noAgentReason, result }) => {
      const input: Partial<StartInput> = {
        addresses: [],
        config: { ...config, fallback: { context: 'voicemail', extension: 's', priority: 1 } },
      };
      if (allOffline) input.allOffline = true;
      if (noAgentReason) input.noAgentReason = noAgentReason;
      const { state, commands } = start(input);
      expect(commands).toEqual([
        { type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: result },
        { type: 'ContinueCaller', fallback: { context: 'voicemail', extension: 's', priority: 1 } },
        { type: 'ReleaseAgent' },
        { type: 'Finished', result },
      ]);
      expect(state).toMatchObject({ phase: 'done', result, endedAt: 100, claimHeld: false, timers: [] });
      expect(isFinished(state)).toBe(true);
    },
  );

  it('a dispatch started without the claim never releases one', () => {
    expect(start({ addresses: [], claimHeld: false }).commands.map((c) => c.type)).toEqual(['SetCallerVar', 'ContinueCaller', 'Finished']);
  });
});

describe('phones ringing', () => {
  it('a phone is dialled once, on its first StasisStart only', () => {
    const s = feed(start().state, [stasis(1), stasis(1)]);
    expect(s.all.filter((c) => c.type === 'DialLeg')).toHaveLength(1);
    expect(s.last).toEqual([]);
  });

  it('ringing is recorded on the phone; a RINGING from a phone still waiting for its delay changes nothing', () => {
    const s = feed(start().state, [
      stasis(1),
      { type: 'LegRinging', legId: 'd-leg1' },
      { type: 'LegRinging', legId: 'd-leg2' },
      { type: 'LegRinging', legId: 'd-leg3' },
    ]);
    expect(s.state.legs.map((l) => [l.status, l.dialStatus])).toEqual([
      ['ringing', 'RINGING'],
      ['ringing', 'RINGING'],
      ['waiting', ''],
    ]);
    expect(s.last).toEqual([]);
  });

  it('events about a channel the dispatch does not own change nothing', () => {
    const before = ringing();
    for (const e of [
      { type: 'LegAnswered', legId: 'other', at: 1 },
      { type: 'LegEnded', legId: 'other', cause: 16, at: 1 },
      { type: 'LegStasisStarted', legId: 'other' },
      { type: 'LegCreateFailed', legId: 'other', detail: 'x', at: 1 },
    ] satisfies DispatchEvent[]) {
      const step = transition(before, e);
      expect(step.commands).toEqual([]);
      expect(step.state).toEqual(before);
    }
  });

  it('an event never changes the state it was given (each step returns a new one)', () => {
    const before = ringing();
    const copy = structuredClone(before);
    feed(before, [answered(1), bridged(), callerHangup()]);
    expect(before).toEqual(copy);
  });

  it.each([
    { dialStatus: 'BUSY', outcome: 'busy' },
    { dialStatus: 'CONGESTION', outcome: 'congestion' },
  ] as const)(
    'a $dialStatus phone is hung up by agentgate (Asterisk leaves it in Stasis) and its ring timer stopped',
    ({ dialStatus, outcome }) => {
      const s = feed(ringing(), [dial(1, dialStatus)]);
      expect(s.last).toEqual([
        { type: 'CancelTimer', name: 'leg:d-leg1' },
        { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      ]);
      expect(s.state.legs[0]).toMatchObject({ dialStatus, outcome, hangupReason: 'normal' });
      expect(s.state.timers).toEqual(['overall', 'delay:d-leg3', 'leg:d-leg2']);
    },
  );

  it.each([
    { name: 'CHANUNAVAIL marks the phone unavailable', events: [dial(1, 'CHANUNAVAIL')], outcome: 'unavailable' },
    { name: 'NOANSWER marks the phone not answered', events: [dial(1, 'NOANSWER')], outcome: 'noanswer' },
    { name: 'NOANSWER after BUSY keeps busy', events: [dial(1, 'BUSY'), dial(1, 'NOANSWER')], outcome: 'busy' },
    { name: 'PROGRESS says nothing about the outcome', events: [dial(1, 'PROGRESS')], outcome: undefined },
  ])('dial status: $name, without hanging up', ({ events, outcome }) => {
    const s = feed(ringing(), events);
    expect(s.last).toEqual([]);
    expect(s.state.legs[0]!.outcome).toBe(outcome);
  });

  it('a BUSY reported for the answered winner does not hang it up', () => {
    const s = feed(bridging(), [dial(2, 'BUSY')]);
    expect(s.last).toEqual([]);
    expect(s.state.legs[1]).toMatchObject({ outcome: 'answered', status: 'answered', dialStatus: 'BUSY' });
  });

  it('a BUSY for a phone that already ended, or still waiting for its delay, hangs nothing up', () => {
    expect(feed(ringing(), [ended(1, 21), dial(1, 'BUSY')]).last).toEqual([]);
    expect(feed(ringing(), [dial(3, 'BUSY')]).last).toEqual([]);
    expect(feed(talking(), [dial(2, 'BUSY')]).last).toEqual([]);
  });

  it('each phone’s own timeout hangs up that phone only', () => {
    const s = feed(ringing(), [fired('leg:d-leg2', 30_000)]);
    expect(s.last).toEqual([{ type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' }]);
    expect(s.state.legs.map((l) => l.outcome)).toEqual([undefined, 'noanswer', undefined]);
  });

  it('a phone that rings past its own timeout is hung up (normal clearing) while the others go on', () => {
    const s = feed(ringing(), [fired('leg:d-leg1', 30_000)]);
    expect(s.last).toEqual([{ type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' }]);
    expect(s.state.legs[0]).toMatchObject({ outcome: 'noanswer', hangupReason: 'normal' });
    expect(s.state.phase).toBe('ringing');
    expect(s.state.timers).not.toContain('leg:d-leg1');
  });

  it('the delayed phone is created when its delay ends', () => {
    const s = feed(start().state, [fired('delay:d-leg3', 5100)]);
    expect(s.last).toEqual([{ type: 'CreateLeg', legId: 'd-leg3', endpoint: 'PJSIP/3' }]);
    expect(s.state.legs[2]!.status).toBe('creating');
    expect(s.state.timers).toEqual(['overall']);
  });

  it('a timer the machine does not run (cancelled meanwhile, or unknown) changes nothing', () => {
    const before = ringing();
    for (const name of ['bogus', 'leg:d-leg3', 'delay:d-leg1']) {
      const step = transition(before, fired(name));
      expect(step.commands).toEqual([]);
      expect(step.state).toEqual(before);
    }
  });
});

describe('phones failing', () => {
  it.each([
    { cause: 17, outcome: 'busy' },
    { cause: 34, outcome: 'congestion' },
    { cause: 38, outcome: 'congestion' },
    { cause: 42, outcome: 'congestion' },
    { cause: 1, outcome: 'unavailable' },
    { cause: 3, outcome: 'unavailable' },
    { cause: 20, outcome: 'unavailable' },
    { cause: 27, outcome: 'unavailable' },
    { cause: 66, outcome: 'unavailable' },
    { cause: 16, outcome: 'noanswer' },
    { cause: 19, outcome: 'noanswer' },
    { cause: 21, outcome: 'noanswer' },
    { cause: 0, outcome: 'noanswer' },
  ])('a phone ending with cause $cause counts as $outcome', ({ cause, outcome }) => {
    const s = feed(ringing(), [ended(1, cause)]);
    expect(s.state.legs[0]).toMatchObject({ status: 'ended', cause, outcome });
    expect(s.last).toEqual([{ type: 'CancelTimer', name: 'leg:d-leg1' }]);
    expect(s.state.phase).toBe('ringing');
  });

  it.each([
    { name: 'any busy phone → BUSY', causes: [17, 20], result: 'BUSY' },
    { name: 'busy wins over not answered', causes: [16, 17], result: 'BUSY' },
    { name: 'every phone unavailable → UNAVAILABLE', causes: [20, 1], result: 'UNAVAILABLE' },
    { name: 'unavailable and congested → UNAVAILABLE', causes: [20, 34], result: 'UNAVAILABLE' },
    { name: 'every phone congested → UNAVAILABLE', causes: [34, 42], result: 'UNAVAILABLE' },
    { name: 'one unavailable, one not answered → NOANSWER', causes: [20, 21], result: 'NOANSWER' },
    { name: 'every phone rejected → NOANSWER', causes: [21, 16], result: 'NOANSWER' },
  ] as const)('when the last phone fails the dispatch ends: $name', ({ causes, result }) => {
    const s = feed(start({ addresses: THREE.slice(0, 2) }).state, [stasis(1), stasis(2), ended(1, causes[0], 7), ended(2, causes[1], 8)]);
    expect(s.state).toMatchObject({ phase: 'done', result, endedAt: 8, claimHeld: false, timers: [] });
    expect(s.last).toEqual([{ type: 'CancelTimer', name: 'leg:d-leg2' }, ...endRinging(result, ['overall'])]);
  });

  it('a phone whose channel cannot be created counts as unavailable; all of them → UNAVAILABLE', () => {
    const one = feed(start({ addresses: THREE.slice(0, 2) }).state, [{ type: 'LegCreateFailed', legId: 'd-leg1', detail: '500', at: 3 }]);
    expect(one.state.legs[0]).toMatchObject({ status: 'ended', outcome: 'unavailable' });
    expect(one.last).toEqual([]);
    const both = feed(one.state, [{ type: 'LegCreateFailed', legId: 'd-leg2', detail: '500', at: 4 }]);
    expect(both.state).toMatchObject({ result: 'UNAVAILABLE', endedAt: 4 });
  });

  it('a create failure for a phone already ended or still waiting for its delay changes nothing', () => {
    const s = feed(ringing(), [
      ended(1, 21),
      { type: 'LegCreateFailed', legId: 'd-leg1', detail: 'x', at: 3 },
      { type: 'LegCreateFailed', legId: 'd-leg3', detail: 'x', at: 3 },
    ]);
    expect(s.last).toEqual([]);
    expect(s.state.legs.map((l) => [l.status, l.outcome])).toEqual([
      ['ended', 'noanswer'],
      ['created', undefined],
      ['waiting', undefined],
    ]);
  });

  it("a create whose answer was lost after the phone's StasisStart (timed out) leaves it ringing: its answer still takes the call", () => {
    const s = feed(start({ addresses: THREE.slice(0, 2) }).state, [
      stasis(1),
      { type: 'LegCreateFailed', legId: 'd-leg1', detail: 'timeout', at: 3 },
    ]);
    expect(s.last).toEqual([]);
    expect(s.state.legs[0]!.status).toBe('created');
    expect(s.state.legs[0]!.outcome).toBeUndefined();
    const won = feed(s.state, [{ type: 'LegAnswered', legId: 'd-leg1', at: 4 }]);
    expect(won.state).toMatchObject({ phase: 'bridging', winner: 'd-leg1' });
  });

  it('a channel that shows up after its create was reported failed is hung up, never dialled (nothing left in the app)', () => {
    const failed = feed(start({ addresses: THREE.slice(0, 2) }).state, [
      { type: 'LegCreateFailed', legId: 'd-leg1', detail: 'timeout', at: 3 },
    ]);
    const late = feed(failed.state, [stasis(1)]);
    expect(late.last).toEqual([{ type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' }]);
    expect(late.state.legs[0]).toMatchObject({ status: 'ended', outcome: 'unavailable', hangupReason: 'normal' });
    // Once only: a repeated StasisStart sends nothing more.
    expect(feed(late.state, [stasis(1)]).last).toEqual([]);
  });

  it('an end reported for a phone still waiting for its delay changes nothing (no such channel yet)', () => {
    const before = ringing();
    const step = transition(before, ended(3, 20));
    expect(step.commands).toEqual([]);
    expect(step.state).toEqual(before);
    // and the dispatch does not fail when the other two do
    expect(feed(before, [ended(3, 20), ended(1, 20), ended(2, 20)]).state.phase).toBe('ringing');
  });

  it('a phone still waiting for its delay keeps the dispatch alive when the others fail', () => {
    const s = feed(ringing(), [ended(1, 17), ended(2, 17)]);
    expect(s.state.phase).toBe('ringing');
    expect(s.last).toEqual([{ type: 'CancelTimer', name: 'leg:d-leg2' }]);
  });
});

describe('the overall ring timeout', () => {
  it('ends a ringing dispatch with TIMEOUT: every phone hung up (normal), the delayed one never created, the caller continued', () => {
    const s = feed(ringing(), [fired('overall', 30_100)]);
    expect(s.last).toEqual([
      { type: 'CancelTimer', name: 'leg:d-leg1' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'CancelTimer', name: 'leg:d-leg2' },
      { type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' },
      { type: 'CancelTimer', name: 'delay:d-leg3' },
      { type: 'DestroyBridge', bridgeId: 'd-bridge' },
      { type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: 'TIMEOUT' },
      { type: 'ContinueCaller', fallback: undefined },
      { type: 'ReleaseAgent' },
      { type: 'Finished', result: 'TIMEOUT' },
    ]);
    expect(s.state).toMatchObject({ result: 'TIMEOUT', hungUpBy: 'agentgate', endedAt: 30_100, timers: [] });
    expect(s.state.legs.map((l) => [l.outcome, l.hangupReason])).toEqual([
      ['cancelled', 'normal'],
      ['cancelled', 'normal'],
      ['cancelled', undefined],
    ]);
  });

  it('when every phone was busy or unavailable before it fired, the result says so (BUSY), not TIMEOUT', () => {
    const s = feed(start({ addresses: THREE.slice(0, 2) }).state, [
      stasis(1),
      stasis(2),
      dial(1, 'BUSY'),
      dial(2, 'CHANUNAVAIL'),
      fired('overall'),
    ]);
    expect(s.state.result).toBe('BUSY');
    const u = feed(start({ addresses: THREE.slice(0, 2) }).state, [
      stasis(1),
      stasis(2),
      dial(1, 'CONGESTION'),
      dial(2, 'CHANUNAVAIL'),
      fired('overall'),
    ]);
    expect(u.state.result).toBe('UNAVAILABLE');
  });

  it('a phone that said NOANSWER before the timeout makes it a TIMEOUT', () => {
    const s = feed(start({ addresses: THREE.slice(0, 2) }).state, [
      stasis(1),
      stasis(2),
      dial(1, 'BUSY'),
      dial(2, 'NOANSWER'),
      fired('overall'),
    ]);
    expect(s.state.result).toBe('TIMEOUT');
  });

  it('firing while the answering agent is being bridged does not hang the agent up nor end the call', () => {
    const s = feed(bridging(), [fired('overall')]);
    expect(s.last).toEqual([]);
    expect(s.state).toMatchObject({ phase: 'bridging', winner: 'd-leg2' });
    expect(s.state.result).toBeUndefined();
    expect(s.state.timers).not.toContain('overall');
    // The bridge then holds: the call is answered.
    const t = feed(s.state, [bridged(), ended(2, 16, 90)]);
    expect(t.state.result).toBe('ANSWERED');
  });

  it('if the winner then vanishes before the bridge holds, the time is up: TIMEOUT, the others hung up', () => {
    const s = feed(bridging(), [fired('overall'), ended(2, 16, 31_000)]);
    expect(s.last).toEqual([
      { type: 'CancelTimer', name: 'leg:d-leg1' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'CancelTimer', name: 'delay:d-leg3' },
      ...endRinging('TIMEOUT', []),
    ]);
    expect(s.state).toMatchObject({ result: 'TIMEOUT', endedAt: 31_000 });
  });

  it('is stopped once caller and agent talk', () => {
    const s = feed(bridging(), [bridged(), fired('overall')]);
    expect(s.last).toEqual([]);
    expect(s.state.phase).toBe('talking');
  });
});

describe('an agent answers', () => {
  it('the first answer wins: its ring timer stops, the caller is answered and joined to it; the others keep ringing until the bridge holds', () => {
    const s = feed(ringing(), [answered(2, 12)]);
    expect(s.last).toEqual([
      { type: 'CancelTimer', name: 'leg:d-leg2' },
      { type: 'AnswerCaller' },
      { type: 'BridgeCallerWith', legId: 'd-leg2', bridgeId: 'd-bridge' },
    ]);
    expect(s.state).toMatchObject({ phase: 'bridging', winner: 'd-leg2', answeredAt: 12 });
    expect(s.state.legs[1]).toMatchObject({ status: 'answered', outcome: 'answered', dialStatus: 'ANSWER' });
    expect(s.state.legs[0]!.status).toBe('created');
  });

  it('with answer: early the caller is not answered a second time', () => {
    const s = feed(ringing({ answer: 'early' }), [answered(2)]);
    expect(s.last.map((c) => c.type)).toEqual(['CancelTimer', 'BridgeCallerWith']);
  });

  it('when the bridge holds: the others are hung up as answered elsewhere, the delayed phone never rings, the caller learns who answered', () => {
    const s = feed(bridging(), [bridged(11)]);
    expect(s.last).toEqual([
      { type: 'CancelTimer', name: 'overall' },
      { type: 'CancelTimer', name: 'leg:d-leg1' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'answered_elsewhere' },
      { type: 'CancelTimer', name: 'delay:d-leg3' },
      { type: 'SetCallerVar', name: 'AGENTGATE_ANSWERED_BY', value: 'PJSIP/2' },
    ]);
    expect(s.state.phase).toBe('talking');
    expect(s.state.timers).toEqual([]);
    expect(s.state.legs.map((l) => [l.status, l.outcome, l.hangupReason])).toEqual([
      ['created', 'cancelled', 'answered_elsewhere'],
      ['bridged', 'answered', undefined],
      ['ended', 'cancelled', undefined],
    ]);
  });

  it('a phone that already ended is not hung up again when the bridge holds', () => {
    const s = feed(ringing(), [ended(1, 21), answered(2), bridged()]);
    expect(s.last.filter((c) => c.type === 'HangupLeg')).toEqual([]);
  });

  it('a second agent answering while the first is being bridged is hung up at once as answered elsewhere', () => {
    const s = feed(bridging(), [answered(1, 13)]);
    expect(s.last).toEqual([
      { type: 'CancelTimer', name: 'leg:d-leg1' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'answered_elsewhere' },
    ]);
    expect(s.state.winner).toBe('d-leg2');
    expect(s.state.legs[0]).toMatchObject({ status: 'answered', outcome: 'cancelled', hangupReason: 'answered_elsewhere' });
  });

  it('a repeated answer changes nothing, from the winner (being bridged or talking) or from a phone already hung up', () => {
    expect(feed(bridging(), [answered(2, 14)]).last).toEqual([]);
    const again = feed(talking(), [answered(2, 14)]);
    expect(again.last).toEqual([]);
    expect(again.state.legs[1]!.status).toBe('bridged');
    expect(feed(bridging(), [answered(1), answered(1)]).last).toEqual([]);
    expect(feed(bridging(), [answered(2, 14)]).state.answeredAt).toBe(10);
  });

  it('an answer after the dispatch ended (timeout) is hung up as answered elsewhere; after the caller left, with normal clearing', () => {
    const timedOut = feed(ringing(), [fired('overall')]).state;
    expect(transition(timedOut, answered(1)).commands).toEqual([{ type: 'HangupLeg', legId: 'd-leg1', reason: 'answered_elsewhere' }]);
    const left = feed(ringing(), [callerHangup()]).state;
    expect(transition(left, answered(1)).commands).toEqual([{ type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' }]);
    expect(transition(left, answered(1)).state.legs[0]!.hangupReason).toBe('normal');
  });

  it('a phone entering Stasis after the call was taken is hung up without ringing (answered elsewhere; normal once the caller left)', () => {
    const late = feed(start().state, [stasis(1), answered(1), fired('delay:d-leg3', 5100)]);
    // The delay ended while bridging: the third phone is not even created.
    expect(late.last).toEqual([]);
    const s = feed(start().state, [stasis(1), answered(1), stasis(2)]);
    expect(s.last).toEqual([{ type: 'HangupLeg', legId: 'd-leg2', reason: 'answered_elsewhere' }]);
    expect(s.state.legs[1]).toMatchObject({ status: 'created', outcome: 'cancelled', hangupReason: 'answered_elsewhere' });
    const gone = feed(start().state, [stasis(1), callerHangup(), stasis(2)]);
    expect(gone.last).toEqual([{ type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' }]);
  });
});

describe('the winner vanishes before the bridge holds', () => {
  it('keep_ringing: the other phones go on ringing and a second answer can still win', () => {
    const s = feed(bridging(), [ended(2, 16, 12)]);
    expect(s.last).toEqual([]);
    expect(s.state.phase).toBe('ringing');
    expect(s.state.winner).toBeUndefined();
    expect(s.state.answeredAt).toBeUndefined();
    const again = feed(s.state, [answered(1, 15)]);
    expect(again.state).toMatchObject({ phase: 'bridging', winner: 'd-leg1', answeredAt: 15 });
  });

  it('keep_ringing: when no other phone is left, the dispatch fails with the phones’ result', () => {
    const s = feed(start({ addresses: THREE.slice(0, 2) }).state, [stasis(1), stasis(2), ended(1, 17), answered(2), ended(2, 16, 12)]);
    expect(s.state).toMatchObject({ phase: 'done', result: 'BUSY', endedAt: 12 });
  });

  it('fail: the dispatch ends NOANSWER at once, every other phone hung up (normal), the delayed one never created', () => {
    const s = feed(bridging({ onWinnerHangupBeforeBridge: 'fail' }), [ended(2, 16, 12)]);
    expect(s.last).toEqual([
      { type: 'CancelTimer', name: 'leg:d-leg1' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'CancelTimer', name: 'delay:d-leg3' },
      ...endRinging('NOANSWER', ['overall']),
    ]);
    expect(s.state).toMatchObject({ result: 'NOANSWER', hungUpBy: 'agent', endedAt: 12 });
  });

  it('a failed bridge hangs the answered phone up (never left connected to no one); the hang-up that follows decides', () => {
    const before = bridging();
    const step = transition(before, { type: 'BridgeFailed', detail: 'refused', at: 12 });
    expect(step.commands).toEqual([{ type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' }]);
    expect(step.state.phase).toBe('bridging');
    // Reported twice (or after the phone already ended): nothing more is sent.
    expect(transition(step.state, { type: 'BridgeFailed', detail: 'refused', at: 13 }).commands).toEqual([]);
    expect(transition(talking(), { type: 'Bridged', at: 13 }).commands).toEqual([]);
    expect(transition(ringing(), { type: 'Bridged', at: 13 }).commands).toEqual([]);
  });
});

describe('a conversation ends', () => {
  it('a caller who hangs up mid-conversation releases the agent: its phone hung up, the dispatch answered', () => {
    const s = feed(talking(), [callerHangup(95)]);
    expect(s.last).toEqual([
      { type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' },
      { type: 'DestroyBridge', bridgeId: 'd-bridge' },
      { type: 'ReleaseAgent' },
      { type: 'Finished', result: 'ANSWERED' },
    ]);
    expect(s.state).toMatchObject({
      phase: 'done',
      result: 'ANSWERED',
      hungUpBy: 'caller',
      endedAt: 95,
      claimHeld: false,
      callerGone: true,
    });
    expect(s.state.legs[1]!.hangupReason).toBe('normal');
  });

  it('an agent who hangs up ends the call for the caller too and releases the agent', () => {
    const s = feed(talking(), [ended(2, 16, 90)]);
    expect(s.last).toEqual([
      { type: 'HangupCaller' },
      { type: 'DestroyBridge', bridgeId: 'd-bridge' },
      { type: 'ReleaseAgent' },
      { type: 'Finished', result: 'ANSWERED' },
    ]);
    expect(s.state).toMatchObject({ phase: 'done', result: 'ANSWERED', hungUpBy: 'agent', endedAt: 90 });
    expect(s.state.legs[1]).toMatchObject({ status: 'ended', cause: 16, outcome: 'answered' });
  });

  it('the caller’s own hang-up then arriving changes nothing; nor does the agent’s after the caller’s', () => {
    const agentFirst = feed(talking(), [ended(2), callerHangup()]);
    expect(agentFirst.last).toEqual([]);
    expect(agentFirst.state.hungUpBy).toBe('agent');
    const callerFirst = feed(talking(), [callerHangup(), ended(2)]);
    expect(callerFirst.last).toEqual([]);
    expect(callerFirst.state.hungUpBy).toBe('caller');
    expect(callerFirst.state.legs[1]!.status).toBe('ended');
  });

  it('a caller hang-up is counted once', () => {
    const s = feed(ringing(), [callerHangup(5), callerHangup(6)]);
    expect(s.last).toEqual([]);
    expect(s.state.endedAt).toBe(5);
  });
});

describe('the caller hangs up before anyone answered', () => {
  it('every phone is cleared normally (phones keep a missed call), the delayed one never created, nothing continued, the agent released', () => {
    const s = feed(ringing(), [callerHangup(5)]);
    expect(s.last).toEqual([
      { type: 'CancelTimer', name: 'leg:d-leg1' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'CancelTimer', name: 'leg:d-leg2' },
      { type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' },
      { type: 'CancelTimer', name: 'delay:d-leg3' },
      { type: 'CancelTimer', name: 'overall' },
      { type: 'DestroyBridge', bridgeId: 'd-bridge' },
      { type: 'ReleaseAgent' },
      { type: 'Finished', result: 'CALLER_HANGUP' },
    ]);
    expect(s.state).toMatchObject({ result: 'CALLER_HANGUP', hungUpBy: 'caller', endedAt: 5, callerGone: true });
  });

  it('while being bridged: the answering agent is hung up too (normal), the result is CALLER_HANGUP', () => {
    const s = feed(bridging(), [callerHangup(12)]);
    expect(s.last.filter((c) => c.type === 'HangupLeg')).toEqual([
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' },
    ]);
    expect(s.state.result).toBe('CALLER_HANGUP');
    expect(s.state.legs[1]!.outcome).toBe('answered');
  });

  it('after the dispatch already ended (timeout), the hang-up is only noted', () => {
    const s = feed(ringing(), [fired('overall'), callerHangup()]);
    expect(s.last).toEqual([]);
    expect(s.state).toMatchObject({ result: 'TIMEOUT', callerGone: true, hungUpBy: 'agentgate' });
  });
});

describe('recovery after a restart', () => {
  it('a dispatch that was ringing: every phone hung up, the bridge destroyed, the caller sent on with NOANSWER to its fallback, the agent released', () => {
    const fallback = { context: 'support', extension: 'vm', priority: 2 };
    expect(recover({ callerChannelId: 'c', legChannelIds: ['a', 'b'], bridgeId: 'br', fallback })).toEqual([
      { type: 'HangupLeg', legId: 'a', reason: 'normal' },
      { type: 'HangupLeg', legId: 'b', reason: 'normal' },
      { type: 'DestroyBridge', bridgeId: 'br' },
      { type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: 'NOANSWER' },
      { type: 'ContinueCaller', fallback },
      { type: 'ReleaseAgent' },
    ]);
  });

  it('a dispatch that was talking: the caller is hung up (its agent is gone), no bridge to destroy when none was made', () => {
    expect(recover({ callerChannelId: 'c', legChannelIds: ['a'], talking: true })).toEqual([
      { type: 'HangupLeg', legId: 'a', reason: 'normal' },
      { type: 'HangupCaller' },
      { type: 'ReleaseAgent' },
    ]);
  });
});
