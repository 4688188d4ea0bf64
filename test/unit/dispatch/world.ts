/**
 * A fair, randomly scheduled model of the world around the dispatch machine (Asterisk, the phones, the
 * caller, the clock), for liveness properties. The world answers every command the machine gives the
 * way Asterisk does (a created channel enters Stasis or fails; a hung-up channel ends with the cause
 * the reason maps to; a started timer fires unless cancelled; a bridge join completes or fails), and
 * each phone has a fate decided up front. Which pending happening comes next is random, so answers
 * race with bridges, hangups and timers; but nothing pending is ever dropped (fairness), so every run
 * ends with nothing left to happen. That is when a dispatch must be done.
 */
import fc from 'fast-check';
import {
  startDispatch,
  transition,
  type DispatchCommand,
  type DispatchConfig,
  type DispatchEvent,
  type DispatchState,
  type StartInput,
} from '../../../src/domain/dispatch/machine.js';

/** What a phone does once dialled. */
export type Fate =
  /** rings, then the agent picks up */
  | 'answers'
  /** Dial reports BUSY; the channel stays until agentgate hangs it up */
  | 'busy'
  /** Dial reports CONGESTION; likewise */
  | 'congestion'
  /** the agent rejects the call: the channel ends by itself (cause 21) */
  | 'rejects'
  /** not reachable: CHANUNAVAIL, then the channel ends (cause 20) */
  | 'unavailable'
  /** rings until someone hangs it up */
  | 'rings'
  /** the channel cannot even be created (ARI POST /channels fails) */
  | 'createFails';

export const FATES: readonly Fate[] = ['answers', 'busy', 'congestion', 'rejects', 'unavailable', 'rings', 'createFails'];

/**
 * How the conversation ends once caller and agent are bridged: a side hangs up, or call control
 * (src/domain/dispatch/call-control.ts) acts, possibly after a hold.
 */
export type Ending =
  | 'callerHangsUp'
  | 'agentHangsUp'
  | 'holdThenCallerHangsUp'
  | 'phoneHoldThenAgentHangsUp'
  | 'holdUnholdThenAgentHangsUp'
  | 'release'
  | 'holdThenRelease'
  | 'end'
  | 'transfer'
  | 'holdThenTransfer'
  | 'requeue';

export const ENDINGS: readonly Ending[] = [
  'callerHangsUp',
  'agentHangsUp',
  'holdThenCallerHangsUp',
  'phoneHoldThenAgentHangsUp',
  'holdUnholdThenAgentHangsUp',
  'release',
  'holdThenRelease',
  'end',
  'transfer',
  'holdThenTransfer',
  'requeue',
];

/**
 * A direct transfer to a colleague (src/domain/dispatch/direct-transfer.ts), started once the call
 * talks: the colleague's devices have fates of their own; `twist` happens at a random moment after
 * the request (racing the round); `finale` is how the conversation ends once the round is over.
 */
export interface TransferScenario {
  mode: 'blind' | 'warm';
  fates: Fate[];
  delays: number[];
  /** Joining the colleague's answering leg fails (its channel vanished while being joined). */
  joinFails: boolean;
  twist:
    'none' | 'customerHangsUp' | 'end' | 'agentLeaves' | 'agentHangsUp' | 'transferToNumber' | 'requeue' | 'phoneTransfer' | 'pbxTransfer';
  finale: 'callerHangsUp' | 'agentHangsUp' | 'release' | 'end' | 'partnerLeaves' | 'partnerHangsUp';
}

export interface Scenario {
  fates: Fate[];
  delays: number[];
  answer: DispatchConfig['answer'];
  onWinnerHangupBeforeBridge: DispatchConfig['onWinnerHangupBeforeBridge'];
  /** The caller gives up at some point while the dispatch is not over (its hang-up is one more pending happening). */
  impatientCaller: boolean;
  /** Whether joining the bridge fails (the winner's channel vanishes while being joined). */
  bridgeFails: boolean;
  ending: Ending;
  /** Random choices of which pending happening comes next (taken modulo the number pending). */
  schedule: number[];
  /** A direct-transfer round once the call talks (instead of `ending`). */
  transfer?: TransferScenario;
}

export const scenarioArb: fc.Arbitrary<Scenario> = fc.integer({ min: 1, max: 4 }).chain((n) =>
  fc.record({
    fates: fc.array(fc.constantFrom(...FATES), { minLength: n, maxLength: n }),
    delays: fc.array(fc.constantFrom(0, 0, 2000), { minLength: n, maxLength: n }),
    answer: fc.constantFrom<DispatchConfig['answer']>('late', 'early'),
    onWinnerHangupBeforeBridge: fc.constantFrom<DispatchConfig['onWinnerHangupBeforeBridge']>('keep_ringing', 'fail'),
    impatientCaller: fc.nat(3).map((x) => x === 0),
    bridgeFails: fc.nat(4).map((x) => x === 0),
    ending: fc.constantFrom<Ending>(...ENDINGS),
    schedule: fc.array(fc.nat(1000), { minLength: 60, maxLength: 60 }),
  }),
);

/** Scenarios whose answered calls go through a direct-transfer round (blind or warm) before they end. */
export const transferScenarioArb: fc.Arbitrary<Scenario> = fc
  .tuple(
    scenarioArb,
    fc.integer({ min: 1, max: 3 }).chain((n) =>
      fc.record({
        mode: fc.constantFrom<TransferScenario['mode']>('blind', 'warm'),
        // bob answers more often than a random phone, so that many rounds are won (and raced).
        fates: fc.array(fc.constantFrom<Fate>(...FATES, 'answers', 'answers', 'answers'), { minLength: n, maxLength: n }),
        delays: fc.array(fc.constantFrom(0, 0, 2000), { minLength: n, maxLength: n }),
        joinFails: fc.nat(5).map((x) => x === 0),
        twist: fc.constantFrom<TransferScenario['twist']>(
          'none',
          'none',
          'none',
          'none',
          'customerHangsUp',
          'end',
          'agentLeaves',
          'agentHangsUp',
          'transferToNumber',
          'requeue',
          'phoneTransfer',
          'pbxTransfer',
        ),
        finale: fc.constantFrom<TransferScenario['finale']>(
          'callerHangsUp',
          'agentHangsUp',
          'release',
          'end',
          'partnerLeaves',
          'partnerHangsUp',
        ),
      }),
    ),
  )
  // The first phone of the call answers (most runs reach the round), and the caller waits for it.
  .map(([sc, transfer]) => ({ ...sc, fates: ['answers' as Fate, ...sc.fates.slice(1)], impatientCaller: false, transfer }));

/** Hang-up cause Asterisk reports for a channel agentgate hung up with `reason` (what the ARI adapter sends). */
export const causeOf = (reason: 'answered_elsewhere' | 'normal'): number => (reason === 'answered_elsewhere' ? 26 : 16);

export interface Delivered {
  event: DispatchEvent;
  /** The machine's state just before the event. */
  before: DispatchState;
  commands: DispatchCommand[];
  /** The machine's state just after it. */
  after: DispatchState;
}

export interface Outcome {
  state: DispatchState;
  /** Every command, in order (the start's included). */
  log: DispatchCommand[];
  delivered: Delivered[];
  /** Happenings still pending when the run stopped (empty: the world had nothing left to do). */
  pending: DispatchEvent[];
}

/**
 * Run a scenario to quiescence: start the dispatch, then deliver pending happenings in the scenario's
 * random order, adding the world's reactions to each command, until nothing is pending.
 */
export function play(sc: Scenario): Outcome {
  const input: StartInput = {
    id: 'd',
    agentId: 'alice',
    callerId: 'caller',
    now: 0,
    config: { answer: sc.answer, ringTimeoutSec: 30, onWinnerHangupBeforeBridge: sc.onWinnerHangupBeforeBridge },
    addresses: sc.fates.map((_, i) => ({ endpoint: `PJSIP/${i + 1}`, delayMs: sc.delays[i] ?? 0 })),
    claimHeld: true,
  };
  const start = startDispatch(input);
  let s = start.state;
  const log: DispatchCommand[] = [...start.commands];
  const delivered: Delivered[] = [];
  // Pending happenings, each with the channel it belongs to (cleared when that channel is gone).
  let pending: Array<{ event: DispatchEvent; channel?: string }> = [];
  // The call's own legs are d-leg<n>; a transfer round's are d-t1-leg<n> (the colleague's devices).
  const fateOf = (legId: string): Fate =>
    legId.startsWith('d-t1-leg')
      ? sc.transfer!.fates[Number(legId.slice('d-t1-leg'.length)) - 1]!
      : sc.fates[Number(legId.slice('d-leg'.length)) - 1]!;
  const gone = new Set<string>();
  let callerGone = false;
  let now = 0;

  const react = (c: DispatchCommand): void => {
    switch (c.type) {
      case 'CreateLeg':
        pending.push(
          fateOf(c.legId) === 'createFails'
            ? { event: { type: 'LegCreateFailed', legId: c.legId, detail: '500', at: now } }
            : { event: { type: 'LegStasisStarted', legId: c.legId }, channel: c.legId },
        );
        break;
      case 'DialLeg': {
        const f = fateOf(c.legId);
        const events: DispatchEvent[] = [];
        if (f === 'answers') events.push({ type: 'LegRinging', legId: c.legId }, { type: 'LegAnswered', legId: c.legId, at: now });
        else if (f === 'busy') events.push({ type: 'LegDialStatus', legId: c.legId, dialStatus: 'BUSY' });
        else if (f === 'congestion') events.push({ type: 'LegDialStatus', legId: c.legId, dialStatus: 'CONGESTION' });
        else if (f === 'rejects')
          events.push({ type: 'LegRinging', legId: c.legId }, { type: 'LegEnded', legId: c.legId, cause: 21, at: now });
        else if (f === 'unavailable')
          events.push(
            { type: 'LegDialStatus', legId: c.legId, dialStatus: 'CHANUNAVAIL' },
            { type: 'LegEnded', legId: c.legId, cause: 20, at: now },
          );
        else events.push({ type: 'LegRinging', legId: c.legId });
        // A phone's own happenings come in order: only the first is deliverable, the rest follow it.
        chain(events, c.legId);
        break;
      }
      case 'HangupLeg':
        if (gone.has(c.legId)) break;
        gone.add(c.legId);
        pending = pending.filter((p) => p.channel !== c.legId);
        pending.push({ event: { type: 'LegEnded', legId: c.legId, cause: causeOf(c.reason), at: now } });
        break;
      case 'BridgeCallerWith':
        if (sc.bridgeFails) {
          pending.push({ event: { type: 'BridgeFailed', detail: 'channel gone', at: now } });
          if (!gone.has(c.legId)) {
            gone.add(c.legId);
            pending = pending.filter((p) => p.channel !== c.legId);
            pending.push({ event: { type: 'LegEnded', legId: c.legId, cause: 16, at: now } });
          }
        } else pending.push({ event: { type: 'Bridged', at: now } });
        break;
      case 'SetCallerVar':
        // The conversation has begun: one side will end it (or the agent transfers it to a colleague first).
        if (c.name === 'AGENTGATE_ANSWERED_BY') {
          if (sc.transfer) requestTransfer(s.winner!);
          else converse(s.winner!);
        }
        break;
      case 'JoinBridge':
        if (sc.transfer?.joinFails) {
          pending.push({ event: { type: 'TransferJoinFailed', legId: c.legId, detail: 'channel gone', at: now } });
          if (!gone.has(c.legId)) {
            gone.add(c.legId);
            pending = pending.filter((p) => p.channel !== c.legId);
            pending.push({ event: { type: 'LegEnded', legId: c.legId, cause: 16, at: now } });
          }
        } else pending.push({ event: { type: 'TransferJoined', legId: c.legId, at: now } });
        break;
      case 'TransferOutcome':
        finale();
        break;
      case 'ContinueCaller':
        // The caller left Stasis for the dialplan: it never hangs up towards this dispatch again.
        callerGone = true;
        pending = pending.filter((p) => p.event.type !== 'CallerHungUp');
        break;
      case 'HangupCaller':
        hangUpCaller();
        break;
      case 'StartTimer':
        pending.push({ event: { type: 'TimerFired', name: c.name, at: now + c.ms } });
        break;
      case 'CancelTimer': {
        const i = pending.findIndex((p) => p.event.type === 'TimerFired' && p.event.name === c.name);
        if (i >= 0) pending.splice(i, 1);
        break;
      }
      default:
        break;
    }
  };
  // Follow-ups wait behind their predecessor: kept in a side table, released when it is delivered.
  const after = new Map<DispatchEvent, DispatchEvent[]>();
  function chain(events: DispatchEvent[], channel: string): void {
    const [first, ...rest] = events;
    if (!first) return;
    pending.push({ event: first, channel });
    if (rest.length > 0) after.set(first, rest);
  }
  /** The conversation's ending, as the scenario says: its happenings in order (the agent's desk acts as one channel). */
  function converse(winner: string): void {
    const agentHangsUp: DispatchEvent = { type: 'LegEnded', legId: winner, cause: 16, at: now };
    const hold: DispatchEvent = { type: 'HoldRequested', at: now, mohClass: 'default' };
    const transfer: DispatchEvent = {
      type: 'TransferRequested',
      at: now,
      to: '100',
      target: { context: 't', extension: '100', priority: 1 },
    };
    const seq: Record<Ending, DispatchEvent[]> = {
      callerHangsUp: [],
      agentHangsUp: [agentHangsUp],
      holdThenCallerHangsUp: [hold],
      phoneHoldThenAgentHangsUp: [{ type: 'PhoneHeld', at: now }, agentHangsUp],
      holdUnholdThenAgentHangsUp: [hold, { type: 'UnholdRequested', at: now }, agentHangsUp],
      release: [{ type: 'AgentReleaseRequested', at: now }],
      holdThenRelease: [hold, { type: 'AgentReleaseRequested', at: now }],
      end: [{ type: 'EndRequested', at: now }],
      transfer: [transfer],
      holdThenTransfer: [hold, transfer],
      requeue: [{ type: 'RequeueRequested', at: now, queue: 'sales', target: { context: 'q', extension: 'sales', priority: 1 } }],
    };
    chain(seq[sc.ending], winner);
    if (sc.ending === 'callerHangsUp' || sc.ending === 'holdThenCallerHangsUp') hangUpCaller();
  }
  /** The agent asks for a direct transfer to bob (the app took bob's claim already). */
  function requestTransfer(winner: string): void {
    const t = sc.transfer!;
    const request: DispatchEvent = {
      type: 'DirectTransferRequested',
      at: now,
      target: 'bob',
      mode: t.mode,
      addresses: t.fates.map((_, i) => ({ endpoint: `PJSIP/bob${i + 1}`, delayMs: t.delays[i] ?? 0 })),
    };
    chain([request], winner);
  }
  /** The twist of the scenario, at a random moment while the colleague rings (or later: it races the round). */
  function twist(): void {
    const at = now;
    const t = sc.transfer!.twist;
    if (t === 'customerHangsUp') hangUpCaller();
    else if (t === 'end') pending.push({ event: { type: 'EndRequested', at } });
    else if (t === 'agentLeaves') pending.push({ event: { type: 'AgentReleaseRequested', at } });
    else if (t === 'agentHangsUp' && !gone.has(s.winner!)) agentPhoneHangsUp(s.winner!);
    else if (t === 'transferToNumber')
      pending.push({ event: { type: 'TransferRequested', at, to: '100', target: { context: 't', extension: '100', priority: 1 } } });
    else if (t === 'phoneTransfer')
      pending.push({ event: { type: 'PhoneTransferRequested', at, to: '100', target: { context: 't', extension: '100', priority: 1 } } });
    else if (t === 'pbxTransfer') pending.push({ event: { type: 'TransferredByPbx', at, to: '100' } });
    else if (t === 'requeue')
      pending.push({ event: { type: 'RequeueRequested', at, queue: 'sales', target: { context: 'q', extension: 'sales', priority: 1 } } });
  }
  /** An agent's phone hangs up by itself: its channel is gone. */
  function agentPhoneHangsUp(legId: string): void {
    gone.add(legId);
    pending = pending.filter((p) => p.channel !== legId);
    pending.push({ event: { type: 'LegEnded', legId, cause: 16, at: now } });
  }
  /**
   * The round is over (the colleague took the call, or it failed): the conversation ends as the
   * scenario says, racing the customer hanging up (so every run ends, whoever is left in the call).
   */
  function finale(): void {
    if (s.phase === 'done') return;
    const f = sc.transfer!.finale;
    if (f === 'agentHangsUp' && !gone.has(s.winner!)) agentPhoneHangsUp(s.winner!);
    else if (f === 'release') pending.push({ event: { type: 'AgentReleaseRequested', at: now } });
    else if (f === 'end') pending.push({ event: { type: 'EndRequested', at: now } });
    else if (f === 'partnerLeaves' && s.partner)
      pending.push({ event: { type: 'AgentReleaseRequested', at: now, agent: s.partner.agentId } });
    else if (f === 'partnerHangsUp' && s.partner && !gone.has(s.partner.legId)) agentPhoneHangsUp(s.partner.legId);
    hangUpCaller();
  }
  function hangUpCaller(): void {
    if (callerGone) return;
    callerGone = true;
    pending.push({ event: { type: 'CallerHungUp', at: now } });
  }

  if (sc.impatientCaller) hangUpCaller();
  for (const c of start.commands) react(c);
  let turn = 0;
  while (pending.length > 0 && turn < 500) {
    // Channels and people act at once; a timer fires when its time comes: mostly once nothing else
    // is pending, sometimes (one turn in eight) before, to race with answers and hang-ups.
    const r = sc.schedule[turn % sc.schedule.length]! + turn;
    turn++;
    const timers = pending
      .filter((p) => p.event.type === 'TimerFired')
      .sort((a, b) => (a.event as { at: number }).at - (b.event as { at: number }).at);
    const others = pending.filter((p) => p.event.type !== 'TimerFired');
    const chosen = others.length === 0 || r % 8 === 0 ? (timers[0] ?? others[r % others.length]!) : others[r % others.length]!;
    const pick = pending.indexOf(chosen);
    const [{ event, channel }] = pending.splice(pick, 1) as [{ event: DispatchEvent; channel?: string }];
    if ('at' in event) now = Math.max(now, event.at);
    const before = s;
    const step = transition(s, event);
    s = step.state;
    log.push(...step.commands);
    delivered.push({ event, before, commands: step.commands, after: s });
    if (event.type === 'DirectTransferRequested') twist();
    const next = after.get(event);
    if (next && channel !== undefined && !gone.has(channel)) chain(next, channel);
    for (const c of step.commands) react(c);
  }
  return { state: s, log, delivered, pending: pending.map((p) => p.event) };
}
