/**
 * Ring-all dispatch as a pure state machine: `transition(state, event) -> { state, commands }`.
 * It never performs a command; src/app/dispatch/command-executor.ts executes them through the CallControl port and the Store.
 * It is total: an event that makes no sense in the current state (a late answer, a second answer, an
 * event for a leg it does not know) returns a defined result, never a throw. Time is an input: timers
 * are commands and their firing is an event.
 *
 * Life of a dispatch:
 *   ringing ──first LegAnswered──> bridging ──Bridged──> talking ──either side hangs up──> done
 *      │  caller hangs up / all legs fail / overall timeout ─────────────────────────────> done
 * A leg answering after the winner (or after the end) is hung up with answered_elsewhere. If the
 * winner hangs up before the bridge completes, the other legs keep ringing (or, with
 * onWinnerHangupBeforeBridge = fail, the dispatch ends NOANSWER).
 *
 * Call control while talking (hold, release, end, transfer, requeue) is call-control.ts: the switch
 * below hands those events to it.
 *
 * Longer than 400 lines on purpose: the whole transition table of a dispatch is one switch, read as one table (splitting it would hide which event each phase ignores).
 */

import { applyCallControl, type CallControlEvent } from './call-control.js';
import { applyDirectTransfer, type DirectTransferCommand, type DirectTransferEvent, type TransferRound } from './direct-transfer.js';

export type { CallControlEvent } from './call-control.js';
export type { DirectTransferCommand, DirectTransferEvent, TransferMode, TransferRound } from './direct-transfer.js';

/**
 * How a dispatch ended. AGENT_HANGUP, TRANSFERRED, REQUEUED: the customer was sent on in the dialplan
 * after talking (the agent left, a blind transfer, back to a queue); ENDED: everyone was hung up.
 */
export type DispatchResult =
  | 'ANSWERED'
  | 'NOANSWER'
  | 'BUSY'
  | 'UNAVAILABLE'
  | 'NOAGENT'
  | 'TIMEOUT'
  | 'CALLER_HANGUP'
  | 'AGENT_HANGUP'
  | 'TRANSFERRED'
  | 'REQUEUED'
  | 'ENDED'
  /** A direct transfer found nobody and the agent had left meanwhile: the customer is sent on (direct-transfer.ts). */
  | 'TRANSFER_FAILED';

/** A dialplan location (context, extension, priority). */
export interface DialplanTarget {
  context: string;
  extension: string;
  priority: number;
}

export type LegStatus = 'waiting' | 'creating' | 'created' | 'ringing' | 'answered' | 'bridged' | 'ended';

export interface Leg {
  readonly id: string;
  readonly endpoint: string;
  readonly delayMs: number;
  readonly timeoutSec: number;
  status: LegStatus;
  /** Last Dial status seen (RINGING, ANSWER, BUSY, CONGESTION, NOANSWER, CHANUNAVAIL...). */
  dialStatus: string;
  /** Why it ended: the hangup cause Asterisk reported, and the reason agentgate gave, if any. */
  cause?: number;
  hangupReason?: string;
  /** Outcome for results: busy, congestion, unavailable, noanswer, answered, cancelled. */
  outcome?: 'busy' | 'congestion' | 'unavailable' | 'noanswer' | 'answered' | 'cancelled' | 'failed';
  /** Its create request failed before its StasisStart: a StasisStart after that is a channel to hang up. */
  createFailed?: boolean;
}

export interface DispatchConfig {
  answer: 'late' | 'early';
  ringTimeoutSec: number;
  onWinnerHangupBeforeBridge: 'keep_ringing' | 'fail';
  fallback?: DialplanTarget;
}

export interface DispatchState {
  readonly id: string;
  /** The call's agent (after a direct transfer: the colleague who took it). */
  agentId: string;
  readonly callerId: string;
  readonly bridgeId: string;
  readonly config: DispatchConfig;
  /** The queue the call came from (5th Stasis argument), if the dialplan named one. */
  readonly queue?: string;
  phase: 'ringing' | 'bridging' | 'talking' | 'done';
  legs: Leg[];
  winner?: string;
  startedAt: number;
  answeredAt?: number;
  endedAt?: number;
  result?: DispatchResult;
  hungUpBy?: 'caller' | 'agent' | 'agentgate';
  /** Timers running now (names). A finished dispatch holds none. */
  timers: string[];
  /** The agent claim is held (acquired before start; released on the way to done). */
  claimHeld: boolean;
  callerGone: boolean;
  bridgeCreated: boolean;
  /** Talking and on hold: since when, and who put it there (agentgate's API, or the agent's phone). */
  hold?: { since: number; by: 'api' | 'phone' };
  /** Where a TRANSFERRED call went (the number), or the queue a REQUEUED call went back to. */
  transferTo?: string;
  requeueTo?: string;
  /**
   * Asterisk transferred the customer itself (a REFER it executed): the caller and the bridge belong to
   * that transfer now, so the end neither continues the caller nor destroys the bridge.
   */
  handedOver?: boolean;
  /** A direct transfer ringing a colleague now (direct-transfer.ts), and how many were started. */
  round?: TransferRound;
  transfers?: number;
  /** After a warm transfer: the colleague in the bridge with the agent and the customer. */
  partner?: { legId: string; agentId: string };
}

export type DispatchEvent =
  | { type: 'LegStasisStarted'; legId: string }
  | { type: 'LegCreateFailed'; legId: string; detail: string; at: number }
  | { type: 'LegRinging'; legId: string }
  | { type: 'LegAnswered'; legId: string; at: number }
  | { type: 'LegDialStatus'; legId: string; dialStatus: string }
  | { type: 'LegEnded'; legId: string; cause: number; at: number }
  | { type: 'CallerHungUp'; at: number }
  | { type: 'Bridged'; at: number }
  | { type: 'BridgeFailed'; detail: string; at: number }
  | { type: 'TimerFired'; name: string; at: number }
  /** The agent claim lapsed and another call holds the agent now (the Store was away longer than its TTL). */
  | { type: 'ClaimLost'; at: number }
  | CallControlEvent
  | DirectTransferEvent;

export type DispatchCommand =
  | { type: 'RingCaller' }
  | { type: 'AnswerCaller' }
  | { type: 'CreateLeg'; legId: string; endpoint: string }
  | { type: 'DialLeg'; legId: string; timeoutSec: number }
  | { type: 'HangupLeg'; legId: string; reason: 'answered_elsewhere' | 'normal' }
  | { type: 'PrepareBridge'; bridgeId: string }
  | { type: 'BridgeCallerWith'; legId: string; bridgeId: string }
  | { type: 'DestroyBridge'; bridgeId: string }
  | { type: 'HangupCaller' }
  | { type: 'SetCallerVar'; name: string; value: string }
  /** Sends the caller on in the dialplan: to `to` when given (transfer, requeue), else `fallback`, else the next priority. */
  | { type: 'ContinueCaller'; fallback?: DialplanTarget; to?: DialplanTarget }
  /** Music on hold to the customer's channel only (the agent stays in the bridge): call-control.ts says why. */
  | { type: 'StartCallerMoh'; mohClass?: string }
  | { type: 'StopCallerMoh' }
  /** Tells the REFERring phone of leg `legId` how its transfer went (a NOTIFY), after the caller's pending requests. */
  | { type: 'ReportTransfer'; legId: string; state: 'channel_answered' }
  | { type: 'StartTimer'; name: string; ms: number }
  | { type: 'CancelTimer'; name: string }
  | { type: 'ReleaseAgent' }
  | { type: 'Finished'; result: DispatchResult }
  | DirectTransferCommand;

export interface StartInput {
  id: string;
  agentId: string;
  callerId: string;
  now: number;
  config: DispatchConfig;
  /** Overall ring timeout from the dialplan argument, else config.ringTimeoutSec. */
  timeoutSec?: number;
  /** Addresses to ring, already deduplicated and without offline endpoints; empty = NOAGENT. */
  addresses: Array<{ endpoint: string; delayMs: number; timeoutSec?: number }>;
  /** Why there is no one to ring (not found, inbound off, busy elsewhere): result NOAGENT. */
  noAgentReason?: string;
  /** The agent is eligible but every address is offline (no registered contact): result UNAVAILABLE, as Dial's CHANUNAVAIL. */
  allOffline?: boolean;
  /** The agent claim was acquired by the caller of startDispatch. */
  claimHeld: boolean;
  /** The queue the call came from (5th Stasis argument). */
  queue?: string;
}

export interface Step {
  state: DispatchState;
  commands: DispatchCommand[];
}

const OVERALL = 'overall';
const legTimer = (id: string): string => `leg:${id}`;
const delayTimer = (id: string): string => `delay:${id}`;

/** Begin a dispatch: ringback (or answer early), create each leg (or wait for its delay), start the overall timer. */
export function startDispatch(input: StartInput): Step {
  const overallSec = input.timeoutSec ?? input.config.ringTimeoutSec;
  const state: DispatchState = {
    id: input.id,
    agentId: input.agentId,
    callerId: input.callerId,
    bridgeId: `${input.id}-bridge`,
    config: input.config,
    ...(input.queue === undefined ? {} : { queue: input.queue }),
    phase: 'ringing',
    legs: input.addresses.map((a, i) => ({
      id: `${input.id}-leg${i + 1}`,
      endpoint: a.endpoint,
      delayMs: a.delayMs,
      timeoutSec: Math.min(a.timeoutSec ?? overallSec, overallSec),
      status: 'waiting',
      dialStatus: '',
    })),
    startedAt: input.now,
    timers: [],
    claimHeld: input.claimHeld,
    callerGone: false,
    bridgeCreated: false,
  };
  const commands: DispatchCommand[] = [];
  if (state.legs.length === 0) {
    finish(state, input.allOffline && !input.noAgentReason ? 'UNAVAILABLE' : 'NOAGENT', input.now, commands);
    return { state, commands };
  }
  commands.push(input.config.answer === 'early' ? { type: 'AnswerCaller' } : { type: 'RingCaller' });
  // The bridge is made while the legs ring, so that an answer costs only the join.
  commands.push({ type: 'PrepareBridge', bridgeId: state.bridgeId });
  state.bridgeCreated = true;
  startTimer(state, OVERALL, overallSec * 1000, commands);
  for (const leg of state.legs) {
    if (leg.delayMs > 0) startTimer(state, delayTimer(leg.id), leg.delayMs, commands);
    else createLeg(leg, commands);
  }
  return { state, commands };
}

function createLeg(leg: Leg, commands: DispatchCommand[]): void {
  leg.status = 'creating';
  commands.push({ type: 'CreateLeg', legId: leg.id, endpoint: leg.endpoint });
}

function startTimer(s: DispatchState, name: string, ms: number, commands: DispatchCommand[]): void {
  s.timers.push(name);
  commands.push({ type: 'StartTimer', name, ms });
}

function cancelTimer(s: DispatchState, name: string, commands: DispatchCommand[]): void {
  const i = s.timers.indexOf(name);
  if (i < 0) return;
  s.timers.splice(i, 1);
  commands.push({ type: 'CancelTimer', name });
}

/** Hang up every leg still up except `keep`, with `reason`; legs still waiting for their delay never start. */
function hangupOthers(
  s: DispatchState,
  keep: string | undefined,
  reason: 'answered_elsewhere' | 'normal',
  commands: DispatchCommand[],
): void {
  for (const leg of s.legs) {
    if (leg.id === keep) continue;
    if (leg.status === 'waiting') {
      leg.status = 'ended';
      leg.outcome = 'cancelled';
      cancelTimer(s, delayTimer(leg.id), commands);
      continue;
    }
    if (leg.status === 'ended') continue;
    cancelTimer(s, legTimer(leg.id), commands);
    leg.hangupReason = reason;
    leg.outcome = leg.outcome ?? 'cancelled';
    commands.push({ type: 'HangupLeg', legId: leg.id, reason });
  }
}

/** The result after every leg failed: BUSY if any was busy, else UNAVAILABLE if any was, else NOANSWER. */
function failureResult(s: DispatchState): DispatchResult {
  const outcomes = s.legs.map((l) => l.outcome);
  if (outcomes.includes('busy')) return 'BUSY';
  if (outcomes.every((o) => o === 'unavailable' || o === 'failed' || o === 'congestion')) return 'UNAVAILABLE';
  return 'NOANSWER';
}

/**
 * Ends the dispatch. Unless the call was answered and hung up (ANSWERED) or ended for everyone
 * (ENDED), a caller still there gets AGENTGATE_RESULT, then `exit.vars`, and is sent on: to
 * `exit.to` when given, else to the configured fallback, else to the next priority.
 */
function finish(
  s: DispatchState,
  result: DispatchResult,
  now: number,
  commands: DispatchCommand[],
  exit?: { vars: Array<[string, string]>; to: DialplanTarget },
): void {
  if (s.phase === 'done') return;
  s.phase = 'done';
  s.result = result;
  s.endedAt = now;
  for (const t of [...s.timers]) cancelTimer(s, t, commands);
  if (s.bridgeCreated && !s.handedOver) commands.push({ type: 'DestroyBridge', bridgeId: s.bridgeId });
  if (result !== 'ANSWERED' && result !== 'ENDED' && !s.callerGone && !s.handedOver) {
    commands.push({ type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: result });
    for (const [name, value] of exit?.vars ?? []) commands.push({ type: 'SetCallerVar', name, value });
    commands.push(exit ? { type: 'ContinueCaller', to: exit.to } : { type: 'ContinueCaller', fallback: s.config.fallback });
  }
  if (s.claimHeld) {
    s.claimHeld = false;
    commands.push({ type: 'ReleaseAgent' });
  }
  commands.push({ type: 'Finished', result });
}

/** When no leg can still answer: finish with the failure result (ringing phase only). */
function checkAllFailed(s: DispatchState, now: number, commands: DispatchCommand[]): void {
  if (s.phase !== 'ringing') return;
  if (s.legs.some((l) => l.status !== 'ended')) return;
  finish(s, failureResult(s), now, commands);
}

function outcomeOfCause(cause: number): Leg['outcome'] {
  if (cause === 17) return 'busy';
  if (cause === 34 || cause === 38 || cause === 42) return 'congestion';
  if (cause === 20 || cause === 1 || cause === 3 || cause === 27 || cause === 66) return 'unavailable';
  return 'noanswer';
}

/** Apply one event. Total: unknown legs and events that do not fit the phase change nothing but may hang up a stray leg. */
export function transition(prev: DispatchState, event: DispatchEvent): Step {
  const s: DispatchState = { ...prev, legs: prev.legs.map((l) => ({ ...l })), timers: [...prev.timers] };
  const commands: DispatchCommand[] = [];
  // A direct transfer's round (the colleague's ring-all) and a warm transfer's partner come first.
  if (applyDirectTransfer(s, event, commands, RING_ALL)) return { state: s, commands };
  const leg = 'legId' in event ? s.legs.find((l) => l.id === event.legId) : undefined;
  if ('legId' in event && leg === undefined) return { state: s, commands };

  switch (event.type) {
    case 'LegStasisStarted': {
      if (leg && leg.createFailed === true && leg.hangupReason === undefined) {
        // Its create was reported failed (e.g. the answer timed out) yet Asterisk made the channel:
        // nobody will dial or bridge it, so it must not be left in the app.
        leg.hangupReason = 'normal';
        commands.push({ type: 'HangupLeg', legId: leg.id, reason: 'normal' });
        break;
      }
      if (!leg || leg.status !== 'creating') break;
      if (s.phase !== 'ringing') {
        // Created before the winner answered; never dial it.
        leg.status = 'created';
        leg.hangupReason = 'answered_elsewhere';
        leg.outcome = 'cancelled';
        commands.push({ type: 'HangupLeg', legId: leg.id, reason: s.callerGone ? 'normal' : 'answered_elsewhere' });
        break;
      }
      leg.status = 'created';
      commands.push({ type: 'DialLeg', legId: leg.id, timeoutSec: leg.timeoutSec });
      startTimer(s, legTimer(leg.id), leg.timeoutSec * 1000, commands);
      break;
    }
    case 'LegCreateFailed': {
      // Only a leg still waiting for its StasisStart: once that came the channel exists (the create's
      // answer was lost, e.g. timed out), and the leg goes on like any other.
      if (!leg || leg.status !== 'creating') break;
      leg.status = 'ended';
      leg.outcome = 'unavailable';
      leg.createFailed = true;
      checkAllFailed(s, event.at, commands);
      break;
    }
    case 'LegRinging': {
      if (!leg || leg.status === 'waiting') break;
      if (leg.status === 'created' || leg.status === 'creating') leg.status = 'ringing';
      leg.dialStatus = 'RINGING';
      break;
    }
    case 'LegDialStatus': {
      if (!leg || leg.status === 'waiting') break;
      leg.dialStatus = event.dialStatus;
      if (
        (event.dialStatus === 'BUSY' || event.dialStatus === 'CONGESTION') &&
        leg.status !== 'ended' &&
        leg.status !== 'answered' &&
        leg.status !== 'bridged'
      ) {
        // Asterisk leaves a busy or congested created leg in Stasis: agentgate hangs it up itself.
        leg.outcome = event.dialStatus === 'BUSY' ? 'busy' : 'congestion';
        leg.hangupReason = 'normal';
        cancelTimer(s, legTimer(leg.id), commands);
        commands.push({ type: 'HangupLeg', legId: leg.id, reason: 'normal' });
      } else if (event.dialStatus === 'CHANUNAVAIL') leg.outcome = 'unavailable';
      else if (event.dialStatus === 'NOANSWER' && leg.outcome === undefined) leg.outcome = 'noanswer';
      break;
    }
    case 'LegAnswered': {
      if (!leg || leg.status === 'ended' || leg.status === 'waiting') break;
      if (s.phase !== 'ringing' || s.winner !== undefined) {
        // A second or late answer: the call is taken.
        if (leg.id !== s.winner && leg.status !== 'answered') {
          leg.status = 'answered';
          leg.hangupReason = s.callerGone ? 'normal' : 'answered_elsewhere';
          leg.outcome = 'cancelled';
          cancelTimer(s, legTimer(leg.id), commands);
          commands.push({ type: 'HangupLeg', legId: leg.id, reason: s.callerGone ? 'normal' : 'answered_elsewhere' });
        }
        break;
      }
      leg.status = 'answered';
      leg.outcome = 'answered';
      leg.dialStatus = 'ANSWER';
      s.winner = leg.id;
      s.answeredAt = event.at;
      s.phase = 'bridging';
      cancelTimer(s, legTimer(leg.id), commands);
      if (s.config.answer === 'late') commands.push({ type: 'AnswerCaller' });
      commands.push({ type: 'BridgeCallerWith', legId: leg.id, bridgeId: s.bridgeId });
      // The others keep ringing until the bridge holds: if the winner vanishes first, they may still answer.
      break;
    }
    case 'Bridged': {
      if (s.phase !== 'bridging' || !s.winner) break;
      const w = s.legs.find((l) => l.id === s.winner)!;
      w.status = 'bridged';
      s.phase = 'talking';
      cancelTimer(s, OVERALL, commands);
      hangupOthers(s, w.id, 'answered_elsewhere', commands);
      commands.push({ type: 'SetCallerVar', name: 'AGENTGATE_ANSWERED_BY', value: w.endpoint });
      break;
    }
    case 'BridgeFailed': {
      if (s.phase !== 'bridging' || !s.winner) break;
      // The join failed (the winner or the caller vanished, or Asterisk refused it). An answered agent
      // that is not connected to anyone must not be left up: it is hung up, and its LegEnded then
      // decides as for a winner that left before the bridge (keep ringing the others, or fail).
      const w = s.legs.find((l) => l.id === s.winner)!;
      if (w.status !== 'ended' && w.hangupReason === undefined) {
        w.hangupReason = 'normal';
        commands.push({ type: 'HangupLeg', legId: w.id, reason: 'normal' });
      }
      break;
    }
    case 'LegEnded': {
      if (!leg || leg.status === 'waiting') break;
      const wasWinner = leg.id === s.winner;
      leg.status = 'ended';
      leg.cause = event.cause;
      if (leg.outcome === undefined) leg.outcome = outcomeOfCause(event.cause);
      cancelTimer(s, legTimer(leg.id), commands);
      if (!wasWinner) {
        checkAllFailed(s, event.at, commands);
        break;
      }
      if (s.phase === 'talking') {
        s.hungUpBy = 'agent';
        if (!s.callerGone) commands.push({ type: 'HangupCaller' });
        finishAnswered(s, commands, event.at);
        break;
      }
      if (s.phase === 'bridging') {
        // The winner hung up before the bridge completed.
        s.winner = undefined;
        s.answeredAt = undefined;
        if (s.config.onWinnerHangupBeforeBridge === 'fail') {
          s.hungUpBy = 'agent';
          hangupOthers(s, undefined, 'normal', commands);
          finish(s, 'NOANSWER', event.at, commands);
        } else if (!s.timers.includes(OVERALL)) {
          hangupOthers(s, undefined, 'normal', commands);
          finish(s, 'TIMEOUT', event.at, commands);
        } else {
          s.phase = 'ringing';
          checkAllFailed(s, event.at, commands);
        }
      }
      break;
    }
    case 'CallerHungUp': {
      if (s.callerGone) break;
      s.callerGone = true;
      if (s.phase === 'ringing' || s.phase === 'bridging') {
        s.hungUpBy = 'caller';
        // Phones keep a missed call: normal clearing, not answered_elsewhere.
        hangupOthers(s, undefined, 'normal', commands);
        finish(s, 'CALLER_HANGUP', event.at, commands);
      } else if (s.phase === 'talking') {
        s.hungUpBy = 'caller';
        if (s.winner) {
          const w = s.legs.find((l) => l.id === s.winner)!;
          if (w.status !== 'ended') {
            w.hangupReason = 'normal';
            commands.push({ type: 'HangupLeg', legId: w.id, reason: 'normal' });
          }
        }
        finishAnswered(s, commands, event.at);
      }
      break;
    }
    case 'HoldRequested':
    case 'UnholdRequested':
    case 'PhoneHeld':
    case 'PhoneUnheld':
    case 'AgentReleaseRequested':
    case 'EndRequested':
    case 'TransferRequested':
    case 'RequeueRequested':
    case 'PhoneTransferRequested':
    case 'TransferredByPbx':
      applyCallControl(s, event, commands, finish);
      break;
    case 'ClaimLost': {
      // Another call was given the agent: stop offering this one (NOAGENT, the caller goes on in the
      // dialplan). Once answered, the conversation is left alone: only ringing stops.
      if (s.phase !== 'ringing') break;
      s.hungUpBy = 'agentgate';
      hangupOthers(s, undefined, 'normal', commands);
      finish(s, 'NOAGENT', event.at, commands);
      break;
    }
    case 'TimerFired': {
      const i = s.timers.indexOf(event.name);
      if (i < 0) break; // cancelled meanwhile
      s.timers.splice(i, 1);
      if (event.name === OVERALL) {
        if (s.phase !== 'ringing') break;
        s.hungUpBy = 'agentgate';
        hangupOthers(s, undefined, 'normal', commands);
        const anyRang = s.legs.some((l) => l.outcome === 'cancelled' || l.outcome === 'noanswer');
        finish(s, anyRang ? 'TIMEOUT' : failureResult(s), event.at, commands);
      } else if (event.name.startsWith('delay:')) {
        const l = s.legs.find((x) => delayTimer(x.id) === event.name);
        if (l && l.status === 'waiting' && s.phase === 'ringing') createLeg(l, commands);
      } else if (event.name.startsWith('leg:')) {
        const l = s.legs.find((x) => legTimer(x.id) === event.name);
        if (l && l.status !== 'ended' && l.status !== 'answered' && l.status !== 'bridged') {
          l.outcome = 'noanswer';
          l.hangupReason = 'normal';
          commands.push({ type: 'HangupLeg', legId: l.id, reason: 'normal' });
        }
      }
      break;
    }
  }
  return { state: s, commands };
}

/** What direct-transfer.ts reuses: the same ring-all for the colleague, and the one `finish`. */
const RING_ALL = { start: startDispatch, step: transition, finish };

/** An answered dispatch ends when either side hangs up, at that moment (`now`). */
function finishAnswered(s: DispatchState, commands: DispatchCommand[], now: number): void {
  finish(s, 'ANSWERED', now, commands);
}

/** True once the dispatch reached its end (no claim, no timer left). */
export function isFinished(s: DispatchState): boolean {
  return s.phase === 'done';
}

/**
 * After a restart, for a dispatch found in the Store: hang up every leg, destroy the bridge, and
 * send the caller on (fallback) unless it was already talking, in which case hang it up.
 */
export function recover(record: {
  callerChannelId: string;
  legChannelIds: string[];
  bridgeId?: string;
  talking?: boolean;
  fallback?: DialplanTarget;
}): DispatchCommand[] {
  const commands: DispatchCommand[] = [];
  for (const id of record.legChannelIds) commands.push({ type: 'HangupLeg', legId: id, reason: 'normal' });
  if (record.bridgeId) commands.push({ type: 'DestroyBridge', bridgeId: record.bridgeId });
  if (record.talking) commands.push({ type: 'HangupCaller' });
  else {
    commands.push({ type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: 'NOANSWER' });
    commands.push({ type: 'ContinueCaller', fallback: record.fallback });
  }
  commands.push({ type: 'ReleaseAgent' });
  return commands;
}
