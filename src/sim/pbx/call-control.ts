/**
 * Call control an app does over ARI beyond dialling and bridging, as Asterisk 22.7 answered it in
 * test/fixtures/asterisk-22.7/recordings/ari-callcontrol: /redirect, snoop channels, the app's
 * report on a REFER it handles itself (`transfer_progress`), and device states. Hold and MOH on a
 * channel are `mediaOp` (channels.ts), MOH on a bridge is in bridges.ts, what a phone does on its
 * own (REFER, hold, INFO DTMF) in phone.ts.
 */
import { endpointContact, endpointJson } from './endpoints.js';
import { channelRecord, PbxError, splitEndpoint, type Channel, type ChannelJson } from './model.js';
import { sendNotify, transferFieldsOf } from './phone.js';
import type { PbxState } from './state.js';

/**
 * POST /channels/{id}/redirect?endpoint=: on an answered PJSIP leg Asterisk sends its phone an
 * in-dialog REFER to the endpoint's contact (204, no ARI event). The recorded phones ignore it, so
 * nothing else changes (the leg stays where it is); the REFER is in the channel's SIP log.
 */
export function redirect(s: PbxState, id: string, endpoint: string | undefined): void {
  if (!endpoint) throw new PbxError(400, { message: "Required parameter 'endpoint' not provided." });
  const c = s.stasisChannel(id);
  const { tech, resource } = splitEndpoint(endpoint);
  if (tech !== c.tech) throw new PbxError(422, { message: `Endpoint technology '${tech}' does not match channel technology '${c.tech}'` });
  s.sip(c, 'recv', `REFER Refer-To: ${endpointContact(resource)} Referred-By: <sip:asterisk@127.0.0.1:5060>`);
}

const DIRECTIONS = new Set(['none', 'both', 'out', 'in']);

export interface SnoopRequest {
  spy?: string;
  whisper?: string;
  app?: string;
  appArgs?: string;
  snoopId?: string;
}

/**
 * POST /channels/{id}/snoop (and /snoop/{snoopId}): a `Snoop/<uniqueid>-<counter>` channel, Up, in
 * Stasis at once (StasisStart with args right after the response). The target need not be in
 * Stasis. Checks in Asterisk's order: directions, then the app, then the channel, then the id.
 */
export function snoop(s: PbxState, targetId: string, p: SnoopRequest): ChannelJson {
  const spy = p.spy ?? 'none';
  const whisper = p.whisper ?? 'none';
  if (!DIRECTIONS.has(spy)) throw new PbxError(400, { message: 'Invalid direction specified for spy' });
  if (!DIRECTIONS.has(whisper)) throw new PbxError(400, { message: 'Invalid direction specified for whisper' });
  if (spy === 'none' && whisper === 'none') throw new PbxError(400, { message: 'Direction must be specified for at least spy or whisper' });
  if (!p.app) throw new PbxError(400, { message: 'Application name is required' });
  const target = s.channels.get(targetId);
  if (!target) throw new PbxError(404, { message: 'Provided channel was not found' });
  if (p.snoopId !== undefined && s.channels.has(p.snoopId)) throw new PbxError(500, { message: 'Snoop channel could not be created' });
  const app = p.app;
  const args = p.appArgs ? p.appArgs.split(',') : [];
  const n = (s.snoopSeq++).toString(16).padStart(8, '0');
  const c: Channel = channelRecord(
    {
      id: p.snoopId ?? s.nextUniqueId(),
      name: `Snoop/${target.json.id}-${n}`,
      state: 'Up',
      protocol_id: '',
      caller: { name: '', number: '' },
      connected: { name: '', number: '' },
      accountcode: '',
      dialplan: { context: 'default', exten: 's', priority: 1, app_name: '', app_data: '' },
      creationtime: s.timestamp(),
      language: 'en',
    },
    'Snoop',
    target.json.id,
    { snoopOf: target.json.id, subscribedApp: app, answeredOnce: true },
  );
  s.addChannel(c);
  const json = { ...c.json };
  setImmediate(() => {
    if (!s.isLive(c)) return;
    c.inStasis = true;
    c.json.dialplan = { ...c.json.dialplan, app_name: 'Stasis', app_data: [app, ...args].join(',') };
    s.chEvent(c, 'StasisStart', { args });
  });
  return json;
}

/** The sipfrag each transfer_progress state puts in the NOTIFY, and whether it ends the subscription. */
const PROGRESS: Readonly<Record<string, { frag: string; terminated: boolean }>> = {
  channel_progress: { frag: 'SIP/2.0 100 Trying', terminated: false },
  channel_answered: { frag: 'SIP/2.0 200 OK', terminated: true },
  channel_declined: { frag: 'SIP/2.0 603 Decline', terminated: true },
  channel_unavailable: { frag: 'SIP/2.0 503 Service Unavailable', terminated: true },
};

/**
 * POST /channels/{id}/transfer_progress?states=: the app reports on a REFER it handles itself
 * (`ari-only`). The phone gets the NOTIFY (a 100 Trying first if none was sent yet) and the app a
 * ChannelTransfer with `state`. After a terminating state, or with no REFER pending, a 204 no-op.
 */
export function transferProgress(s: PbxState, id: string, states: string | undefined): void {
  const c = s.mustChannel(id);
  const step = states === undefined ? undefined : PROGRESS[states];
  if (!step) throw new PbxError(400, { message: 'Invalid states value' });
  const t = c.transfer;
  if (!t || t.terminated) return;
  if (!t.trying || states === 'channel_progress') {
    sendNotify(s, c, 'SIP/2.0 100 Trying', false);
    t.trying = true;
  }
  if (step.terminated) {
    sendNotify(s, c, step.frag, true);
    t.terminated = true;
  }
  s.emitEvent(c.subscribedApp, 'ChannelTransfer', { ...transferFieldsOf(s, c, t.requested), state: states });
}

/**
 * GET /deviceStates/{name}: a PJSIP device's state from its channels as Asterisk maps them
 * (ast_state_chan2dev: Ringing → RINGING, Down → NOT_INUSE, Busy → BUSY, any other → INUSE; ringing
 * and in use at once → RINGINUSE), UNAVAILABLE when offline; an unknown device is INVALID (still
 * 200). Recorded: NOT_INUSE, INUSE, RINGING, UNAVAILABLE, INVALID. Only `Stasis:` devices are
 * app-controlled; the simulator has none, so GET /deviceStates is [].
 */
export function deviceState(s: PbxState, name: string): { name: string; state: string } {
  const e = endpointJson(s, name);
  if (!e) return { name, state: 'INVALID' };
  if (e.state === 'offline') return { name, state: 'UNAVAILABLE' };
  const states = e.channel_ids.map((id) => s.channels.get(id)?.json.state);
  const ringing = states.includes('Ringing');
  const inUse = states.some((x) => x === 'Up' || x === 'Ring');
  if (ringing && inUse) return { name, state: 'RINGINUSE' };
  if (ringing) return { name, state: 'RINGING' };
  if (inUse) return { name, state: 'INUSE' };
  if (states.includes('Busy')) return { name, state: 'BUSY' };
  return { name, state: 'NOT_INUSE' };
}

/**
 * PUT/DELETE /deviceStates/{name}: only `Stasis:` devices can be set (409 for the others, as
 * recorded); the simulator does not model `Stasis:` devices (501).
 */
export function setDeviceState(name: string): never {
  if (!name.startsWith('Stasis:')) throw new PbxError(409, { message: 'Uncontrolled device specified' });
  throw new PbxError(501, { message: 'Stasis: devices are not simulated' });
}
