/**
 * Direct transfer of a talking call to a colleague (issue #14 part 5), blind or warm, by the same
 * ring-all as dispatch. machine.ts's `transition` hands every event to `applyDirectTransfer` first;
 * it takes the events that belong to a transfer round (or change who is in the call) and leaves the
 * rest to the ring-all table.
 *
 * Why a child DispatchState: the target is rung by machine.ts itself (startDispatch + transition on a
 * second state kept in `s.round.child`), so delays, per-leg timeouts, busy/congestion, a winner that
 * vanishes before the join, late answers (answered_elsewhere) and the overall timeout behave exactly
 * as in dispatch, and machine.ts gains no second ring-all. The child's commands are translated here:
 * its legs and timers pass through (timers renamed `xfer:<name>`), its join becomes JoinBridge into
 * the call's existing bridge, and everything about the customer (ring, answer, bridge create/destroy,
 * variables, continue, claim) is dropped: the customer belongs to the call, not to the round.
 *
 *   blind  customer on MOH while the target rings (unless already on hold). Target joins the
 *          bridge → MOH stops, the original agent's leg is hung up (normal) and its claim released;
 *          the call's agent is the target now.
 *   warm   no MOH: the agent keeps talking to the customer while the target rings. Target joins →
 *          three parties (`s.partner`). The original agent leaving (hangup, or its phone hanging
 *          up) hands the call to the partner; the partner leaving releases only the partner.
 *   failed (no answer, busy, unavailable, every address offline) → the target's claim is released;
 *          the customer is back with the agent (MOH off), or, if the agent left meanwhile, sent on in
 *          the dialplan with AGENTGATE_RESULT=TRANSFER_FAILED.
 * The customer hanging up, `end`, a blind transfer to a number and a requeue stop the round (every
 * target leg hung up normally, its timers cancelled, its claim released) and hang up the partner.
 */
import type {
  DialplanTarget,
  DispatchCommand,
  DispatchConfig,
  DispatchEvent,
  DispatchResult,
  DispatchState,
  StartInput,
  Step,
} from './machine.js';

export type TransferMode = 'blind' | 'warm';

export type DirectTransferEvent =
  /** Ring `target` on `addresses` (offline ones already removed; the target's claim is already taken). */
  | {
      type: 'DirectTransferRequested';
      at: number;
      target: string;
      mode: TransferMode;
      addresses: Array<{ endpoint: string; delayMs: number; timeoutSec?: number }>;
      /** Every address of the target is offline (the round fails at once, UNAVAILABLE). */
      allOffline?: boolean;
      timeoutSec?: number;
      mohClass?: string;
    }
  /** The target's answering leg is in the call's bridge. */
  | { type: 'TransferJoined'; legId: string; at: number }
  | { type: 'TransferJoinFailed'; legId: string; detail: string; at: number };

export type DirectTransferCommand =
  /** Adds the target's answering leg to the call's existing bridge (the customer is already in it). */
  | { type: 'JoinBridge'; legId: string; bridgeId: string }
  /** Releases `agent:<agentId>` held by this call. */
  | { type: 'ReleaseClaim'; agentId: string }
  /** How the round ended, for whoever started it (the phone's NOTIFY, the audit). */
  | { type: 'TransferOutcome'; target: string; outcome: 'answered' | 'failed'; endpoint?: string; result?: string };

export interface TransferRound {
  readonly mode: TransferMode;
  readonly target: string;
  /** The target's ring-all, run by machine.ts on a state of its own. */
  child: DispatchState;
  /** agentgate started MOH on the customer for this round (to be stopped when it ends). */
  music: boolean;
  /** The original agent left while the target rang. */
  agentLeft: boolean;
}

/** What machine.ts lends this file (passed in, so this file does not import machine.ts back). */
export interface RingAll {
  start(input: StartInput): Step;
  step(state: DispatchState, event: DispatchEvent): Step;
  finish(
    s: DispatchState,
    result: DispatchResult,
    now: number,
    commands: DispatchCommand[],
    exit?: { vars: Array<[string, string]>; to: DialplanTarget },
  ): void;
}

const PREFIX = 'xfer:';

/** Handles `event` when it belongs to a transfer round or to a call with a partner; false = the ring-all table decides. */
export function applyDirectTransfer(s: DispatchState, event: DispatchEvent, commands: DispatchCommand[], ring: RingAll): boolean {
  switch (event.type) {
    case 'DirectTransferRequested':
      if (s.phase === 'talking' && !s.round && !s.partner && !s.callerGone) start(s, event, commands, ring);
      return true;
    case 'TransferJoined':
    case 'TransferJoinFailed': {
      const round = own(s);
      if (round && round.child.legs.some((l) => l.id === event.legId))
        feedChild(
          s,
          round,
          event.type === 'TransferJoined'
            ? { type: 'Bridged', at: event.at }
            : { type: 'BridgeFailed', detail: event.detail, at: event.at },
          event.at,
          commands,
          ring,
        );
      return true;
    }
    default:
      break;
  }
  const round = s.round;
  if (round && 'legId' in event && round.child.legs.some((l) => l.id === event.legId)) {
    feedChild(s, own(s)!, event, 'at' in event ? event.at : s.startedAt, commands, ring);
    return true;
  }
  if (round && event.type === 'TimerFired' && event.name.startsWith(PREFIX)) {
    feedChild(s, own(s)!, { ...event, name: event.name.slice(PREFIX.length) }, event.at, commands, ring);
    return true;
  }
  if ((!round && !s.partner) || s.phase !== 'talking') return false;
  switch (event.type) {
    case 'AgentReleaseRequested':
      if (s.partner && event.agent === s.partner.agentId) partnerLeaves(s, true, commands);
      else agentLeaves(s, true, commands);
      return true;
    case 'LegEnded': {
      const leg = s.legs.find((l) => l.id === event.legId);
      if (!leg || (event.legId !== s.winner && event.legId !== s.partner?.legId)) return false;
      leg.status = 'ended';
      leg.cause = event.cause;
      if (event.legId === s.winner) agentLeaves(s, false, commands);
      else partnerLeaves(s, false, commands);
      return true;
    }
    case 'CallerHungUp':
    case 'EndRequested':
    case 'TransferRequested':
    case 'RequeueRequested':
    case 'PhoneTransferRequested':
    case 'TransferredByPbx':
      // The call ends (or leaves agentgate) for everyone: stop the round, hang up the partner; the table does the rest.
      if (s.round) {
        const round = own(s)!;
        abort(s, round, event.type === 'CallerHungUp' ? 'CALLER_HANGUP' : 'ENDED', event.at, commands, ring);
        // The customer goes on without the round's music (the table stops only a hold's), before its continue.
        if (round.music && event.type !== 'CallerHungUp' && event.type !== 'EndRequested') commands.push({ type: 'StopCallerMoh' });
      }
      if (s.partner) {
        commands.push({ type: 'HangupLeg', legId: s.partner.legId, reason: 'normal' });
        commands.push({ type: 'ReleaseClaim', agentId: s.partner.agentId });
        s.partner = undefined;
      }
      return false;
    default:
      return false;
  }
}

/** The round of `s`, copied so `prev` (the caller's state) is never changed. */
function own(s: DispatchState): TransferRound | undefined {
  if (!s.round) return undefined;
  s.round = { ...s.round };
  return s.round;
}

function start(
  s: DispatchState,
  e: Extract<DirectTransferEvent, { type: 'DirectTransferRequested' }>,
  commands: DispatchCommand[],
  ring: RingAll,
): void {
  s.transfers = (s.transfers ?? 0) + 1;
  const config: DispatchConfig = { answer: 'late', ringTimeoutSec: s.config.ringTimeoutSec, onWinnerHangupBeforeBridge: 'keep_ringing' };
  const step = ring.start({
    id: `${s.id}-t${s.transfers}`,
    agentId: e.target,
    callerId: s.callerId,
    now: e.at,
    config,
    ...(e.timeoutSec === undefined ? {} : { timeoutSec: e.timeoutSec }),
    addresses: e.addresses,
    ...(e.allOffline === undefined ? {} : { allOffline: e.allOffline }),
    claimHeld: false,
  });
  const round: TransferRound = { mode: e.mode, target: e.target, child: step.state, music: false, agentLeft: false };
  s.round = round;
  if (e.mode === 'blind' && !s.hold) {
    round.music = true;
    commands.push(e.mohClass === undefined ? { type: 'StartCallerMoh' } : { type: 'StartCallerMoh', mohClass: e.mohClass });
  }
  adopt(s, round, step, e.at, commands, ring);
}

/** One event into the target's ring-all. */
function feedChild(
  s: DispatchState,
  round: TransferRound,
  event: DispatchEvent,
  at: number,
  commands: DispatchCommand[],
  ring: RingAll,
): void {
  adopt(s, round, ring.step(round.child, event), at, commands, ring);
}

/** Takes the child's new state and translates its commands (see the file comment); then reacts to its join or its end. */
function adopt(s: DispatchState, round: TransferRound, step: Step, at: number, commands: DispatchCommand[], ring: RingAll): void {
  round.child = step.state;
  let ended: DispatchResult | undefined;
  for (const c of step.commands) {
    switch (c.type) {
      case 'CreateLeg':
      case 'DialLeg':
      case 'HangupLeg':
        commands.push(c);
        break;
      case 'StartTimer':
      case 'CancelTimer':
        commands.push({ ...c, name: PREFIX + c.name });
        break;
      case 'BridgeCallerWith':
        commands.push({ type: 'JoinBridge', legId: c.legId, bridgeId: s.bridgeId });
        break;
      case 'Finished':
        ended = c.result;
        break;
      default:
        break; // the customer's side (ring, answer, bridge, variables, continue) and the child's claim belong to the call
    }
  }
  if (s.round !== round) return; // aborted: the caller of adopt finishes the story
  // A live round's child is never talking before this step: it joins once, and joined() ends the round.
  if (step.state.phase === 'talking') joined(s, round, commands);
  else if (ended !== undefined) failed(s, round, ended, at, commands, ring);
}

/** The target is in the bridge: blind → the target is the call's agent; warm → three parties. */
function joined(s: DispatchState, round: TransferRound, commands: DispatchCommand[]): void {
  const w = round.child.legs.find((l) => l.id === round.child.winner)!;
  s.round = undefined;
  // The target's devices become the call's legs: a late answer is hung up, the audit lists them.
  s.legs.push(...round.child.legs);
  if (round.music || s.hold?.by === 'api') commands.push({ type: 'StopCallerMoh' });
  s.hold = undefined;
  commands.push({ type: 'TransferOutcome', target: round.target, outcome: 'answered', endpoint: w.endpoint });
  if (round.mode === 'warm' && !round.agentLeft) {
    s.partner = { legId: w.id, agentId: round.target };
    return;
  }
  if (!round.agentLeft) {
    commands.push({ type: 'HangupLeg', legId: s.winner!, reason: 'normal' });
    commands.push({ type: 'ReleaseClaim', agentId: s.agentId });
  }
  s.agentId = round.target;
  s.winner = w.id;
  s.claimHeld = true;
}

/** Nobody answered: the target's claim goes; the customer is back with the agent, or sent on if the agent left. */
function failed(
  s: DispatchState,
  round: TransferRound,
  result: DispatchResult,
  at: number,
  commands: DispatchCommand[],
  ring: RingAll,
): void {
  s.round = undefined;
  // The devices that rang become the call's legs too: listed in its record, a late answer hung up.
  s.legs.push(...round.child.legs);
  commands.push({ type: 'ReleaseClaim', agentId: round.target });
  commands.push({ type: 'TransferOutcome', target: round.target, outcome: 'failed', result });
  if (round.music) commands.push({ type: 'StopCallerMoh' });
  if (!round.agentLeft) return;
  if (s.hold?.by === 'api') commands.push({ type: 'StopCallerMoh' });
  s.hold = undefined;
  s.hungUpBy = 'agentgate';
  ring.finish(s, 'TRANSFER_FAILED', at, commands);
}

/** The call ends for everyone while the target rings: every target leg hung up normally, timers cancelled, claim released. */
function abort(s: DispatchState, round: TransferRound, result: string, at: number, commands: DispatchCommand[], ring: RingAll): void {
  s.round = undefined;
  adopt(s, round, ring.step(round.child, { type: 'CallerHungUp', at }), at, commands, ring);
  s.legs.push(...round.child.legs);
  commands.push({ type: 'ReleaseClaim', agentId: round.target });
  commands.push({ type: 'TransferOutcome', target: round.target, outcome: 'failed', result });
}

/**
 * The original agent leaves (`hangup`, or its phone hung up). With a partner, the partner is the
 * call's agent now. While the target rings, the customer waits for it (on MOH).
 */
function agentLeaves(s: DispatchState, byRequest: boolean, commands: DispatchCommand[]): void {
  const round = own(s);
  if (round?.agentLeft) return;
  if (byRequest) commands.push({ type: 'HangupLeg', legId: s.winner!, reason: 'normal' });
  commands.push({ type: 'ReleaseClaim', agentId: s.agentId });
  if (s.partner) {
    if (s.hold?.by === 'api') commands.push({ type: 'StopCallerMoh' });
    s.hold = undefined;
    s.agentId = s.partner.agentId;
    s.winner = s.partner.legId;
    s.partner = undefined;
    return;
  }
  round!.agentLeft = true;
  s.claimHeld = false;
  if (!s.hold && !round!.music) {
    round!.music = true;
    commands.push({ type: 'StartCallerMoh' });
  }
}

/** The warm transfer's partner leaves (its `hangup`, or its phone hung up): only its leg and claim go. */
function partnerLeaves(s: DispatchState, byRequest: boolean, commands: DispatchCommand[]): void {
  const partner = s.partner!;
  if (byRequest) commands.push({ type: 'HangupLeg', legId: partner.legId, reason: 'normal' });
  commands.push({ type: 'ReleaseClaim', agentId: partner.agentId });
  s.partner = undefined;
}
