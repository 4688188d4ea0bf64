/**
 * The simulated PBX: channels, bridges, endpoints and the few dialplan behaviours agentgate meets,
 * with the event order, fields and causes that test/fixtures/asterisk-22.7/recordings show for Asterisk 22.7.
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
 */
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { causeText } from './causes.js';

export type EndpointScript =
  | { kind: 'answer'; afterMs: number }
  | { kind: 'ring' }
  | { kind: 'busy' }
  | { kind: 'congestion' }
  | { kind: 'unavailable' }
  | { kind: 'noanswer'; afterMs: number }
  | { kind: 'answer-then-hangup'; afterMs: number; hangupAfterMs: number }
  | { kind: 'offline' };

export type ChannelState = 'Down' | 'Ring' | 'Ringing' | 'Up' | 'Busy';

export interface ChannelJson {
  id: string;
  name: string;
  state: ChannelState;
  protocol_id: string;
  caller: { name: string; number: string };
  connected: { name: string; number: string };
  accountcode: string;
  dialplan: { context: string; exten: string; priority: number; app_name: string; app_data: string };
  creationtime: string;
  language: string;
}

export interface BridgeJson {
  id: string;
  technology: string;
  bridge_type: string;
  bridge_class: string;
  creator: string;
  name: string;
  channels: string[];
  creationtime: string;
  video_mode: string;
}

export type AriEvent = { type: string; timestamp: string; application: string; asterisk_id: string } & Record<string, unknown>;

export interface HangupRecord {
  id: string;
  name: string;
  cause: number;
  causeTxt: string;
  /** The ARI reason the channel was hung up with, when agentgate hung it up. */
  reason?: string;
  how: 'hungup' | 'continued' | 'failed';
  /**
   * The channel's variables when it left: for a `continued` channel, those the dialplan saw when it
   * resumed after Stasis() (a variable set after the /continue is not seen by that dialplan).
   */
  variables: Record<string, string>;
  continuedTo?: { context: string; exten: string; priority: number };
  answered: boolean;
}

interface Channel {
  json: ChannelJson;
  tech: string;
  resource: string;
  script: EndpointScript | undefined;
  /** App whose websocket gets this channel's events (ARI-created: for life; dialplan: while in Stasis). */
  subscribedApp: string | undefined;
  /** In Stasis now (StasisStart sent, no StasisEnd yet). */
  inStasis: boolean;
  stasisArgs: string[];
  /** Originate with app: enter Stasis when answered. */
  stasisOnAnswer: { app: string; args: string[] } | undefined;
  dialing: boolean;
  dialstring: string;
  bridge: Bridge | undefined;
  variables: Map<string, string>;
  timers: Set<NodeJS.Timeout>;
  fromDialplan: boolean;
  answeredOnce: boolean;
  onEnd: Array<(r: HangupRecord) => void>;
  stays: boolean;
  keepSubscribed?: boolean;
  /** The `;2` half of an originated Local leg: the app hears about it, never as a Stasis channel. */
  half?: Channel;
}

interface Bridge {
  json: BridgeJson;
  app: string;
  channels: Set<string>;
  /** The app hears about the bridge (BridgeDestroyed) once one of its channels entered it. */
  subscribed: boolean;
}

export interface PbxOptions {
  /**
   * How long after /channels/create a Local leg enters Stasis (default 15 ms; the recording's idle
   * server took 3 ms). The ARI conformance replay sets more, so that the recorded 409 for an early
   * /dial still shows when the machine running the tests is loaded.
   */
  localStasisDelayMs?: number;
  asteriskId?: string;
  /** How many ended channels' records to keep (oldest dropped). Default 50,000. */
  recordLimit?: number;
  endpoints?: Record<string, EndpointScript>;
}

/** The recorded PJSIP phones (asterisk-etc/pjsip.conf): 1001 answers after 1 s, 1002 rings, 1003 busy, 1004 offline. */
export const DEFAULT_ENDPOINTS: Readonly<Record<string, EndpointScript>> = {
  'PJSIP/1001': { kind: 'answer', afterMs: 1000 },
  'PJSIP/1002': { kind: 'ring' },
  'PJSIP/1003': { kind: 'busy' },
  'PJSIP/1004': { kind: 'offline' },
};

/** The recorded [agents] context, as scripts for `Local/<exten>@agents`. */
const AGENTS_CONTEXT: Readonly<Record<string, EndpointScript>> = {
  answer: { kind: 'answer', afterMs: 0 },
  answer1s: { kind: 'answer', afterMs: 1000 },
  ring: { kind: 'ring' },
  busy: { kind: 'busy' },
  congestion: { kind: 'congestion' },
  noanswer: { kind: 'noanswer', afterMs: 2000 },
  unavail: { kind: 'unavailable' },
  static: { kind: 'answer', afterMs: 0 },
};

let lastMs = -1;
let lastText = '';
/** Asterisk's event timestamp format, `2026-11-24T15:36:32.409+0000` (cached per millisecond). */
export function timestamp(ms = Date.now()): string {
  if (ms !== lastMs) {
    lastMs = ms;
    lastText = new Date(ms).toISOString().replace('Z', '+0000');
  }
  return lastText;
}

export class PbxError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'object' && body !== null ? JSON.stringify(body) : String(body));
  }
}

const notFound = (what: string): PbxError => new PbxError(404, { message: `${what} not found` });

/** A UserEvent raised by the dialplan (the composer forwards it to AMI). */
export interface DialplanUserEvent {
  channel: ChannelJson;
  linkedid: string;
  uniqueid: string;
  name: string;
  headers: Record<string, string>;
}

export class Pbx extends EventEmitter {
  readonly asteriskId: string;
  private readonly channelsById = new Map<string, Channel>();
  private readonly bridgesById = new Map<string, Bridge>();
  private readonly scripts = new Map<string, EndpointScript>();
  private readonly records = new Map<string, HangupRecord>();
  private readonly uniqueIds = new Map<string, string>();
  /** `PJSIP/1001` → ids of its live channels. */
  private readonly byEndpoint = new Map<string, Set<string>>();
  private seq = 0;
  private uniqueSeq = 0;
  /** Which apps a websocket holds now (set by the ARI server). */
  readonly heldApps = new Set<string>();
  private readonly recordLimit: number;
  private readonly localStasisDelayMs: number;

  constructor(opts: PbxOptions = {}) {
    super();
    this.recordLimit = opts.recordLimit ?? 50_000;
    this.localStasisDelayMs = opts.localStasisDelayMs ?? 15;
    this.setMaxListeners(0);
    this.asteriskId = opts.asteriskId ?? '02:fc:00:00:00:01';
    for (const [k, v] of Object.entries({ ...DEFAULT_ENDPOINTS, ...(opts.endpoints ?? {}) })) this.scripts.set(k, v);
  }

  // ---------------------------------------------------------------- inspection (tests, CLI)

  channels(): ChannelJson[] {
    return [...this.channelsById.values()].map((c) => ({ ...c.json }));
  }
  channel(id: string): ChannelJson | undefined {
    const c = this.channelsById.get(id);
    return c ? { ...c.json } : undefined;
  }
  bridges(): BridgeJson[] {
    return [...this.bridgesById.values()].map((b) => this.bridgeJson(b));
  }
  /** What a channel was told when it ended (kept after it is gone). */
  hangupRecord(id: string): HangupRecord | undefined {
    return this.records.get(id);
  }
  /** Every ended channel's record, oldest first. */
  hangupRecords(): HangupRecord[] {
    return [...this.records.values()];
  }
  variable(id: string, name: string): string | undefined {
    return this.channelsById.get(id)?.variables.get(name);
  }
  setEndpoint(endpoint: string, script: EndpointScript): void {
    this.scripts.set(endpoint, script);
  }
  endpointState(endpoint: string): 'online' | 'offline' | undefined {
    const s = this.scripts.get(endpoint);
    if (!s) return undefined;
    return s.kind === 'offline' ? 'offline' : 'online';
  }
  endpoints(): Array<{ technology: string; resource: string; state: string; channel_ids: string[] }> {
    const out: Array<{ technology: string; resource: string; state: string; channel_ids: string[] }> = [];
    for (const k of this.scripts.keys()) {
      const e = k.startsWith('PJSIP/') ? this.endpoint(k) : undefined;
      if (e) out.push(e);
    }
    return out;
  }
  /** One endpoint (`PJSIP/1001`) as GET /endpoints/{tech}/{resource} shows it, or undefined. */
  endpoint(key: string): { technology: string; resource: string; state: string; channel_ids: string[] } | undefined {
    const s = this.scripts.get(key);
    if (!s) return undefined;
    const slash = key.indexOf('/');
    return { technology: key.slice(0, slash), resource: key.slice(slash + 1), state: s.kind === 'offline' ? 'offline' : 'online', channel_ids: [...(this.byEndpoint.get(key) ?? [])] };
  }
  /** Channel ids subscribed to the app (GET /applications/{app}). */
  appChannelIds(app: string): string[] {
    return [...this.channelsById.values()].filter((c) => c.subscribedApp === app).map((c) => c.json.id);
  }
  appBridgeIds(app: string): string[] {
    return [...this.bridgesById.values()].filter((b) => b.app === app).map((b) => b.json.id);
  }

  /** Everything gone: no channel, no bridge (restart). */
  reset(): void {
    for (const c of this.channelsById.values()) for (const t of c.timers) clearTimeout(t);
    this.channelsById.clear();
    this.byEndpoint.clear();
    this.bridgesById.clear();
  }

  // ---------------------------------------------------------------- events

  private emitEvent(app: string | undefined, type: string, fields: Record<string, unknown>): void {
    if (app === undefined) return;
    const event: AriEvent = { type, timestamp: timestamp(), ...fields, asterisk_id: this.asteriskId, application: app };
    this.emit('ari-event', event);
  }

  private chEvent(c: Channel, type: string, fields: Record<string, unknown> = {}): void {
    this.emitEvent(c.subscribedApp, type, { ...fields, channel: { ...c.json } });
  }

  // ---------------------------------------------------------------- channel creation

  private nextName(tech: string, resource: string): string {
    const n = (this.seq++).toString(16).padStart(8, '0');
    return tech === 'Local' ? `Local/${resource}-${n};1` : `${tech}/${resource}-${n}`;
  }

  private resolveScript(endpoint: string): { tech: string; resource: string; script: EndpointScript } {
    const slash = endpoint.indexOf('/');
    const tech = slash > 0 ? endpoint.slice(0, slash) : endpoint;
    const resource = slash > 0 ? endpoint.slice(slash + 1) : '';
    if (tech === 'Local') {
      const [exten, context] = resource.split('@') as [string, string | undefined];
      const script = this.scripts.get(endpoint) ?? (context === 'agents' ? AGENTS_CONTEXT[exten] : undefined) ?? { kind: 'ring' as const };
      return { tech, resource, script };
    }
    const script = this.scripts.get(`${tech}/${resource}`);
    // Unknown technology or endpoint: Asterisk cannot allocate the channel.
    if (!script || script.kind === 'offline' || (tech !== 'PJSIP' && tech !== 'SIP' && tech !== 'IAX2')) throw new PbxError(500, { error: 'Allocation failed' });
    return { tech, resource, script };
  }

  private newChannel(id: string | undefined, endpoint: string, caller?: { name: string; number: string }): Channel {
    if (id !== undefined && this.channelsById.has(id)) throw new PbxError(409, { message: 'Channel with given unique ID already exists' });
    const { tech, resource, script } = this.resolveScript(endpoint);
    const chanId = id ?? `${Math.floor(Date.now() / 1000)}.${this.uniqueSeq++}`;
    const c = channelRecord(
      {
        id: chanId,
        name: this.nextName(tech, resource),
        state: 'Down',
        protocol_id: tech === 'PJSIP' ? randomUUID() : '',
        caller: caller ?? { name: '', number: '' },
        connected: caller ?? { name: '', number: '' },
        accountcode: '',
        dialplan: { context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' },
        creationtime: timestamp(),
        language: 'en',
      },
      tech,
      resource,
      { script, dialstring: resource },
    );
    this.channelsById.set(chanId, c);
    const ek = `${tech}/${resource}`;
    let set = this.byEndpoint.get(ek);
    if (!set) this.byEndpoint.set(ek, (set = new Set()));
    set.add(chanId);
    this.uniqueIds.set(chanId, `${Math.floor(Date.now() / 1000)}.${this.uniqueSeq++}`);
    return c;
  }

  private later(c: Channel, ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      c.timers.delete(t);
      if (this.channelsById.get(c.json.id) === c) fn();
    }, ms);
    c.timers.add(t);
  }

  private setState(c: Channel, state: ChannelState): void {
    if (c.json.state === state) return;
    c.json.state = state;
    this.chEvent(c, 'ChannelStateChange');
  }

  private enterStasis(c: Channel, app: string, args: string[]): void {
    c.subscribedApp = app;
    c.inStasis = true;
    c.stasisArgs = args;
    c.json.dialplan = { ...c.json.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
    this.chEvent(c, 'StasisStart', { args });
  }

  /** POST /channels: originate. With app: StasisStart only when answered. */
  originate(p: { endpoint?: string; app?: string; appArgs?: string; channelId?: string; otherChannelId?: string; originator?: string; timeout?: number; callerId?: string; variables?: Record<string, string>; context?: string; extension?: string }): ChannelJson {
    if (!p.endpoint) throw new PbxError(400, { message: 'Endpoint must be specified' });
    const incoming = /^Local\/([^@]+)@incoming$/.exec(p.endpoint);
    if (incoming && !p.app) return this.originateCaller(p.endpoint, incoming[1]!, p);
    const c = this.newChannel(p.channelId, p.endpoint, parseCallerId(p.callerId));
    for (const [k, v] of Object.entries(p.variables ?? {})) c.variables.set(k, v);
    const json = { ...c.json };
    if (p.app) {
      c.subscribedApp = p.app;
      c.stasisOnAnswer = { app: p.app, args: p.appArgs ? p.appArgs.split(',') : [] };
      if (c.tech === 'Local') c.half = this.newHalf(c, p.app);
    }
    const half = c.half;
    const originator = p.originator === undefined ? undefined : this.channelsById.get(p.originator);
    if (half && originator) {
      // The far half takes the originator's caller id (recorded: ChannelCallerId on `leg;2`).
      half.json.caller = { ...originator.json.caller };
      setImmediate(() => this.chEvent(half, 'ChannelCallerId', { caller_presentation: 0, caller_presentation_txt: 'Presentation Allowed, Not Screened' }));
    }
    const timeoutMs = (p.timeout ?? 30) < 0 ? undefined : (p.timeout ?? 30) * 1000;
    setImmediate(() => this.startDial(c, timeoutMs, true));
    return json;
  }

  /**
   * A caller the recorded way: `Local/100@incoming` originated into [caller] wait; its `;2` half
   * (id otherChannelId) runs [incoming] 100 → Stasis(agentgate,dispatch,alice). The `;1` half is not
   * in any app. Hanging up either half ends both.
   */
  private originateCaller(endpoint: string, exten: string, p: { channelId?: string; otherChannelId?: string; callerId?: string }): ChannelJson {
    if (p.channelId !== undefined && this.channelsById.has(p.channelId)) throw new PbxError(409, { message: 'Channel with given unique ID already exists' });
    if (p.otherChannelId !== undefined && this.channelsById.has(p.otherChannelId)) throw new PbxError(409, { message: 'Channel with given unique ID already exists' });
    const caller = parseCallerId(p.callerId) ?? { name: '', number: '' };
    const one = this.newChannel(p.channelId, endpoint, caller);
    one.script = undefined;
    one.json.dialplan = { context: 'incoming', exten, priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' };
    const name = one.json.name.replace(/;1$/, ';2');
    const twoId = p.otherChannelId ?? `${one.json.id};2`;
    const json = { ...one.json };
    setImmediate(() => {
      const r = this.dialIn({ app: 'agentgate', args: exten === '100' ? ['dispatch', 'alice'] : [], from: 'Local/x', callerNumber: caller.number, callerName: caller.name, context: 'incoming', exten, id: twoId, name });
      if (r.failed) this.finish(one, 16, { how: 'hungup' });
      else {
        this.whenEnded(twoId)
          .then(() => {
            if (this.channelsById.get(one.json.id) === one) this.finish(one, 16, { how: 'hungup' });
          })
          .catch(() => undefined);
      }
    });
    return json;
  }

  /** The `;2` half of an originated Local leg (recordings: `leg-a;2`), in the app's channel list. */
  private newHalf(one: Channel, app: string): Channel {
    const half = channelRecord(
      { ...one.json, id: `${one.json.id};2`, name: one.json.name.replace(/;1$/, ';2'), state: 'Ring', dialplan: { ...one.json.dialplan, context: one.resource.split('@')[1] ?? 'default', exten: one.resource.split('@')[0] ?? 's' } },
      'Local',
      one.resource,
      { subscribedApp: app },
    );
    this.channelsById.set(half.json.id, half);
    return half;
  }

  /** The `;2` half follows its `;1`: hang-up request with the cause, the soft request, destroyed. */
  private endHalf(c: Channel, cause: number, busy: boolean): void {
    const h = c.half;
    if (!h || this.channelsById.get(h.json.id) !== h) return;
    c.half = undefined;
    if (busy) {
      this.chEvent(h, 'ChannelHangupRequest', { cause: 0 });
      this.setState(h, 'Busy');
    } else this.chEvent(h, 'ChannelHangupRequest', { cause });
    this.chEvent(h, 'ChannelHangupRequest', { cause: 16, soft: true });
    this.chEvent(h, 'ChannelDestroyed', { cause: busy ? 17 : cause, cause_txt: causeText(busy ? 17 : cause) });
    this.finish(h, busy ? 17 : cause, { how: 'hungup' });
  }

  /** POST /channels/create: in Stasis at once (StasisStart a moment after the response, as recorded). */
  create(p: { endpoint?: string; app?: string; appArgs?: string; channelId?: string; otherChannelId?: string; originator?: string; variables?: Record<string, string> }): ChannelJson {
    if (!p.endpoint) throw new PbxError(400, { message: 'Endpoint must be specified' });
    if (!p.app) throw new PbxError(400, { message: 'Application must be specified' });
    const c = this.newChannel(p.channelId, p.endpoint);
    // Body `{"variables":{...}}`: set as the channel is made (recordings/ari-callcontrol/refer-ari-only).
    for (const [k, v] of Object.entries(p.variables ?? {})) c.variables.set(k, String(v));
    const json = { ...c.json };
    const app = p.app;
    c.subscribedApp = app;
    // A PJSIP channel is in Stasis as the create returns; a Local one runs its dialplan first, some
    // ms later (3 ms on the recording's idle server; a /dial in between gets 409:
    // recordings/ari/websocket-reconnect.jsonl). 15 ms by default (localStasisDelayMs), so that a
    // client on a loaded machine sending /dial at once still meets the 409 the recording shows.
    const enter = (fn: () => void): void => void (c.tech === 'Local' ? this.later(c, this.localStasisDelayMs, fn) : setImmediate(fn));
    enter(() => {
      if (this.channelsById.get(c.json.id) !== c) return;
      c.json.dialplan = { ...c.json.dialplan, app_name: 'Stasis', app_data: [app, p.appArgs ?? ''].filter(Boolean).join(',') };
      this.chEvent(c, 'ChannelDialplan', { dialplan_app: 'Stasis', dialplan_app_data: c.json.dialplan.app_data });
      this.chEvent(c, 'ChannelVarset', { variable: 'STASISSTATUS', value: '' });
      this.enterStasis(c, app, p.appArgs ? p.appArgs.split(',') : []);
      const originator = p.originator === undefined ? undefined : this.channelsById.get(p.originator);
      if (originator) {
        // The leg learns who it will be connected to (recorded: ChannelConnectedLine after StasisStart).
        c.json.connected = { ...originator.json.caller };
        this.chEvent(c, 'ChannelConnectedLine');
      }
    });
    return json;
  }

  /** POST /channels/{id}/dial. */
  dial(id: string, p: { caller?: string; timeout?: number }): void {
    const c = this.mustChannel(id);
    if (!c.inStasis) throw new PbxError(409, { message: 'Channel not in Stasis application' });
    if (c.dialing || c.json.state === 'Up') throw new PbxError(409, { message: 'Channel is already dialing or answered' });
    if (p.caller !== undefined && !this.channelsById.has(p.caller)) throw new PbxError(404, { message: 'Caller channel not found' });
    // The app stays subscribed to a channel it names as a dial's caller, to its end (recorded).
    if (p.caller !== undefined) this.channelsById.get(p.caller)!.keepSubscribed = true;
    const timeoutMs = p.timeout === undefined || p.timeout <= 0 ? undefined : p.timeout * 1000;
    this.startDial(c, timeoutMs, false);
  }

  private dialEvent(c: Channel, dialstatus: string, dialstring: string): void {
    this.emitEvent(c.subscribedApp, 'Dial', { dialstatus, forward: '', dialstring, peer: { ...c.json } });
  }

  private startDial(c: Channel, timeoutMs: number | undefined, originated: boolean): void {
    if (this.channelsById.get(c.json.id) !== c) return;
    c.dialing = true;
    const s = c.script ?? { kind: 'ring' as const };
    const ds = originated || c.tech === 'Local' ? c.dialstring : c.resource;
    this.dialEvent(c, '', ds);
    const ringing = (): void => {
      this.setState(c, 'Ringing');
      this.dialEvent(c, 'RINGING', originated ? ds : '');
    };
    const fail = (cause: number, tech?: number, dialstatus?: string): void => {
      if (dialstatus) this.dialEvent(c, dialstatus, originated ? ds : '');
      this.hangupInternal(c, cause, { tech, remote: true, originated });
    };
    switch (s.kind) {
      case 'answer':
        // Answer() at once (the recorded `answer` extension) never rings.
        if (s.afterMs > 0) ringing();
        this.later(c, s.afterMs, () => this.answerLeg(c, originated, ds));
        break;
      case 'answer-then-hangup':
        ringing();
        this.later(c, s.afterMs, () => {
          this.answerLeg(c, originated, ds);
          this.later(c, s.hangupAfterMs, () => this.hangupInternal(c, 16, { remote: true }));
        });
        break;
      case 'ring':
        ringing();
        break;
      case 'noanswer':
        ringing();
        this.later(c, s.afterMs, () => fail(19, undefined, originated ? 'NOANSWER' : undefined));
        break;
      case 'busy':
        if (c.tech === 'Local' && !originated) {
          // A created+dialled busy Local leg reports BUSY and stays in Stasis until hung up.
          this.dialEvent(c, 'BUSY', '');
          c.stays = true;
        } else if (originated) fail(0, undefined, 'BUSY');
        else fail(17, 486);
        break;
      case 'congestion':
        if (c.tech === 'Local' && !originated) {
          this.dialEvent(c, 'CONGESTION', '');
          c.stays = true;
        } else if (originated) fail(0, undefined, 'CONGESTION');
        else fail(34, 503);
        break;
      case 'unavailable':
        fail(20, originated || c.tech !== 'PJSIP' ? undefined : 480, originated ? 'CHANUNAVAIL' : undefined);
        break;
      case 'offline':
        fail(20, undefined, 'CHANUNAVAIL');
        break;
    }
    if (timeoutMs !== undefined && s.kind !== 'unavailable' && s.kind !== 'offline' && !(s.kind === 'busy' && (originated || c.tech === 'PJSIP'))) {
      this.later(c, timeoutMs, () => {
        if (c.json.state === 'Up') return;
        if (originated) {
          // Originate timeout: destroyed with cause 0 "Unknown" (22.7), no hang-up request, no NOANSWER.
          this.hangupInternal(c, 0, { originated: true, remote: true });
        } else if (c.stays) {
          // A created leg left BUSY/CONGESTION in Stasis: the dial timeout clears it (recorded: cause 19).
          this.chEvent(c, 'ChannelHangupRequest', { cause: 32, soft: true });
          this.chEvent(c, 'ChannelHangupRequest', { cause: s.kind === 'congestion' ? 34 : 17 });
          this.hangupInternal(c, 19, { originated: true, remote: true });
        } else {
          this.dialEvent(c, 'NOANSWER', '');
          this.hangupInternal(c, 19, { remote: true });
        }
      });
    }
  }

  private answerLeg(c: Channel, originated: boolean, ds: string): void {
    c.dialing = false;
    c.answeredOnce = true;
    if (c.half) this.setState(c.half, 'Up'); // the far half answers first
    this.setState(c, 'Up');
    this.dialEvent(c, 'ANSWER', originated ? ds : '');
    if (c.stasisOnAnswer) {
      const { app, args } = c.stasisOnAnswer;
      c.stasisOnAnswer = undefined;
      this.enterStasis(c, app, args);
    }
  }

  // ---------------------------------------------------------------- callers (dialplan Stasis)

  /**
   * A caller runs `Stasis(app, args...)` from the dialplan. When no websocket holds the app,
   * Stasis() fails at once: STASISSTATUS=FAILED and the call goes on in the dialplan.
   */
  dialIn(p: { app: string; args: string[]; from: string; callerNumber: string; callerName: string; context: string; exten: string; id?: string; name?: string }): { id: string; name: string; failed: boolean } {
    const slash = p.from.indexOf('/');
    const tech = p.from.slice(0, slash);
    const resource = p.from.slice(slash + 1);
    const id = p.id ?? `${Math.floor(Date.now() / 1000)}.${this.uniqueSeq++}`;
    const c = channelRecord(
      {
        id,
        name: p.name ?? this.nextName(tech, resource),
        state: 'Ring',
        protocol_id: tech === 'PJSIP' ? randomUUID() : '',
        caller: { name: p.callerName, number: p.callerNumber },
        connected: { name: p.callerName, number: p.callerNumber },
        accountcode: '',
        dialplan: { context: p.context, exten: p.exten, priority: 1, app_name: 'Stasis', app_data: [p.app, ...p.args].join(',') },
        creationtime: timestamp(),
        language: 'en',
      },
      tech,
      resource,
      { fromDialplan: true },
    );
    this.channelsById.set(id, c);
    if (!this.heldApps.has(p.app)) {
      c.variables.set('STASISSTATUS', 'FAILED');
      this.finish(c, 16, { how: 'failed' });
      return { id, name: c.json.name, failed: true };
    }
    this.enterStasis(c, p.app, p.args);
    return { id, name: c.json.name, failed: false };
  }

  /** Resolves when the channel is gone (hung up, continued or failed). */
  whenEnded(id: string): Promise<HangupRecord> {
    const rec = this.records.get(id);
    if (rec) return Promise.resolve(rec);
    const c = this.channelsById.get(id);
    if (!c) return Promise.reject(new Error(`no channel ${id}`));
    return new Promise((resolve) => c.onEnd.push(resolve));
  }

  /**
   * The dialplan raises `UserEvent(name, k: v, ...)` on a new channel from `from` (a feature code).
   * The channel then plays a beep and hangs up: it stays listed (GET /channels/{id}, executing in
   * `context`) for lifetimeMs, the window in which agentgate checks it over ARI.
   */
  userEventFromPhone(from: string, context: string, exten: string, name: string, headers: Record<string, string>, lifetimeMs = 1000): DialplanUserEvent {
    const slash = from.indexOf('/');
    const tech = from.slice(0, slash);
    const resource = from.slice(slash + 1);
    const id = `${Math.floor(Date.now() / 1000)}.${this.uniqueSeq++}`;
    const json: ChannelJson = {
      id,
      // An originated Local channel runs the dialplan on its ;2 half (recorded: userevent-from-dialplan).
      name: this.nextName(tech, resource).replace(/;1$/, ';2'),
      state: 'Up',
      protocol_id: '',
      caller: { name: '', number: resource },
      connected: { name: '', number: '' },
      accountcode: '',
      dialplan: { context, exten, priority: 2, app_name: 'Playback', app_data: 'beep' },
      creationtime: timestamp(),
      language: 'en',
    };
    const c = channelRecord(json, tech, resource, { fromDialplan: true });
    this.channelsById.set(id, c);
    const t = setTimeout(() => {
      if (this.channelsById.get(id) === c) this.finish(c, 16, { how: 'hungup' });
    }, lifetimeMs);
    c.timers.add(t);
    return { channel: { ...json }, uniqueid: id, linkedid: id, name, headers };
  }

  // ---------------------------------------------------------------- channel operations

  private mustChannel(id: string): Channel {
    const c = this.channelsById.get(id);
    if (!c) throw notFound('Channel');
    return c;
  }

  getChannel(id: string): ChannelJson {
    return { ...this.mustChannel(id).json };
  }

  answer(id: string): void {
    const c = this.mustChannel(id);
    if (!c.inStasis) throw new PbxError(409, { message: 'Channel not in Stasis application' });
    c.answeredOnce = true;
    this.setState(c, 'Up');
  }

  /** ringback, moh, hold and their DELETEs: 204, no events. */
  mediaOp(id: string): void {
    const c = this.mustChannel(id);
    if (!c.inStasis) throw new PbxError(409, { message: 'Channel not in Stasis application' });
  }

  play(id: string, media: string, playbackId?: string): Record<string, unknown> {
    const c = this.mustChannel(id);
    if (!c.inStasis) throw new PbxError(409, { message: 'Channel not in Stasis application' });
    const pb = { id: playbackId ?? randomUUID(), media_uri: media, target_uri: `channel:${id}`, language: 'en', state: 'queued' };
    setImmediate(() => {
      this.emitEvent(c.subscribedApp, 'PlaybackStarted', { playback: { ...pb, state: 'playing' } });
      this.later(c, 50, () => this.emitEvent(c.subscribedApp, 'PlaybackFinished', { playback: { ...pb, state: 'done' } }));
    });
    return pb;
  }

  setVar(id: string, name: string | undefined, value: string): void {
    if (!name) throw new PbxError(400, { message: 'Variable name is required' });
    const c = this.mustChannel(id);
    c.variables.set(name, value);
    this.chEvent(c, 'ChannelVarset', { variable: name, value });
  }

  getVar(id: string, name: string | undefined): string {
    if (!name) throw new PbxError(400, { message: 'Variable name is required' });
    const c = this.mustChannel(id);
    const v = c.variables.get(name);
    if (v === undefined) throw new PbxError(404, { message: 'Provided variable was not found' });
    return v;
  }

  /** POST /channels/{id}/continue: leaves Stasis, back to the dialplan (which here ends the call). */
  continueInDialplan(id: string, p: { context?: string; extension?: string; priority?: number }): void {
    const c = this.mustChannel(id);
    if (!c.inStasis) throw new PbxError(409, { message: 'Channel not in Stasis application' });
    const to = {
      context: p.context ?? c.json.dialplan.context,
      exten: p.extension ?? c.json.dialplan.exten,
      priority: p.priority ?? c.json.dialplan.priority + 1,
    };
    this.leaveBridge(c);
    c.inStasis = false;
    this.chEvent(c, 'StasisEnd');
    if (c.fromDialplan) c.subscribedApp = undefined;
    // The dialplan resumes now and reads its variables now (the NoOp/GotoIf after Stasis()): what
    // is set later, by a request that overtook this one on another connection, it never sees.
    const seen = Object.fromEntries(c.variables);
    // The dialplan after Stasis() runs to its Hangup(); the app is no longer told about it.
    setImmediate(() => this.finish(c, 16, { how: 'continued', continuedTo: to, variables: seen }));
  }

  /** DELETE /channels/{id}?reason= */
  hangup(id: string, reason: string | undefined, cause: number): void {
    const c = this.mustChannel(id);
    this.hangupInternal(c, cause, { reason, byApp: true });
  }

  private hangupInternal(c: Channel, cause: number, o: { reason?: string; tech?: number; remote?: boolean; byApp?: boolean; originated?: boolean }): void {
    if (this.channelsById.get(c.json.id) !== c) return;
    if (o.byApp) this.chEvent(c, 'ChannelHangupRequest', { cause: 32, soft: true });
    else if (o.tech !== undefined) this.chEvent(c, 'ChannelHangupRequest', { cause, tech_cause: o.tech });
    else if (!o.originated) this.chEvent(c, 'ChannelHangupRequest', { cause });
    if (c.dialing && c.json.state !== 'Up' && o.byApp && c.stasisOnAnswer !== undefined) this.dialEvent(c, 'NOANSWER', c.dialstring);
    this.leaveBridge(c);
    if (c.inStasis) {
      c.inStasis = false;
      this.chEvent(c, 'StasisEnd');
      if (!c.fromDialplan) this.chEvent(c, 'ChannelVarset', { variable: 'STASISSTATUS', value: 'SUCCESS' });
    }
    if (c.fromDialplan && c.keepSubscribed && o.byApp) {
      // Back in the dialplan after StasisEnd, the hang-up completes: still reported to the app.
      this.chEvent(c, 'ChannelHangupRequest', { cause: 16, soft: true });
    } else if (c.fromDialplan && !c.keepSubscribed) c.subscribedApp = undefined;
    const extra: Record<string, unknown> = { cause, cause_txt: causeText(cause) };
    if (o.tech !== undefined) extra.tech_cause = o.tech;
    this.chEvent(c, 'ChannelDestroyed', extra);
    this.endHalf(c, cause, c.script?.kind === 'busy' && cause === 0);
    this.finish(c, cause, { how: 'hungup', reason: o.reason });
  }

  private finish(c: Channel, cause: number, o: { how: HangupRecord['how']; reason?: string; continuedTo?: HangupRecord['continuedTo']; variables?: Record<string, string> }): void {
    for (const t of c.timers) clearTimeout(t);
    c.timers.clear();
    this.channelsById.delete(c.json.id);
    this.uniqueIds.delete(c.json.id);
    const set = this.byEndpoint.get(`${c.tech}/${c.resource}`);
    if (set) {
      set.delete(c.json.id);
      if (set.size === 0) this.byEndpoint.delete(`${c.tech}/${c.resource}`);
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
    this.emit('channel-ended', rec);
    for (const f of c.onEnd) f(rec);
  }

  /** The far end hangs up (a test or the demo: "the customer hangs up"). */
  remoteHangup(id: string, cause = 16): void {
    const c = this.mustChannel(id);
    this.hangupInternal(c, cause, { remote: true });
  }

  // ---------------------------------------------------------------- bridges

  private bridgeJson(b: Bridge): BridgeJson {
    return { ...b.json, channels: [...b.channels] };
  }

  createBridge(p: { type?: string; bridgeId?: string; name?: string }, app: string): BridgeJson {
    const id = p.bridgeId ?? randomUUID();
    if (this.bridgesById.has(id)) throw new PbxError(409, { message: 'Bridge with given unique ID already exists' });
    const b: Bridge = {
      json: {
        id,
        technology: 'simple_bridge',
        bridge_type: (p.type ?? 'mixing').split(',')[0] ?? 'mixing',
        bridge_class: 'stasis',
        creator: 'Stasis',
        name: p.name ?? '',
        channels: [],
        creationtime: timestamp(),
        video_mode: 'talker',
      },
      app,
      channels: new Set(),
      subscribed: false,
    };
    this.bridgesById.set(id, b);
    return this.bridgeJson(b);
  }

  getBridge(id: string): BridgeJson {
    const b = this.bridgesById.get(id);
    if (!b) throw notFound('Bridge');
    return this.bridgeJson(b);
  }

  addToBridge(bridgeId: string, channelIds: string[]): void {
    const b = this.bridgesById.get(bridgeId);
    if (!b) throw notFound('Bridge');
    const chans = channelIds.map((id) => {
      const c = this.channelsById.get(id);
      if (!c) throw new PbxError(400, { message: 'Channel not found' });
      if (!c.inStasis) throw new PbxError(422, { message: 'Channel not in Stasis application' });
      return c;
    });
    for (const c of chans) {
      if (c.bridge === b) continue;
      this.leaveBridge(c);
      c.bridge = b;
      b.channels.add(c.json.id);
      b.subscribed = true;
      this.emitEvent(c.subscribedApp, 'ChannelEnteredBridge', { bridge: this.bridgeJson(b), channel: { ...c.json } });
    }
  }

  removeFromBridge(bridgeId: string, channelIds: string[]): void {
    const b = this.bridgesById.get(bridgeId);
    if (!b) throw notFound('Bridge');
    for (const id of channelIds) {
      const c = this.channelsById.get(id);
      if (!c) throw new PbxError(400, { message: 'Channel not found' });
      if (c.bridge !== b) throw new PbxError(422, { message: 'Channel not in this bridge' });
      this.leaveBridge(c);
    }
  }

  private leaveBridge(c: Channel): void {
    const b = c.bridge;
    if (!b) return;
    c.bridge = undefined;
    b.channels.delete(c.json.id);
    this.emitEvent(c.subscribedApp, 'ChannelLeftBridge', { bridge: this.bridgeJson(b), channel: { ...c.json } });
  }

  destroyBridge(id: string): void {
    const b = this.bridgesById.get(id);
    if (!b) throw notFound('Bridge');
    for (const cid of [...b.channels]) {
      const c = this.channelsById.get(cid);
      if (c) this.leaveBridge(c);
    }
    this.bridgesById.delete(id);
    if (b.subscribed) this.emitEvent(b.app, 'BridgeDestroyed', { bridge: this.bridgeJson(b) });
  }
}

/** A channel's internal record with everything at rest: callers override what differs. */
function channelRecord(json: ChannelJson, tech: string, resource: string, over: Partial<Channel> = {}): Channel {
  return {
    json,
    tech,
    resource,
    script: undefined,
    subscribedApp: undefined,
    inStasis: false,
    stasisArgs: [],
    stasisOnAnswer: undefined,
    dialing: false,
    dialstring: '',
    bridge: undefined,
    variables: new Map(),
    timers: new Set(),
    fromDialplan: false,
    answeredOnce: false,
    onEnd: [],
    stays: false,
    ...over,
  };
}

function parseCallerId(s: string | undefined): { name: string; number: string } | undefined {
  if (!s) return undefined;
  const m = /^\s*"?([^"<]*)"?\s*<([^>]*)>\s*$/.exec(s);
  if (m) return { name: m[1]!.trim(), number: m[2]!.trim() };
  return { name: '', number: s.trim() };
}
