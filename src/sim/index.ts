/**
 * The Asterisk simulator: a PBX model with a real ARI (HTTP + WebSocket) and a real AMI (TCP) on
 * top, used by the tests, `agentgate demo` and `agentgate sim`. The daemon never imports it.
 *
 *   const sim = await Simulator.start();            // ARI and AMI on free ports
 *   const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
 *   ...
 *   await sim.stop();
 *
 * A simulated SIP phone can act on its own during a call (recordings/ari-callcontrol), on a leg
 * to a PJSIP endpoint that has answered (else they throw):
 *   sim.phoneReferAttended(legId, callId)  REFER with Replaces (attended transfer; ari-only only)
 *   sim.phoneRefer(legId, '1003')   in-dialog REFER: Asterisk blind-transfers the bridge peer to
 *                                   Local/1003@<endpoint context> (`core`), or only tells the app
 *                                   (ChannelTransfer) when the leg has PJSIP_TRANSFER_HANDLING()
 *                                   = ari-only; sim.transferNotifies(legId) then lists the NOTIFY
 *                                   sipfrags the phone got (`SIP/2.0 100 Trying`, `SIP/2.0 200 OK`,
 *                                   `SIP/2.0 603 Decline` ...)
 *   sim.phoneHold(legId) / sim.phoneUnhold(legId)   re-INVITE: ChannelHold / ChannelUnhold
 *   sim.phoneDtmf(legId, '1', 160)  INFO DTMF: ChannelDtmfReceived on that leg only
 *   sim.sipLog(channelId)           every such SIP message (and a /redirect's REFER) seen by the phone
 *   sim.hears(channelId)            'music' | 'ringback' | 'silence' | 'call': what the app's /hold,
 *                                   /moh, /ring, /silence or a bridge's MOH play to that party
 * The same over HTTP for the demo: POST /sim/phones/{channelId}/refer?destination=, /hold, /unhold,
 * /dtmf?digit=&durationMs=, GET /sim/phones/{channelId}/sip.
 * A phone can also do them by script, `then` steps after it answers, as the recorded 1006 (DTMF)
 * and 1007 (REFER) do: sim.setEndpoint('PJSIP/2001', { kind: 'answer', afterMs: 1000, then:
 * [{ afterMs: 1000, do: 'refer', destination: '1003' }] }). Their delays run on the PBX's clock.
 */
import type { IncomingMessage } from 'node:http';
import type { Clock } from '../ports/clock.js';
import { AriServer } from './ari/server.js';
import { AmiServer, type AmiChannelFields } from './ami/server.js';
import { AppQueue, DEFAULT_QUEUES, type QueueConfig } from './queues/app-queue.js';
import { Pbx, type AriEvent, type ChannelJson, type EndpointScript, type HangupRecord, type SipMessage } from './pbx/pbx.js';

export type { EndpointScript, AriEvent, HangupRecord, ChannelJson, PhoneAction, SipMessage } from './pbx/pbx.js';
export type { QueueConfig } from './queues/app-queue.js';

export interface SimulatorOptions {
  host?: string;
  /** 0 (default) = a free port. `agentgate sim` uses 8088 / 5038. */
  ariPort?: number;
  amiPort?: number;
  ariUsers?: { username: string; password: string }[];
  /** manager.conf users; `read` / `write` classes default to every class. */
  amiUsers?: { username: string; secret: string; read?: string[]; write?: string[] }[];
  endpoints?: Record<string, EndpointScript>;
  queues?: QueueConfig[];
  amiAuthFailDelayMs?: number;
  /** Ended channels whose hang-up record is kept for tests (default 50,000). */
  recordLimit?: number;
  /** See PbxOptions.localStasisDelayMs. */
  localStasisDelayMs?: number;
  /** The PBX's clock (default the system clock); see PbxOptions.clock. */
  clock?: Clock;
  /** What GET /asterisk/info reports as the version (default 22.7.0); see PbxOptions.asteriskVersion. */
  asteriskVersion?: string;
}

export interface SimCall {
  id: string;
  name: string;
  /** STASISSTATUS=FAILED: no websocket held the app, the call went on in the dialplan. */
  failed: boolean;
  /** The caller hangs up. */
  hangup(): Promise<void>;
  /** Resolves when the channel left (continued to the dialplan, hung up, or Stasis failed). */
  ended(): Promise<HangupRecord>;
}

/**
 * Feature codes raising `UserEvent(AgentGate,Action: ...,Extension:
 * ${CALLERID(num)},...)` as asterisk-conf/extensions.conf does (the recorded dialplan is *41 with
 * Extension 1001; a call from a phone carries that phone's number).
 */
const FEATURES: Record<string, (ext: string) => Record<string, string>> = {
  '*41': (ext) => ({ Action: 'login', Extension: ext, Queue: 'support' }),
  '*42': (ext) => ({ Action: 'logout', Extension: ext, Queue: 'support' }),
  '*43': (ext) => ({ Action: 'pause', Extension: ext, Reason: 'break' }),
  '*44': (ext) => ({ Action: 'unpause', Extension: ext }),
};

export class Simulator {
  readonly pbx: Pbx;
  readonly queues: AppQueue;
  readonly ami: AmiServer;
  readonly ari: AriServer;
  ariUrl = '';
  amiPort = 0;

  private constructor(opts: SimulatorOptions) {
    this.pbx = new Pbx({
      endpoints: opts.endpoints,
      recordLimit: opts.recordLimit,
      localStasisDelayMs: opts.localStasisDelayMs,
      clock: opts.clock,
      asteriskVersion: opts.asteriskVersion,
    });
    this.queues = new AppQueue(opts.queues ?? DEFAULT_QUEUES);
    this.ami = new AmiServer({
      host: opts.host,
      port: opts.amiPort ?? 0,
      users: opts.amiUsers,
      queues: this.queues,
      authFailDelayMs: opts.amiAuthFailDelayMs,
      hooks: {
        originate: async (req) => {
          // Originate into a feature code: the channel runs the [features] dialplan.
          const m = /^Local\/([^@]+)@(\w+)/.exec(req.channel);
          if (m && m[2] === 'features') {
            // As recorded (userevent-from-dialplan): the ;2 half runs the feature code, caller unknown.
            this.runFeature(`Local/${m[1]}@features`, m[1]!, '<unknown>', '1001');
            return { ok: true, uniqueid: '', channel: req.channel };
          }
          return { ok: false, reason: 'unsupported originate target in the simulator' };
        },
      },
    });
    this.ari = new AriServer(this.pbx, {
      host: opts.host,
      port: opts.ariPort ?? 0,
      users: opts.ariUsers,
      control: (req, body, url) => this.control(req, body, url),
    });
  }

  static async start(opts: SimulatorOptions = {}): Promise<Simulator> {
    const sim = new Simulator(opts);
    await sim.ari.start();
    sim.ariUrl = sim.ari.url;
    sim.amiPort = await sim.ami.start();
    return sim;
  }

  setEndpoint(endpoint: string, script: EndpointScript): void {
    this.pbx.setEndpoint(endpoint, script);
  }

  /** A caller dials in and runs `Stasis(app, ...args)` (default app `agentgate`). */
  async dialIn(opts: { args: string[]; app?: string; callerNumber?: string; callerName?: string; from?: string }): Promise<SimCall> {
    const r = this.pbx.dialIn({
      app: opts.app ?? 'agentgate',
      args: opts.args,
      from: opts.from ?? 'PJSIP/trunk',
      callerNumber: opts.callerNumber ?? '5551234',
      callerName: opts.callerName ?? 'Customer',
      context: 'incoming',
      exten: '100',
    });
    return this.callHandle(r.id, r.name, r.failed);
  }

  /**
   * A phone dials an extension: `incoming,<n>` enters Stasis(agentgate,dispatch,alice) as the
   * recorded dialplan does; `*41..*44` raise the AgentGate UserEvent on AMI. From `from-internal`
   * (or straight in `agentgate-features`) they run as asterisk-conf/extensions.conf has them: a Goto
   * into [agentgate-features], so the channel executes there; from `features` as the recorded
   * set-up has them (context `features`). The channel plays a beep and hangs up after lifetimeMs.
   */
  async dialExtension(opts: {
    from: string;
    context: string;
    exten: string;
    args?: string[];
    lifetimeMs?: number;
  }): Promise<SimCall | undefined> {
    if (opts.context === 'features' || opts.context === 'from-internal' || opts.context === 'agentgate-features') {
      const context = opts.context === 'features' ? 'features' : 'agentgate-features';
      this.runFeature(opts.from, opts.exten, opts.from.slice(opts.from.indexOf('/') + 1), undefined, context, opts.lifetimeMs);
      return undefined;
    }
    if (opts.context === 'incoming') {
      const r = this.pbx.dialIn({
        app: 'agentgate',
        args: opts.args ?? ['dispatch', 'alice'],
        from: opts.from,
        callerNumber: opts.from.slice(opts.from.indexOf('/') + 1),
        callerName: '',
        context: 'incoming',
        exten: opts.exten,
      });
      return this.callHandle(r.id, r.name, r.failed);
    }
    throw new Error(`the simulator's dialplan has no context ${opts.context}`);
  }

  private runFeature(
    from: string,
    exten: string,
    callerNum: string,
    extension = callerNum,
    context = 'features',
    lifetimeMs?: number,
  ): void {
    const make = FEATURES[exten];
    if (!make) throw new Error(`the simulator's [features] context has no extension ${exten}`);
    const headers = make(extension);
    const ev = this.pbx.userEventFromPhone(from, context, exten, 'AgentGate', headers, lifetimeMs);
    const local = from.startsWith('Local/');
    const ch: AmiChannelFields = {
      channel: ev.channel.name,
      channelState: local ? '4' : '6',
      channelStateDesc: local ? 'Ring' : 'Up',
      callerIdNum: callerNum,
      callerIdName: '<unknown>',
      connectedLineNum: '<unknown>',
      connectedLineName: '<unknown>',
      language: 'en',
      accountCode: '',
      context,
      exten,
      priority: '1',
      uniqueid: ev.uniqueid,
      linkedid: ev.linkedid,
    };
    this.ami.emitUserEvent(ch, 'AgentGate', headers);
  }

  private callHandle(id: string, name: string, failed: boolean): SimCall {
    const ended = failed ? Promise.resolve(this.pbx.hangupRecord(id)!) : this.pbx.whenEnded(id);
    return {
      id,
      name,
      failed,
      hangup: async () => {
        if (this.pbx.channel(id)) this.pbx.remoteHangup(id, 16);
      },
      ended: () => ended,
    };
  }

  /** The phone of SIP leg `channelId` REFERs it to `destination` (an extension); see the class comment. */
  phoneRefer(channelId: string, destination: string): void {
    this.pbx.phoneRefer(channelId, destination);
  }
  /** The phone completes an attended transfer (REFER with Replaces=<consult Call-ID>); ari-only handling only. */
  phoneReferAttended(channelId: string, consultCallId: string): void {
    this.pbx.phoneReferAttended(channelId, consultCallId);
  }
  /** The phone of SIP leg `channelId` puts the call on hold: ChannelHold to the app. */
  phoneHold(channelId: string): void {
    this.pbx.phoneHold(channelId);
  }
  /** The phone of SIP leg `channelId` resumes the call: ChannelUnhold to the app. */
  phoneUnhold(channelId: string): void {
    this.pbx.phoneUnhold(channelId);
  }
  /** The phone of SIP leg `channelId` sends `digit` by SIP INFO lasting durationMs: ChannelDtmfReceived. */
  phoneDtmf(channelId: string, digit: string, durationMs = 160): void {
    this.pbx.phoneDtmf(channelId, digit, durationMs);
  }
  /** What the party on `channelId` hears now: `music`, `ringback`, `silence` or `call` (see Pbx.hears). */
  hears(channelId: string): 'music' | 'ringback' | 'silence' | 'call' | undefined {
    return this.pbx.hears(channelId);
  }
  /** The NOTIFY sipfrags the phone of `channelId` got about its REFER, in order. */
  transferNotifies(channelId: string): string[] {
    return this.pbx.transferNotifies(channelId);
  }
  /** Every REFER / 202 / NOTIFY / INFO / re-INVITE the phone of `channelId` saw or sent, oldest first. */
  sipLog(channelId: string): SipMessage[] {
    return this.pbx.sipLog(channelId);
  }

  /** Resolves with the first ARI event (any app) matching pred. */
  waitForEvent(pred: (e: AriEvent) => boolean, timeoutMs = 5000): Promise<AriEvent> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pbx.off('ari-event', on);
        reject(new Error(`no matching ARI event within ${timeoutMs} ms`));
      }, timeoutMs);
      const on = (e: AriEvent): void => {
        if (!pred(e)) return;
        clearTimeout(t);
        this.pbx.off('ari-event', on);
        resolve(e);
      };
      this.pbx.on('ari-event', on);
    });
  }

  get faults(): {
    dropAriWebsockets(refuseReconnectForMs?: number): void;
    freezeAriWebsockets(): void;
    sendRawAriFrame(text: string, app?: string): boolean;
    delayRest(m: RegExp, ms: number): void;
    delayOneRest(m: RegExp, ms: number): void;
    delayResponse(m: RegExp, ms: number): void;
    failRest(m: RegExp, status: number, body: unknown): void;
    answerRawRest(m: RegExp, status: number, text: string): void;
    clear(): void;
  } {
    return {
      dropAriWebsockets: (ms) => this.ari.dropWebsockets(ms),
      freezeAriWebsockets: () => this.ari.freezeWebsockets(),
      sendRawAriFrame: (text, app = 'agentgate') => this.ari.sendRawFrame(app, text),
      delayRest: (m, ms) => this.ari.delayRest(m, ms),
      delayOneRest: (m, ms) => this.ari.delayOneRest(m, ms),
      delayResponse: (m, ms) => this.ari.delayResponse(m, ms),
      failRest: (m, status, body) => this.ari.failRest(m, status, body),
      answerRawRest: (m, status, text) => this.ari.answerRawRest(m, status, text),
      clear: () => {
        this.ari.clearFaults();
        this.ami.clearFaults();
      },
    };
  }

  /** Asterisk restarts: every channel and bridge gone, websockets and AMI sessions dropped. */
  async restart(): Promise<void> {
    this.pbx.reset();
    this.ari.dropWebsockets();
    await this.ami.restart();
  }

  async stop(): Promise<void> {
    this.pbx.reset();
    await this.ari.stop();
    await this.ami.stop();
  }

  /**
   * The phone API over HTTP, for the demo and manual tries: POST /sim/phones/{channelId}/refer?destination=1003,
   * /hold, /unhold, /dtmf?digit=1&durationMs=160 (204), GET /sim/phones/{channelId}/sip (its SIP log).
   * 404 for an unknown channel, 400 with the reason when the phone cannot do it.
   */
  private phoneControl(method: string, id: string, what: string, q: URLSearchParams): { status: number; body: unknown } | undefined {
    if (what === 'sip') return method === 'GET' ? { status: 200, body: this.sipLog(id) } : undefined;
    if (method !== 'POST') return undefined;
    if (!this.pbx.channel(id)) return { status: 404, body: { message: `no channel ${id}` } };
    try {
      if (what === 'refer') this.phoneRefer(id, q.get('destination') ?? '');
      else if (what === 'hold') this.phoneHold(id);
      else if (what === 'unhold') this.phoneUnhold(id);
      else this.phoneDtmf(id, q.get('digit') ?? '', Number(q.get('durationMs') ?? '160'));
    } catch (err) {
      return { status: 400, body: { message: err instanceof Error ? err.message : String(err) } };
    }
    return { status: 204, body: undefined };
  }

  /** Control endpoints outside /ari: POST /sim/dial-in {"args":["dispatch","alice"]} (agentgate sim-call); the phone API (phoneControl). */
  private async control(req: IncomingMessage, body: unknown, url: URL): Promise<{ status: number; body: unknown } | undefined> {
    if (req.method === 'POST' && url.pathname === '/sim/dial-in') {
      const b = (body ?? {}) as { args?: unknown; callerNumber?: unknown };
      if (!Array.isArray(b.args) || !b.args.every((a) => typeof a === 'string'))
        return { status: 400, body: { message: 'args must be a list of strings' } };
      const call = await this.dialIn({
        args: b.args as string[],
        callerNumber: typeof b.callerNumber === 'string' ? b.callerNumber : undefined,
      });
      return { status: 200, body: { id: call.id, name: call.name, failed: call.failed } };
    }
    const phone = /^\/sim\/phones\/([^/]+)\/(refer|hold|unhold|dtmf|sip)$/.exec(url.pathname);
    if (phone) return this.phoneControl(req.method ?? 'GET', decodeURIComponent(phone[1]!), phone[2]!, url.searchParams);
    if (req.method === 'GET' && url.pathname === '/sim/state') {
      return { status: 200, body: { channels: this.pbx.channels(), bridges: this.pbx.bridges(), queues: this.queues.members() } };
    }
    return undefined;
  }
}
