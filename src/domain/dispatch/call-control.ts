/**
 * Call control of an answered dispatch (issue #14): what the talking phase does with hold, unhold,
 * agent release, end for everyone, blind transfer, requeue and the phone's own hold. machine.ts's
 * `transition` delegates these events here, so its table stays the ring-all table.
 *
 * Every event is total: outside `talking` (ringing, bridging, done) it changes nothing and gives no
 * command; the use case (src/app/call-control.ts) answers 409 before feeding one that does not fit.
 *
 *   event                  talking, not on hold                 talking, on hold
 *   HoldRequested          hold (api), StartCallerMoh           nothing
 *   UnholdRequested        nothing                              unhold, StopCallerMoh if agentgate started it
 *   PhoneHeld              hold (phone), no command             nothing
 *   PhoneUnheld            nothing                              unhold, StopCallerMoh if agentgate started it
 *   AgentReleaseRequested  agent leg hung up; caller continued (next priority or fallback), AGENT_HANGUP
 *   EndRequested           agent leg and caller hung up, ENDED
 *   TransferRequested      agent leg hung up; caller continued to the target, TRANSFERRED (+ AGENTGATE_TRANSFER_TO)
 *   RequeueRequested       agent leg hung up; caller continued to the queue's location, REQUEUED (+ AGENTGATE_REQUEUE_QUEUE)
 *   PhoneTransferRequested as TransferRequested, for the agent's phone's REFER: the phone is told 200 OK
 *                          (ReportTransfer, after the caller's continue) before its leg is hung up
 *   TransferredByPbx       Asterisk executed a REFER itself (no ari-only): the caller and the bridge now
 *                          belong to that transfer (handed over: not continued, not destroyed); the
 *                          agent's leg is hung up; TRANSFERRED
 * Leaving the call while on hold (release, transfer, requeue) stops the music agentgate started first,
 * so the caller does not carry it into the dialplan.
 *
 * Why MOH on the customer channel (`POST /channels/{caller}/moh`) and not `/hold` or the bridge's MOH:
 * ARI `/hold` only indicates hold to that one channel (REFERENCE.md "Call control"); on a Local caller
 * it is passed on to the other half, not played to the customer. Bridge MOH plays to every member,
 * the agent included. Channel MOH plays to the customer only, and the agent stays in the bridge.
 */
import type { DialplanTarget, DispatchCommand, DispatchState } from './machine.js';

export type CallControlEvent =
  | { type: 'HoldRequested'; at: number; mohClass?: string }
  | { type: 'UnholdRequested'; at: number }
  /** The agent's phone put the call on hold itself (re-INVITE): state only, Asterisk plays the music. */
  | { type: 'PhoneHeld'; at: number }
  | { type: 'PhoneUnheld'; at: number }
  /** The agent leaves; the customer goes on in the dialplan (AGENTGATE_RESULT=AGENT_HANGUP). */
  | {
      type: 'AgentReleaseRequested';
      at: number;
      /** Who leaves when two agents are in the call (warm transfer): the partner's id = only the partner goes. Default: the call's agent. */
      agent?: string;
    }
  /** Everyone is hung up (the customer too). */
  | { type: 'EndRequested'; at: number }
  /** Blind transfer of the customer to a dialplan target; `to` is the number dialled. */
  | { type: 'TransferRequested'; at: number; to: string; target: DialplanTarget }
  /** The customer goes back to a queue, at that queue's dialplan location. */
  | { type: 'RequeueRequested'; at: number; queue: string; target: DialplanTarget }
  /** The agent's phone REFERred (ari-only) and the policy allowed it: a blind transfer to `target`, reported to the phone. */
  | { type: 'PhoneTransferRequested'; at: number; to: string; target: DialplanTarget }
  /** Asterisk blind-transferred the customer itself to `to` (a REFER it executed): the dispatch lets go of the call. */
  | { type: 'TransferredByPbx'; at: number; to: string };

/** How machine.ts ends a dispatch (its one `finish`), handed in so this file does not import it back. */
export type Finish = (
  s: DispatchState,
  result: 'AGENT_HANGUP' | 'ENDED' | 'TRANSFERRED' | 'REQUEUED',
  now: number,
  commands: DispatchCommand[],
  exit?: { vars: Array<[string, string]>; to: DialplanTarget },
) => void;

/** Applies one call-control event to `s` (a copy), pushing its commands. Does nothing outside talking. */
export function applyCallControl(s: DispatchState, event: CallControlEvent, commands: DispatchCommand[], finish: Finish): void {
  if (s.phase !== 'talking') return;
  switch (event.type) {
    case 'HoldRequested':
    case 'PhoneHeld': {
      if (s.hold) return;
      const byApi = event.type === 'HoldRequested';
      s.hold = { since: event.at, by: byApi ? 'api' : 'phone' };
      if (byApi)
        commands.push(event.mohClass === undefined ? { type: 'StartCallerMoh' } : { type: 'StartCallerMoh', mohClass: event.mohClass });
      return;
    }
    case 'UnholdRequested':
    case 'PhoneUnheld':
      // Not on hold: stopMusic gives no command and leaves no hold (nothing to guard).
      stopMusic(s, commands);
      return;
    case 'AgentReleaseRequested':
      stopMusic(s, commands);
      s.hungUpBy = 'agent';
      hangupWinner(s, commands);
      finish(s, 'AGENT_HANGUP', event.at, commands);
      return;
    case 'EndRequested':
      s.hungUpBy = 'agentgate';
      hangupWinner(s, commands);
      commands.push({ type: 'HangupCaller' });
      finish(s, 'ENDED', event.at, commands);
      return;
    case 'TransferRequested':
      stopMusic(s, commands);
      s.hungUpBy = 'agentgate';
      s.transferTo = event.to;
      hangupWinner(s, commands);
      finish(s, 'TRANSFERRED', event.at, commands, { vars: [['AGENTGATE_TRANSFER_TO', event.to]], to: event.target });
      return;
    case 'PhoneTransferRequested': {
      stopMusic(s, commands);
      s.hungUpBy = 'agent';
      s.transferTo = event.to;
      const w = s.legs.find((l) => l.id === s.winner)!;
      w.hangupReason = 'normal';
      finish(s, 'TRANSFERRED', event.at, commands, { vars: [['AGENTGATE_TRANSFER_TO', event.to]], to: event.target });
      // After the continue (the executor orders it behind the caller's requests), then the leg goes.
      commands.push({ type: 'ReportTransfer', legId: w.id, state: 'channel_answered' });
      commands.push({ type: 'HangupLeg', legId: w.id, reason: 'normal' });
      return;
    }
    case 'TransferredByPbx':
      stopMusic(s, commands);
      s.hungUpBy = 'agent';
      s.transferTo = event.to;
      s.handedOver = true;
      hangupWinner(s, commands);
      finish(s, 'TRANSFERRED', event.at, commands);
      return;
    case 'RequeueRequested':
      stopMusic(s, commands);
      s.hungUpBy = 'agentgate';
      s.requeueTo = event.queue;
      hangupWinner(s, commands);
      finish(s, 'REQUEUED', event.at, commands, { vars: [['AGENTGATE_REQUEUE_QUEUE', event.queue]], to: event.target });
      return;
  }
}

/** Ends the hold, stopping the music when agentgate started it (a phone's hold is the phone's to end). */
function stopMusic(s: DispatchState, commands: DispatchCommand[]): void {
  if (s.hold?.by === 'api') commands.push({ type: 'StopCallerMoh' });
  s.hold = undefined;
}

/** The agent's answered leg is hung up (normal clearing). In talking it is bridged: its end finishes the call. */
function hangupWinner(s: DispatchState, commands: DispatchCommand[]): void {
  const w = s.legs.find((l) => l.id === s.winner)!;
  w.hangupReason = 'normal';
  commands.push({ type: 'HangupLeg', legId: w.id, reason: 'normal' });
}
