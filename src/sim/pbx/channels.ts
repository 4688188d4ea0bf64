/**
 * Channels: allocation, entering Stasis, what an app can do to a channel in Stasis (answer, media,
 * variables) and the hang-up sequence with the events, causes and order the recordings show.
 */
import { randomUUID } from 'node:crypto';
import { causeText } from './causes.js';
import { leaveBridge } from './bridges.js';
import { endpointContext, resolveScript } from './endpoints.js';
import { endHalf } from './local-halves.js';
import { channelExists, channelRecord, PbxError, type Channel } from './model.js';
import type { PbxState } from './state.js';

/** A new channel to endpoint (Down, not in any app yet); throws 409 on a taken id, 500 when it cannot be allocated. */
export function newChannel(s: PbxState, id: string | undefined, endpoint: string, caller?: { name: string; number: string }): Channel {
  if (id !== undefined && s.channels.has(id)) throw channelExists();
  const { tech, resource, script } = resolveScript(s, endpoint);
  const c = channelRecord(
    {
      id: id ?? s.nextUniqueId(),
      name: s.nextName(tech, resource),
      state: 'Down',
      protocol_id: tech === 'PJSIP' ? randomUUID() : '',
      caller: caller ?? { name: '', number: '' },
      connected: caller ?? { name: '', number: '' },
      accountcode: '',
      dialplan: { context: tech === 'PJSIP' ? endpointContext(endpoint) : 'default', exten: 's', priority: 1, app_name: '', app_data: '' },
      creationtime: s.timestamp(),
      language: 'en',
    },
    tech,
    resource,
    { script, dialstring: resource },
  );
  s.addChannel(c, `${tech}/${resource}`);
  return c;
}

export function enterStasis(s: PbxState, c: Channel, app: string, args: string[]): void {
  c.subscribedApp = app;
  c.inStasis = true;
  c.json.dialplan = { ...c.json.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
  s.chEvent(c, 'StasisStart', { args });
}

/**
 * POST /channels/{id}/answer. A ringing indication on a channel that was not up reached the phone as a
 * 180 (the phone plays its own ringback); the 200 OK of the answer ends it, so the party no longer hears
 * ringback. (On a channel already up, /ring is an in-band tone that goes on until DELETE /ring.)
 */
export function answer(s: PbxState, id: string): void {
  const c = s.stasisChannel(id);
  if (c.json.state !== 'Up') c.media.ringback = false;
  c.answeredOnce = true;
  s.setState(c, 'Up');
}

export type MediaOp = 'ring' | 'moh' | 'hold' | 'silence';

/**
 * ringback, moh, hold, silence and their DELETEs: 204, no events (recorded: hold-unhold,
 * moh-in-bridge; stopping what does not play is 204 too). What plays is kept for tests (Pbx.media).
 */
export function mediaOp(s: PbxState, id: string, op: MediaOp, on: boolean, mohClass?: string): void {
  const m = s.stasisChannel(id).media;
  if (op === 'ring') m.ringback = on;
  else if (op === 'moh') m.moh = on ? (mohClass ?? 'default') : undefined;
  else if (op === 'hold') m.held = on;
  else m.silence = on;
}

/** POST /channels/{id}/play: queued now, PlaybackStarted a moment later, PlaybackFinished 50 ms on. */
export function play(s: PbxState, id: string, media: string, playbackId?: string): Record<string, unknown> {
  const c = s.stasisChannel(id);
  const pb = { id: playbackId ?? randomUUID(), media_uri: media, target_uri: `channel:${id}`, language: 'en', state: 'queued' };
  setImmediate(() => {
    s.emitEvent(c.subscribedApp, 'PlaybackStarted', { playback: { ...pb, state: 'playing' } });
    s.later(c, 50, () => s.emitEvent(c.subscribedApp, 'PlaybackFinished', { playback: { ...pb, state: 'done' } }));
  });
  return pb;
}

export function setVar(s: PbxState, id: string, name: string | undefined, value: string): void {
  if (!name) throw new PbxError(400, { message: 'Variable name is required' });
  const c = s.mustChannel(id);
  c.variables.set(name, value);
  // A dialplan function (`PJSIP_TRANSFER_HANDLING()`) is written, not a variable: no ChannelVarset
  // (recordings/ari-callcontrol/refer-ari-only).
  if (!name.endsWith(')')) s.chEvent(c, 'ChannelVarset', { variable: name, value });
}

/** Write-only dialplan functions: GET of them is 500 (recorded for PJSIP_TRANSFER_HANDLING()). */
const WRITE_ONLY = new Set(['PJSIP_TRANSFER_HANDLING()']);

export function getVar(s: PbxState, id: string, name: string | undefined): string {
  if (!name) throw new PbxError(400, { message: 'Variable name is required' });
  const c = s.mustChannel(id);
  if (WRITE_ONLY.has(name)) throw new PbxError(500, { message: 'Unable to read provided function' });
  const v = c.variables.get(name);
  if (v === undefined) throw new PbxError(404, { message: 'Provided variable was not found' });
  return v;
}

export interface HangupHow {
  /** The ARI reason, when the app hung it up. */
  reason?: string;
  /** The SIP status behind the cause (tech_cause), when the far end refused. */
  tech?: number;
  /** DELETE /channels/{id}: the app asked (soft hang-up request, cause 32, first). */
  byApp?: boolean;
  /** An originated channel that failed or timed out: no hang-up request event. */
  originated?: boolean;
}

/**
 * A channel hangs up: the hang-up request as its side sent it, NOANSWER for an app hanging up an
 * originated leg still ringing, out of its bridge and Stasis, destroyed, its `;2` half after it.
 * Nothing happens for a channel already gone.
 */
export function hangupChannel(s: PbxState, c: Channel, cause: number, o: HangupHow): void {
  if (!s.isLive(c)) return;
  if (o.byApp) s.chEvent(c, 'ChannelHangupRequest', { cause: 32, soft: true });
  else if (o.tech !== undefined) s.chEvent(c, 'ChannelHangupRequest', { cause, tech_cause: o.tech });
  else if (!o.originated) s.chEvent(c, 'ChannelHangupRequest', { cause });
  if (c.dialing && c.json.state !== 'Up' && o.byApp && c.stasisOnAnswer !== undefined) s.dialEvent(c, 'NOANSWER', c.dialstring);
  leaveBridge(s, c);
  if (c.inStasis) {
    c.inStasis = false;
    s.chEvent(c, 'StasisEnd');
    if (!c.fromDialplan && !c.silentEnd) s.chEvent(c, 'ChannelVarset', { variable: 'STASISSTATUS', value: 'SUCCESS' });
  }
  endSnoopsOf(s, c);
  if (c.silentEnd) {
    // After a REFER Asterisk executed, the leg's BYE waits for res_pjsip's deferred termination
    // (60 s) and no ChannelDestroyed reaches the app (recordings/ari-callcontrol/refer-default).
    c.subscribedApp = undefined;
  } else if (c.fromDialplan && c.keepSubscribed && o.byApp) {
    // Back in the dialplan after StasisEnd, the hang-up completes: still reported to the app.
    s.chEvent(c, 'ChannelHangupRequest', { cause: 16, soft: true });
  } else if (c.fromDialplan && !c.keepSubscribed) c.subscribedApp = undefined;
  const extra: Record<string, unknown> = { cause, cause_txt: causeText(cause) };
  if (o.tech !== undefined) extra.tech_cause = o.tech;
  s.chEvent(c, 'ChannelDestroyed', extra);
  endHalf(s, c, cause, c.script?.kind === 'busy' && cause === 0);
  s.finish(c, cause, { how: 'hungup', reason: o.reason, continuedTo: c.continuedTo });
}

/**
 * The snoop channels on c end with it (recorded: snoop-listen-whisper): each leaves its bridge and
 * gets StasisEnd, and no hang-up request or ChannelDestroyed reaches the app.
 */
export function endSnoopsOf(s: PbxState, c: Channel): void {
  for (const x of [...s.channels.values()]) {
    if (x.snoopOf !== c.json.id) continue;
    leaveBridge(s, x);
    if (x.inStasis) {
      x.inStasis = false;
      s.chEvent(x, 'StasisEnd');
    }
    x.subscribedApp = undefined;
    s.finish(x, 16, { how: 'hungup' });
  }
}
