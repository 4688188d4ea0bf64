/**
 * What the simulated PBX is made of: the JSON shapes ARI shows (channels, bridges, events), the
 * record a channel leaves when it ends, the scripts an endpoint follows when dialled, and the
 * internal channel and bridge records the other pbx modules work on.
 */
import type { TimerHandle } from '../../ports/clock.js';

/** How an endpoint behaves when dialled (a PJSIP phone, or a `Local/<exten>@agents` extension). */
export type EndpointScript =
  | { kind: 'answer'; afterMs: number; then?: PhoneAction[] }
  | { kind: 'ring' }
  | { kind: 'busy' }
  | { kind: 'congestion' }
  | { kind: 'unavailable' }
  | { kind: 'noanswer'; afterMs: number }
  | { kind: 'answer-then-hangup'; afterMs: number; hangupAfterMs: number }
  | { kind: 'offline' };

/**
 * What a scripted phone does on its own once it has answered, `afterMs` after the answer (the
 * recorded phones: 1006 sends INFO DTMF `1` ~500 ms after, 1007 REFERs to 1003 ~1 s after).
 */
export type PhoneAction =
  | { afterMs: number; do: 'dtmf'; digit: string; durationMs: number }
  | { afterMs: number; do: 'refer'; destination: string }
  | { afterMs: number; do: 'hold' }
  | { afterMs: number; do: 'unhold' }
  | { afterMs: number; do: 'hangup' };

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

/**
 * One SIP message beyond the call itself, as the phone of a channel saw it (`recv`) or sent it
 * (`sent`): `REFER Refer-To: <sip:1003@127.0.0.1>`, `202 Accepted`, `NOTIFY SIP/2.0 100 Trying`,
 * `INFO Signal=1 Duration=160`, `re-INVITE a=sendonly`.
 */
export interface SipMessage {
  dir: 'recv' | 'sent';
  text: string;
}

/** A UserEvent raised by the dialplan (the composer forwards it to AMI). */
export interface DialplanUserEvent {
  channel: ChannelJson;
  linkedid: string;
  uniqueid: string;
  name: string;
  headers: Record<string, string>;
}

/** GET /endpoints/{tech}/{resource}. */
export interface EndpointJson {
  technology: string;
  resource: string;
  state: string;
  channel_ids: string[];
}

/** A live channel as the PBX keeps it. */
export interface Channel {
  json: ChannelJson;
  tech: string;
  resource: string;
  script: EndpointScript | undefined;
  /** App whose websocket gets this channel's events (ARI-created: for life; dialplan: while in Stasis). */
  subscribedApp: string | undefined;
  /** In Stasis now (StasisStart sent, no StasisEnd yet). */
  inStasis: boolean;
  /** Originate with app: enter Stasis when answered. */
  stasisOnAnswer: { app: string; args: string[] } | undefined;
  dialing: boolean;
  dialstring: string;
  bridge: Bridge | undefined;
  variables: Map<string, string>;
  /** Its pending timers (clock handles), cancelled when it ends. */
  timers: Set<TimerHandle>;
  fromDialplan: boolean;
  answeredOnce: boolean;
  onEnd: Array<(r: HangupRecord) => void>;
  /** A created + dialled Local leg that got BUSY/CONGESTION: it stays in Stasis until hung up. */
  stays: boolean;
  /** Named as a dial's caller: the app stays subscribed to it to its end (recorded). */
  keepSubscribed?: boolean;
  /** The `;2` half of an originated Local leg: the app hears about it, never as a Stasis channel. */
  half?: Channel;
  /** Sent on with /continue into a context where the dialplan waits: alive, out of Stasis. */
  continuedTo?: { context: string; exten: string; priority: number };
  /** A snoop channel: the id of the channel it snoops on. */
  snoopOf?: string;
  /** What the app plays to the channel's party (POST/DELETE /ring, /moh, /hold, /silence): no event tells, tests ask (Pbx.media). */
  media: ChannelMedia;
  /** Ends without a ChannelDestroyed reaching the app (a leg whose REFER Asterisk executed, and the Local channel it made). */
  silentEnd?: boolean;
  /** A REFER from this leg's phone under `ari-only` handling, waiting for the app's transfer_progress. */
  /** A REFER under ari-only waiting for the app's transfer_progress: what it asked for (`destination` blind, `protocol_id` attended). */
  transfer?: { requested: { destination: string } | { protocol_id: string }; trying: boolean; terminated: boolean };
}

export interface Bridge {
  json: BridgeJson;
  app: string;
  channels: Set<string>;
  /** The app hears about the bridge (BridgeDestroyed) once one of its channels entered it. */
  subscribed: boolean;
  /** POST /bridges/{id}/moh: music through a hidden Announcer channel (technology softmix meanwhile). */
  moh?: string;
}

/** What the app asked to play to a channel: ringback, music on hold (its class), hold, silence. */
export interface ChannelMedia {
  ringback: boolean;
  /** POST /moh's class while it plays (an unknown class plays nothing: silence, as recorded). */
  moh: string | undefined;
  /** POST /hold: Asterisk indicates hold; to a PJSIP phone it plays MOH (`default`) itself. */
  held: boolean;
  silence: boolean;
}

/** An ARI error answer: the REST server sends `status` with `body` as is. */
export class PbxError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(typeof body === 'object' && body !== null ? JSON.stringify(body) : String(body));
  }
}

export const notFound = (what: string): PbxError => new PbxError(404, { message: `${what} not found` });

export const channelExists = (): PbxError => new PbxError(409, { message: 'Channel with given unique ID already exists' });

/** A channel's internal record with everything at rest: callers override what differs. */
export function channelRecord(json: ChannelJson, tech: string, resource: string, over: Partial<Channel> = {}): Channel {
  return {
    json,
    tech,
    resource,
    script: undefined,
    subscribedApp: undefined,
    inStasis: false,
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
    media: { ringback: false, moh: undefined, held: false, silence: false },
    ...over,
  };
}

/** `"Name" <number>` or a bare number, as ARI's callerId parameter takes it. */
export function parseCallerId(s: string | undefined): { name: string; number: string } | undefined {
  if (!s) return undefined;
  const m = /^\s*"?([^"<]*)"?\s*<([^>]*)>\s*$/.exec(s);
  if (m) return { name: m[1]!.trim(), number: m[2]!.trim() };
  return { name: '', number: s.trim() };
}

/** `PJSIP/1001` → tech and resource. */
export function splitEndpoint(endpoint: string): { tech: string; resource: string } {
  const slash = endpoint.indexOf('/');
  return slash > 0 ? { tech: endpoint.slice(0, slash), resource: endpoint.slice(slash + 1) } : { tech: endpoint, resource: '' };
}
