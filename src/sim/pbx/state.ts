/**
 * The PBX's shared state and the few primitives every part uses: the channel and bridge registries,
 * ended channels' records, ARI event emission, channel timers (through the Clock, so a test can drive
 * the PBX on a manual clock) and the end of a channel's life (`finish`).
 */
import type { EventEmitter } from 'node:events';
import type { Clock } from '../../ports/clock.js';
import { causeText } from './causes.js';
import {
  notFound,
  PbxError,
  type AriEvent,
  type Bridge,
  type Channel,
  type ChannelState,
  type EndpointScript,
  type HangupRecord,
  type SipMessage,
} from './model.js';

let lastMs = -1;
let lastText = '';
/** Asterisk's event timestamp format, `2026-11-24T15:36:32.409+0000` (cached per millisecond). */
export function timestamp(ms: number): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastText = new Date(ms).toISOString().replace('Z', '+0000');
  }
  return lastText;
}

export interface PbxStateOptions {
  clock: Clock;
  /** Gets `ari-event` (every event, any app) and `channel-ended` (a HangupRecord). */
  emitter: EventEmitter;
  asteriskId: string;
  recordLimit: number;
  localStasisDelayMs: number;
}

export class PbxState {
  readonly clock: Clock;
  readonly asteriskId: string;
  readonly localStasisDelayMs: number;
  readonly channels = new Map<string, Channel>();
  readonly bridges = new Map<string, Bridge>();
  /** `PJSIP/1001` (or a `Local/...` overriding the dialplan) → its script. */
  readonly scripts = new Map<string, EndpointScript>();
  /** Ended channels, oldest first, at most recordLimit. */
  readonly records = new Map<string, HangupRecord>();
  /** `PJSIP/1001` → ids of its live channels. */
  readonly byEndpoint = new Map<string, Set<string>>();
  /** Which apps a websocket holds now (set by the ARI server). */
  readonly heldApps = new Set<string>();
  /** What each channel's phone saw and sent on SIP beyond the call itself (REFER, NOTIFY, INFO), kept after it ends. */
  readonly sipLog = new Map<string, SipMessage[]>();
  /** Snoop channel names carry a counter of their own (`Snoop/<uniqueid>-00000008`). */
  snoopSeq = 0;
  private readonly emitter: EventEmitter;
  private readonly recordLimit: number;
  private seq = 0;
  private uniqueSeq = 0;

  constructor(o: PbxStateOptions) {
    this.clock = o.clock;
    this.emitter = o.emitter;
    this.asteriskId = o.asteriskId;
    this.recordLimit = o.recordLimit;
    this.localStasisDelayMs = o.localStasisDelayMs;
  }

  /** Now, in Asterisk's timestamp format. */
  timestamp(): string {
    return timestamp(this.clock.now());
  }

  /** A new Asterisk uniqueid, `<epoch seconds>.<sequence>`. */
  nextUniqueId(): string {
    return `${Math.floor(this.clock.now() / 1000)}.${this.uniqueSeq++}`;
  }

  /** A new channel name: `PJSIP/1001-0000000a`, `Local/answer@agents-0000000b;1`. */
  nextName(tech: string, resource: string): string {
    const n = (this.seq++).toString(16).padStart(8, '0');
    return tech === 'Local' ? `Local/${resource}-${n};1` : `${tech}/${resource}-${n}`;
  }

  /** The channel is still the live one under its id (not ended, not replaced). */
  isLive(c: Channel): boolean {
    return this.channels.get(c.json.id) === c;
  }

  mustChannel(id: string): Channel {
    const c = this.channels.get(id);
    if (!c) throw notFound('Channel');
    return c;
  }

  /**
   * A channel the app controls: known (else 404) and in Stasis (else 409, as Asterisk answers
   * /answer, /dial, /play, /continue, /ring, /moh, /hold, /silence on a channel outside Stasis).
   */
  stasisChannel(id: string): Channel {
    const c = this.mustChannel(id);
    if (!c.inStasis) throw new PbxError(409, { message: 'Channel not in Stasis application' });
    return c;
  }

  /** Emits an ARI event for app (none when the app is undefined: nobody is told). */
  emitEvent(app: string | undefined, type: string, fields: Record<string, unknown>): void {
    if (app === undefined) return;
    const event: AriEvent = { type, timestamp: this.timestamp(), ...fields, asterisk_id: this.asteriskId, application: app };
    this.emitter.emit('ari-event', event);
  }

  /** A channel event, to the app subscribed to the channel, with the channel as it is now. */
  chEvent(c: Channel, type: string, fields: Record<string, unknown> = {}): void {
    this.emitEvent(c.subscribedApp, type, { ...fields, channel: { ...c.json } });
  }

  dialEvent(c: Channel, dialstatus: string, dialstring: string): void {
    this.emitEvent(c.subscribedApp, 'Dial', { dialstatus, forward: '', dialstring, peer: { ...c.json } });
  }

  setState(c: Channel, state: ChannelState): void {
    if (c.json.state === state) return;
    c.json.state = state;
    this.chEvent(c, 'ChannelStateChange');
  }

  /** Runs fn after ms on the clock, unless the channel ended in between. */
  later(c: Channel, ms: number, fn: () => void): void {
    const handle = this.clock.setTimer(ms, () => {
      c.timers.delete(handle);
      if (this.isLive(c)) fn();
    });
    c.timers.add(handle);
  }

  cancelTimers(c: Channel): void {
    for (const t of c.timers) this.clock.cancelTimer(t);
    c.timers.clear();
  }

  /** Registers a new live channel (and under its endpoint, when it has one). */
  addChannel(c: Channel, endpoint?: string): void {
    this.channels.set(c.json.id, c);
    if (endpoint === undefined) return;
    let set = this.byEndpoint.get(endpoint);
    if (!set) this.byEndpoint.set(endpoint, (set = new Set()));
    set.add(c.json.id);
  }

  /** The channel is gone: its record kept (what it was told, where it went), `channel-ended` emitted. */
  finish(
    c: Channel,
    cause: number,
    o: { how: HangupRecord['how']; reason?: string; continuedTo?: HangupRecord['continuedTo']; variables?: Record<string, string> },
  ): void {
    this.cancelTimers(c);
    this.channels.delete(c.json.id);
    const key = `${c.tech}/${c.resource}`;
    const set = this.byEndpoint.get(key);
    if (set) {
      set.delete(c.json.id);
      if (set.size === 0) this.byEndpoint.delete(key);
    }
    const rec: HangupRecord = {
      id: c.json.id,
      name: c.json.name,
      cause,
      causeTxt: causeText(cause),
      how: o.how,
      variables: o.variables ?? Object.fromEntries(c.variables),
      answered: c.answeredOnce,
    };
    if (o.reason !== undefined) rec.reason = o.reason;
    if (o.continuedTo) rec.continuedTo = o.continuedTo;
    this.records.set(c.json.id, rec);
    if (this.records.size > this.recordLimit) {
      const first = this.records.keys().next().value;
      if (first !== undefined) this.records.delete(first);
    }
    this.emitter.emit('channel-ended', rec);
    for (const f of c.onEnd) f(rec);
  }

  /** Notes one SIP message the channel's phone saw (`recv`) or sent (`sent`). */
  sip(c: Channel, dir: SipMessage['dir'], text: string): void {
    let log = this.sipLog.get(c.json.id);
    if (!log) this.sipLog.set(c.json.id, (log = []));
    log.push({ dir, text });
  }

  /** Everything gone: no channel, no bridge (restart). Ended channels' records stay. */
  reset(): void {
    for (const c of this.channels.values()) this.cancelTimers(c);
    this.channels.clear();
    this.byEndpoint.clear();
    this.bridges.clear();
  }
}
