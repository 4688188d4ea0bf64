/**
 * What a SIP phone does on its own during a call, and what Asterisk 22.7 then does
 * (recordings/ari-callcontrol): an in-dialog REFER (blind transfer), hold / unhold by re-INVITE,
 * and INFO DTMF. Tests and the demo call these through Pbx / Simulator (`phoneRefer`, ...), or a
 * dial script runs them after the answer (EndpointScript `then`, like recorded phones 1006 and
 * 1007). What the phone saw in return (202, NOTIFYs) is kept in the channel's SIP log.
 */
import { addToBridge, leaveBridge } from './bridges.js';
import { hangupChannel, newChannel } from './channels.js';
import { endpointContext } from './endpoints.js';
import type { Channel, PhoneAction } from './model.js';
import type { PbxState } from './state.js';

/** A DTMF digit as ARI reports it (0-9, A-D, * and #). */
const DIGIT = /^[0-9A-D*#]$/;

/** The answered channel whose phone acts, or an error naming what is wrong (a test's mistake, not an ARI answer). */
function answeredLeg(s: PbxState, id: string, what: string): Channel {
  const c = s.channels.get(id);
  if (!c) throw new Error(`${what}: no channel ${id}`);
  if (c.tech !== 'PJSIP') throw new Error(`${what}: channel ${id} is not a SIP phone's (${c.json.name})`);
  if (c.json.state !== 'Up') throw new Error(`${what}: channel ${id} is not answered (${c.json.state})`);
  return c;
}

/** The phone gets a NOTIFY of its REFER's progress (sipfrag `SIP/2.0 100 Trying` ...). */
export function sendNotify(s: PbxState, c: Channel, frag: string, terminated: boolean): void {
  s.sip(c, 'recv', `NOTIFY (${terminated ? 'terminated' : 'active'}) ${frag}`);
}

/**
 * The phone of leg `id` sends an in-dialog REFER to `destination` (an extension). Asterisk answers
 * 202, then:
 * - `PJSIP_TRANSFER_HANDLING()` = `ari-only` on the leg: a ChannelTransfer (no `state`) to the app,
 *   nothing else (no NOTIFY until the app calls transfer_progress; the bridge is untouched);
 * - else (`core`): a blind transfer of the bridge peer to `Local/<destination>@<endpoint context>`:
 *   ChannelUnhold, BLINDTRANSFER varsets, StasisStart of the Local `;1` with replace_channel,
 *   the leg leaves the bridge, the Local enters, BridgeBlindTransfer, the Local answers; NOTIFY 100
 *   Trying and 200 OK. The leg stays in Stasis out of any bridge; hung up by the app later, it ends
 *   without a ChannelDestroyed (deferred termination), and so does the Local channel.
 *   A leg in no bridge: NOTIFY 503 (not recorded: Asterisk has nothing to transfer).
 */
export function phoneRefer(s: PbxState, id: string, destination: string): void {
  const c = answeredLeg(s, id, 'phoneRefer');
  if (!/^[\w*#+.-]+$/.test(destination))
    throw new Error(`phoneRefer: destination must be an extension, got ${JSON.stringify(destination)}`);
  s.sip(c, 'sent', `REFER Refer-To: <sip:${destination}@127.0.0.1>`);
  s.sip(c, 'recv', 'SIP/2.0 202 Accepted');
  if (c.variables.get('PJSIP_TRANSFER_HANDLING()') === 'ari-only') {
    c.transfer = { requested: { destination }, trying: false, terminated: false };
    s.emitEvent(c.subscribedApp, 'ChannelTransfer', transferFieldsOf(s, c, { destination }));
    return;
  }
  const b = c.bridge;
  const peerId = b ? [...b.channels].find((x) => x !== c.json.id) : undefined;
  const peer = peerId === undefined ? undefined : s.channels.get(peerId);
  if (!b || !peer) {
    sendNotify(s, c, 'SIP/2.0 100 Trying', false);
    sendNotify(s, c, 'SIP/2.0 503 Service Unavailable', true);
    return;
  }
  const before = { ...b.json, channels: [...b.channels] };
  const context = c.variables.get('TRANSFER_CONTEXT') ?? endpointContext(`${c.tech}/${c.resource}`);
  const app = c.subscribedApp;
  s.chEvent(c, 'ChannelUnhold');
  s.chEvent(peer, 'ChannelVarset', { variable: 'BLINDTRANSFER', value: c.json.name });
  s.chEvent(c, 'ChannelVarset', { variable: 'BLINDTRANSFER', value: peer.json.name });
  sendNotify(s, c, 'SIP/2.0 100 Trying', false);
  const local = newChannel(s, undefined, `Local/${destination}@${context}`);
  local.subscribedApp = app;
  local.inStasis = true;
  local.silentEnd = true;
  local.json.dialplan = { ...local.json.dialplan, app_name: 'Stasis', app_data: app ?? '' };
  s.chEvent(local, 'StasisStart', { args: [], replace_channel: { ...c.json } });
  leaveBridge(s, c);
  addToBridge(s, b.json.id, [local.json.id]);
  s.emitEvent(app, 'BridgeBlindTransfer', {
    channel: { ...c.json },
    exten: destination,
    context,
    result: 'Success',
    is_external: true,
    transferee: { ...peer.json },
    replace_channel: { ...local.json },
    bridge: before,
  });
  local.json.connected = { ...peer.json.caller };
  s.chEvent(local, 'ChannelConnectedLine');
  local.answeredOnce = true;
  s.setState(local, 'Up');
  s.dialEvent(local, 'ANSWER', '');
  sendNotify(s, c, 'SIP/2.0 200 OK', true);
  c.silentEnd = true;
}

/**
 * The phone of leg `id` completes an attended transfer: a REFER whose Refer-To carries `Replaces=`
 * the consult call's SIP Call-ID (`consultCallId`). Only `ari-only` handling is simulated: a
 * ChannelTransfer whose `requested_destination` has `protocol_id` (that Call-ID) and no `destination`
 * (the ARI docs: "Mutually exclusive to destination"); then, as for a blind REFER, nothing until the
 * app's transfer_progress. Asterisk's own (`core`) attended transfer is not simulated: it throws.
 */
export function phoneReferAttended(s: PbxState, id: string, consultCallId: string): void {
  const c = answeredLeg(s, id, 'phoneReferAttended');
  if (c.variables.get('PJSIP_TRANSFER_HANDLING()') !== 'ari-only')
    throw new Error('phoneReferAttended: only ari-only handling is simulated (Asterisk would execute the attended transfer itself)');
  s.sip(c, 'sent', `REFER Refer-To: <sip:consult@127.0.0.1?Replaces=${consultCallId}>`);
  s.sip(c, 'recv', 'SIP/2.0 202 Accepted');
  c.transfer = { requested: { protocol_id: consultCallId }, trying: false, terminated: false };
  s.emitEvent(c.subscribedApp, 'ChannelTransfer', transferFieldsOf(s, c, { protocol_id: consultCallId }));
}

/** ChannelTransfer's refer_to and referred_by for a REFER from c (its bridge and peer as they are now). */
export function transferFieldsOf(
  s: PbxState,
  c: Channel,
  requested: { destination: string } | { protocol_id: string },
): Record<string, unknown> {
  const referredBy: Record<string, unknown> = { source_channel: { ...c.json } };
  const b = c.bridge;
  if (b) {
    const peerId = [...b.channels].find((x) => x !== c.json.id);
    const peer = peerId === undefined ? undefined : s.channels.get(peerId);
    if (peer) referredBy.connected_channel = { ...peer.json };
    referredBy.bridge = { ...b.json, channels: [...b.channels] };
  }
  return { refer_to: { requested_destination: { ...requested } }, referred_by: referredBy };
}

/**
 * The phone puts the call on hold (re-INVITE a=sendonly): ChannelHold on its leg (no `musicclass`:
 * a phone names none). Not recorded; the event is the one Asterisk's ARI docs define, and the
 * only way an app ever sees ChannelHold (ARI's own /hold raises none).
 */
export function phoneHold(s: PbxState, id: string): void {
  const c = answeredLeg(s, id, 'phoneHold');
  s.sip(c, 'sent', 're-INVITE a=sendonly');
  s.chEvent(c, 'ChannelHold');
}

/** The phone takes the call off hold (re-INVITE a=sendrecv): ChannelUnhold on its leg. */
export function phoneUnhold(s: PbxState, id: string): void {
  const c = answeredLeg(s, id, 'phoneUnhold');
  s.sip(c, 'sent', 're-INVITE a=sendrecv');
  s.chEvent(c, 'ChannelUnhold');
}

/**
 * The phone sends a DTMF digit by SIP INFO (`dtmf_mode = info`): ChannelDtmfReceived with
 * `duration_ms` = the INFO's Duration, on this leg only (bridged or not; the peer gets nothing).
 */
export function phoneDtmf(s: PbxState, id: string, digit: string, durationMs: number): void {
  const c = answeredLeg(s, id, 'phoneDtmf');
  if (!DIGIT.test(digit)) throw new Error(`phoneDtmf: digit must be one of 0-9, A-D, * or #, got ${JSON.stringify(digit)}`);
  if (!Number.isInteger(durationMs) || durationMs <= 0)
    throw new Error(`phoneDtmf: durationMs must be a positive integer, got ${durationMs}`);
  s.sip(c, 'sent', `INFO Signal=${digit} Duration=${durationMs}`);
  s.chEvent(c, 'ChannelDtmfReceived', { digit, duration_ms: durationMs });
}

/** Runs what a scripted phone does after answering, each step afterMs after the answer (on the PBX's clock). */
export function schedulePhoneActions(s: PbxState, c: Channel, actions: readonly PhoneAction[] | undefined): void {
  for (const a of actions ?? []) {
    s.later(c, a.afterMs, () => {
      if (c.json.state !== 'Up') return;
      const id = c.json.id;
      switch (a.do) {
        case 'dtmf':
          return phoneDtmf(s, id, a.digit, a.durationMs);
        case 'refer':
          return phoneRefer(s, id, a.destination);
        case 'hold':
          return phoneHold(s, id);
        case 'unhold':
          return phoneUnhold(s, id);
        case 'hangup':
          return hangupChannel(s, c, 16, {});
      }
    });
  }
}
