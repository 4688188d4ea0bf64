/**
 * The simulated PBX: channels, bridges, endpoints and the few dialplan behaviours agentgate meets,
 * with the event order, fields and causes that test/fixtures/asterisk-22.7/recordings show for Asterisk 22.7.
 * This class is the PBX's face (what the ARI server, the simulator and tests call); the behaviour
 * lives beside it, one module per part:
 *
 *   model.ts         the JSON shapes, the channel and bridge records, PbxError
 *   state.ts         registries, ARI event emission, timers on the Clock, a channel's end
 *   endpoints.ts     the recorded PJSIP phones and [agents] context as scripts
 *   channels.ts      allocation, Stasis, answer/media/variables, the hang-up sequence
 *   dial-scripts.ts  what a dialled endpoint does (ring, answer, busy, ...) and the dial timeout
 *   local-halves.ts  the `;2` halves of originated Local legs
 *   originate.ts     POST /channels/create and POST /channels (originate)
 *   dialplan.ts      callers entering Stasis(), /continue, feature-code UserEvents
 *   bridges.ts       bridges (and their MOH)
 *   call-control.ts  /redirect, snoop, transfer_progress, device states
 *   phone.ts         what a SIP phone does on its own: REFER, hold by re-INVITE, INFO DTMF
 *
 * Scope (what is and is not modelled):
 * - PJSIP endpoints behave as the recorded SIP phones: no `;2` half, a Call-ID as protocol_id,
 *   Ringing on 180, a busy phone destroyed at once with cause 17 / tech_cause 486, offline → 500
 *   "Allocation failed" on create/originate.
 * - `Local/<exten>@agents` legs follow the recorded [agents] context (answer, answer1s, ring, busy,
 *   congestion, noanswer, unavail); a busy or congested Local leg that was created + dialled stays in
 *   Stasis until hung up, as recorded. Their `;2` halves are not simulated (agentgate ignores them).
 * - Callers enter `Stasis(app, args)` through `dialIn` (the dialplan `Stasis()` application), or get
 *   STASISSTATUS=FAILED when no websocket holds the app.
 * Every channel keeps, after it is gone, what it was told on hang-up (cause, reason) and where it went
 * on /continue, so tests can assert what a phone saw.
 *
 * Time comes from the Clock (default the system clock): every delay a script or the dialplan takes
 * is a clock timer, so a test can run the PBX on a manual clock. Only "a moment later" orderings
 * (StasisStart after the create's response) use setImmediate.
 */
import { EventEmitter } from 'node:events';
import { systemClock, type Clock } from '../../ports/clock.js';
import * as bridges from './bridges.js';
import * as callControl from './call-control.js';
import * as channels from './channels.js';
import { dial } from './dial-scripts.js';
import * as dialplan from './dialplan.js';
import { DEFAULT_ENDPOINTS, endpointJson, endpointList } from './endpoints.js';
import type { BridgeJson, ChannelJson, DialplanUserEvent, EndpointJson, EndpointScript, HangupRecord, SipMessage } from './model.js';
import { create, originate, type CreateRequest, type OriginateRequest } from './originate.js';
import * as phone from './phone.js';
import { PbxState } from './state.js';

export type {
  AriEvent,
  BridgeJson,
  ChannelJson,
  ChannelState,
  DialplanUserEvent,
  EndpointJson,
  EndpointScript,
  HangupRecord,
  PhoneAction,
  SipMessage,
} from './model.js';
export { PbxError } from './model.js';

export interface PbxOptions {
  /**
   * How long after /channels/create a Local leg enters Stasis (default 15 ms; the recording's idle
   * server took 3 ms). The ARI conformance replay sets more, so that the recorded 409 for an early
   * /dial still shows when the machine running the tests is loaded.
   */
  localStasisDelayMs?: number;
  asteriskId?: string;
  /**
   * The version GET /asterisk/info reports (default 22.7.0, the recorded Asterisk). Only the report:
   * the simulated PBX behaves as 22.7.0 whatever it says (a test of how agentgate reads it).
   */
  asteriskVersion?: string;
  /** How many ended channels' records to keep (oldest dropped). Default 50,000. */
  recordLimit?: number;
  endpoints?: Record<string, EndpointScript>;
  /** Where time comes from (default the system clock). */
  clock?: Clock;
}

/** musiconhold.conf's classes in the recorded set-up (musiconhold-callcontrol.conf). */
const MOH_CLASSES = new Set(['default']);

/** Emits `ari-event` (AriEvent, any app) and `channel-ended` (HangupRecord). */
export class Pbx extends EventEmitter {
  readonly asteriskId: string;
  readonly asteriskVersion: string;
  readonly clock: Clock;
  /** Which apps a websocket holds now (set by the ARI server). */
  readonly heldApps: Set<string>;
  private readonly s: PbxState;

  constructor(opts: PbxOptions = {}) {
    super();
    this.setMaxListeners(0);
    this.clock = opts.clock ?? systemClock();
    this.asteriskId = opts.asteriskId ?? '02:fc:00:00:00:01';
    this.asteriskVersion = opts.asteriskVersion ?? '22.7.0';
    this.s = new PbxState({
      clock: this.clock,
      emitter: this,
      asteriskId: this.asteriskId,
      recordLimit: opts.recordLimit ?? 50_000,
      localStasisDelayMs: opts.localStasisDelayMs ?? 15,
    });
    this.heldApps = this.s.heldApps;
    for (const [k, v] of Object.entries({ ...DEFAULT_ENDPOINTS, ...(opts.endpoints ?? {}) })) this.s.scripts.set(k, v);
  }

  /** Now, in Asterisk's timestamp format. */
  timestamp(): string {
    return this.s.timestamp();
  }

  // ---------------------------------------------------------------- inspection (tests, CLI)

  channels(): ChannelJson[] {
    return [...this.s.channels.values()].map((c) => ({ ...c.json }));
  }
  channel(id: string): ChannelJson | undefined {
    const c = this.s.channels.get(id);
    return c ? { ...c.json } : undefined;
  }
  bridges(): BridgeJson[] {
    return [...this.s.bridges.values()].map(bridges.bridgeJson);
  }
  /** What a channel was told when it ended (kept after it is gone). */
  hangupRecord(id: string): HangupRecord | undefined {
    return this.s.records.get(id);
  }
  /** Every ended channel's record, oldest first. */
  hangupRecords(): HangupRecord[] {
    return [...this.s.records.values()];
  }
  variable(id: string, name: string): string | undefined {
    return this.s.channels.get(id)?.variables.get(name);
  }
  setEndpoint(endpoint: string, script: EndpointScript): void {
    this.s.scripts.set(endpoint, script);
  }
  endpoints(): EndpointJson[] {
    return endpointList(this.s);
  }
  /** One endpoint (`PJSIP/1001`) as GET /endpoints/{tech}/{resource} shows it, or undefined. */
  endpoint(key: string): EndpointJson | undefined {
    return endpointJson(this.s, key);
  }
  /** Channel ids subscribed to the app (GET /applications/{app}). */
  appChannelIds(app: string): string[] {
    return [...this.s.channels.values()].filter((c) => c.subscribedApp === app).map((c) => c.json.id);
  }
  appBridgeIds(app: string): string[] {
    return [...this.s.bridges.values()].filter((b) => b.app === app).map((b) => b.json.id);
  }
  /** Resolves when the channel is gone (hung up, continued or failed). */
  whenEnded(id: string): Promise<HangupRecord> {
    return dialplan.whenEnded(this.s, id);
  }

  /** Everything gone: no channel, no bridge (restart). */
  reset(): void {
    this.s.reset();
  }

  // ---------------------------------------------------------------- the phone side (tests, demo)

  /** A caller runs `Stasis(app, args...)` from the dialplan (STASISSTATUS=FAILED when no websocket holds the app). */
  dialIn(p: dialplan.DialInRequest): { id: string; name: string; failed: boolean } {
    return dialplan.dialIn(this.s, p);
  }
  /** A feature code raises a UserEvent; the channel stays listed for lifetimeMs. */
  userEventFromPhone(
    from: string,
    context: string,
    exten: string,
    name: string,
    headers: Record<string, string>,
    lifetimeMs?: number,
  ): DialplanUserEvent {
    return dialplan.userEventFromPhone(this.s, from, context, exten, name, headers, lifetimeMs);
  }
  /** The phone of SIP leg `id` completes an attended transfer (REFER with Replaces): see phone.ts phoneReferAttended. */
  phoneReferAttended(id: string, consultCallId: string): void {
    phone.phoneReferAttended(this.s, id, consultCallId);
  }
  /** The phone of SIP leg `id` REFERs it to `destination` (an extension): see phone.ts phoneRefer. */
  phoneRefer(id: string, destination: string): void {
    phone.phoneRefer(this.s, id, destination);
  }
  /** The phone of SIP leg `id` puts the call on hold (re-INVITE): ChannelHold. */
  phoneHold(id: string): void {
    phone.phoneHold(this.s, id);
  }
  /** The phone of SIP leg `id` resumes the call (re-INVITE): ChannelUnhold. */
  phoneUnhold(id: string): void {
    phone.phoneUnhold(this.s, id);
  }
  /** The phone of SIP leg `id` sends INFO DTMF: ChannelDtmfReceived on that leg only. */
  phoneDtmf(id: string, digit: string, durationMs = 160): void {
    phone.phoneDtmf(this.s, id, digit, durationMs);
  }
  /** What the phone of channel `id` saw and sent beyond the call itself (REFER, 202, NOTIFY, INFO, re-INVITE), oldest first; kept after it ends. */
  sipLog(id: string): SipMessage[] {
    return [...(this.s.sipLog.get(id) ?? [])];
  }
  /**
   * The sipfrags of the NOTIFYs the phone of channel `id` got about its REFER, in order:
   * `['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']` for a transfer Asterisk completed.
   */
  transferNotifies(id: string): string[] {
    return this.sipLog(id).flatMap((m) => {
      const n = /^NOTIFY \((?:active|terminated)\) (.*)$/.exec(m.text);
      return m.dir === 'recv' && n ? [n[1]!] : [];
    });
  }

  /** The far end hangs up (a test or the demo: "the customer hangs up"). */
  remoteHangup(id: string, cause = 16): void {
    channels.hangupChannel(this.s, this.s.mustChannel(id), cause, {});
  }

  // ---------------------------------------------------------------- ARI channels (REST)

  /** POST /channels. */
  originate(p: OriginateRequest): ChannelJson {
    return originate(this.s, p);
  }
  /** POST /channels/create. */
  create(p: CreateRequest): ChannelJson {
    return create(this.s, p);
  }
  getChannel(id: string): ChannelJson {
    return { ...this.s.mustChannel(id).json };
  }
  dial(id: string, p: { caller?: string; timeout?: number }): void {
    dial(this.s, id, p);
  }
  answer(id: string): void {
    channels.answer(this.s, id);
  }
  /** POST /channels/{id}/redirect. */
  redirect(id: string, endpoint: string | undefined): void {
    callControl.redirect(this.s, id, endpoint);
  }
  /** POST /channels/{id}/snoop and /snoop/{snoopId}. */
  snoop(id: string, p: callControl.SnoopRequest): ChannelJson {
    return callControl.snoop(this.s, id, p);
  }
  /** POST /channels/{id}/transfer_progress. */
  transferProgress(id: string, states: string | undefined): void {
    callControl.transferProgress(this.s, id, states);
  }
  /** GET /deviceStates/{name}. */
  deviceState(name: string): { name: string; state: string } {
    return callControl.deviceState(this.s, name);
  }
  /** PUT / DELETE /deviceStates/{name}. */
  setDeviceState(name: string): never {
    return callControl.setDeviceState(name);
  }
  /** ringback, moh, hold, silence and their DELETEs. */
  mediaOp(id: string, op: channels.MediaOp = 'ring', on = true, mohClass?: string): void {
    channels.mediaOp(this.s, id, op, on, mohClass);
  }
  /**
   * What the party on channel `id` hears from the PBX now: `music` (its /moh with a known class,
   * /hold on it, or MOH on its bridge), `ringback`, `silence`, or `call` (nothing played: it hears
   * its bridge peers, if any). The MOH classes are the recorded set-up's (`default`); an unknown
   * class plays nothing. Undefined for an unknown channel.
   */
  hears(id: string): 'music' | 'ringback' | 'silence' | 'call' | undefined {
    const c = this.s.channels.get(id);
    if (!c) return undefined;
    const m = c.media;
    if (m.held || (m.moh !== undefined && MOH_CLASSES.has(m.moh)) || (c.bridge?.moh !== undefined && MOH_CLASSES.has(c.bridge.moh)))
      return 'music';
    if (m.moh !== undefined || m.silence) return 'silence';
    if (m.ringback) return 'ringback';
    return 'call';
  }
  play(id: string, media: string, playbackId?: string): Record<string, unknown> {
    return channels.play(this.s, id, media, playbackId);
  }
  setVar(id: string, name: string | undefined, value: string): void {
    channels.setVar(this.s, id, name, value);
  }
  getVar(id: string, name: string | undefined): string {
    return channels.getVar(this.s, id, name);
  }
  continueInDialplan(id: string, p: { context?: string; extension?: string; priority?: number }): void {
    dialplan.continueInDialplan(this.s, id, p);
  }
  /** DELETE /channels/{id}?reason= */
  hangup(id: string, reason: string | undefined, cause: number): void {
    channels.hangupChannel(this.s, this.s.mustChannel(id), cause, { reason, byApp: true });
  }

  // ---------------------------------------------------------------- ARI bridges (REST)

  createBridge(p: { type?: string; bridgeId?: string; name?: string }, app: string): BridgeJson {
    return bridges.createBridge(this.s, p, app);
  }
  getBridge(id: string): BridgeJson {
    return bridges.getBridge(this.s, id);
  }
  addToBridge(bridgeId: string, channelIds: string[]): void {
    bridges.addToBridge(this.s, bridgeId, channelIds);
  }
  removeFromBridge(bridgeId: string, channelIds: string[]): void {
    bridges.removeFromBridge(this.s, bridgeId, channelIds);
  }
  startBridgeMoh(id: string, mohClass: string | undefined): void {
    bridges.startBridgeMoh(this.s, id, mohClass);
  }
  stopBridgeMoh(id: string): void {
    bridges.stopBridgeMoh(this.s, id);
  }
  destroyBridge(id: string): void {
    bridges.destroyBridge(this.s, id);
  }
}
