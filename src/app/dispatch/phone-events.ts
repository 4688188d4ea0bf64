/**
 * What the agent's phone does on its own during a call (issue #14): its Transfer button (REFER) and
 * its Hold button (re-INVITE), as the PBX reports them. This file only finds the call the event is
 * about; what the policy says and what follows is the phone-buttons use case (src/app/phone-buttons.ts),
 * reached through the dispatch service's events:
 *
 *   'phone-transfer' { callId, legId, destination }  a REFER on the answering leg of a talking call
 *                                                    (the listener must report on it: transferProgress)
 *   'phone-hold'     { callId, held }                ChannelHold / ChannelUnhold on that leg, when it changes
 *                                                    something (not on hold / on hold by the phone)
 *
 * - A REFER on any other channel (a leg agentgate does not know, a call not talking, a loser) is
 *   declined at once (NOTIFY 603 Decline) and warned about: the phone shows the transfer failed.
 * - Without a listener (a dispatch service on its own) a REFER is declined, a hold only tracked.
 * - A REFER Asterisk executed itself (the leg had no PJSIP_TRANSFER_HANDLING()=ari-only: an Asterisk
 *   older than 20.13 / 21.8 / 22.3, or a leg made by an older agentgate) shows as BridgeBlindTransfer:
 *   the customer already talks to Asterisk's new Local channel in agentgate's bridge. Audited as
 *   "executed by Asterisk, not controlled"; the dispatch ends TRANSFERRED and lets go of the caller
 *   and the bridge (handed over: not continued, not destroyed, so the customer's call goes on); the
 *   agent's old leg is hung up. From then on, when either the customer or that Local channel leaves,
 *   the other is hung up and the bridge destroyed (nothing left in Stasis). The Local channel's own
 *   StasisStart (args [], replace_channel) is never taken for a new call.
 */
import type { CallChannel, CallEvent } from '../../ports/call-control.js';
import type { DispatchContext, Running } from './context.js';
import { fire } from './command-executor.js';
import { bridgeKey, chanKey } from './channel-order.js';

export interface PhoneTransferEvent {
  callId: string;
  legId: string;
  /** The number the phone transfers to; absent for an attended transfer (REFER with Replaces). */
  destination?: string;
}
export interface PhoneHoldEvent {
  callId: string;
  held: boolean;
}

export interface PhoneEvents {
  /** Handles a PhoneTransfer, ChannelHold/Unhold or BridgeBlindTransfer; true when the event was one of them. */
  handle(e: CallEvent): boolean;
  /** A channel of a call handed over to Asterisk's own transfer left: the other side is hung up. True when it was one. */
  left(channelId: string): boolean;
}

export function createPhoneEvents(ctx: DispatchContext): PhoneEvents {
  /** Caller and replacement channel of a call Asterisk transferred itself → the other side and the bridge. */
  const handedOver = new Map<string, { callId: string; other: string; bridgeId: string }>();

  /** The talking call whose answering leg is `ch`. */
  const talkingOn = (ch: CallChannel): Running | undefined => {
    const id = ctx.byLeg.get(ch.id);
    const r = id === undefined ? undefined : ctx.running.get(id);
    return r && r.state.phase === 'talking' && r.state.winner === ch.id ? r : undefined;
  };

  function decline(legId: string, why: string, destination: string | undefined): void {
    ctx.log.warn({ leg: legId, destination, reason: why }, `phone transfer declined: ${why}`);
    fire(ctx, ctx.log, 'transfer progress', [chanKey(legId)], () => ctx.calls.transferProgress(legId, 'channel_declined'));
  }

  function pbxTransferred(e: Extract<CallEvent, { type: 'BridgeBlindTransfer' }>): void {
    const r = talkingOn(e.channel);
    if (!r) {
      ctx.log.warn(
        { channel: e.channel.id, exten: e.exten, context: e.context },
        'Asterisk executed a transfer on a channel that is not the answering leg of a call agentgate drives; not controlled',
      );
      return;
    }
    const s = r.state;
    const replacement = e.replace_channel?.id;
    r.log.warn(
      { agent: s.agentId, leg: e.channel.id, exten: e.exten, context: e.context, replacement },
      'transfer executed by Asterisk, not controlled (the leg had no PJSIP_TRANSFER_HANDLING()=ari-only): the call is handed over',
    );
    ctx.timeline(s.id, 'transferred', `transferred by the phone to ${e.exten}@${e.context}, executed by Asterisk (not controlled)`);
    ctx.audit.enqueue({
      kind: 'call-action',
      at: ctx.clock.now(),
      actor: s.agentId,
      action: 'transfer',
      call: s.id,
      ...(s.queue === undefined ? {} : { queue: s.queue }),
      result: 'uncontrolled',
      detail: {
        call: s.id,
        agent: s.agentId,
        server: ctx.server,
        source: 'phone',
        target: e.exten,
        context: e.context,
        note: 'transfer executed by Asterisk, not controlled (no PJSIP_TRANSFER_HANDLING()=ari-only on the leg)',
      },
    });
    const { callerId, bridgeId } = s;
    ctx.feed(s.id, { type: 'TransferredByPbx', at: ctx.clock.now(), to: e.exten });
    if (replacement !== undefined) {
      handedOver.set(callerId, { callId: s.id, other: replacement, bridgeId });
      handedOver.set(replacement, { callId: s.id, other: callerId, bridgeId });
    }
  }

  return {
    handle(e) {
      switch (e.type) {
        case 'PhoneTransfer': {
          const r = talkingOn(e.channel);
          if (!r) {
            decline(e.channel.id, 'not the answering leg of a talking call agentgate drives', e.destination);
            return true;
          }
          if (ctx.emitter.listenerCount('phone-transfer') === 0) {
            decline(e.channel.id, 'no one decides phone transfers in this process', e.destination);
            return true;
          }
          ctx.emitter.emit('phone-transfer', {
            callId: r.state.id,
            legId: e.channel.id,
            ...(e.destination === undefined ? {} : { destination: e.destination }),
          } satisfies PhoneTransferEvent);
          return true;
        }
        case 'ChannelHold':
        case 'ChannelUnhold': {
          const r = talkingOn(e.channel);
          const held = e.type === 'ChannelHold';
          if (!r) {
            ctx.log.debug({ channel: e.channel.id, held }, 'phone hold on a channel that is not an answering leg; ignored');
            return true;
          }
          // No change: a hold while on hold, or an unhold of a hold the phone did not make (Asterisk
          // sends ChannelUnhold on every REFER it executes, recordings/ari-callcontrol/refer-default).
          if (held ? r.state.hold !== undefined : r.state.hold?.by !== 'phone') return true;
          if (ctx.emitter.listenerCount('phone-hold') === 0)
            ctx.feed(r.state.id, { type: held ? 'PhoneHeld' : 'PhoneUnheld', at: ctx.clock.now() });
          else ctx.emitter.emit('phone-hold', { callId: r.state.id, held } satisfies PhoneHoldEvent);
          return true;
        }
        case 'BridgeBlindTransfer':
          pbxTransferred(e);
          return true;
        default:
          return false;
      }
    },
    left(channelId) {
      const h = handedOver.get(channelId);
      if (!h) return false;
      handedOver.delete(channelId);
      handedOver.delete(h.other);
      ctx.log.info({ callId: h.callId, gone: channelId, other: h.other }, 'a call Asterisk transferred ended: the other side is hung up');
      fire(ctx, ctx.log, 'hangup', [chanKey(h.other)], () => ctx.calls.hangup(h.other, 'normal'));
      fire(ctx, ctx.log, 'destroy bridge', [bridgeKey(h.bridgeId)], () => ctx.calls.destroyBridge(h.bridgeId));
      return true;
    },
  };
}
