/**
 * Making outgoing channels: POST /channels/create (in Stasis at once, dialled later by /dial) and
 * POST /channels (originate: dialled at once, in Stasis when answered), including the recorded way
 * a test caller is made, `Local/<exten>@incoming`.
 */
import { enterStasis, newChannel } from './channels.js';
import { dialIn, whenEnded } from './dialplan.js';
import { startDial } from './dial-scripts.js';
import { newHalf } from './local-halves.js';
import { channelExists, parseCallerId, PbxError, type ChannelJson } from './model.js';
import type { PbxState } from './state.js';

export interface OriginateRequest {
  endpoint?: string;
  app?: string;
  appArgs?: string;
  channelId?: string;
  otherChannelId?: string;
  originator?: string;
  /** Seconds; negative: no timeout. Default 30. */
  timeout?: number;
  callerId?: string;
  variables?: Record<string, string>;
}

export interface CreateRequest {
  endpoint?: string;
  app?: string;
  appArgs?: string;
  channelId?: string;
  originator?: string;
  variables?: Record<string, string>;
}

/** POST /channels: originate. With app: StasisStart only when answered. */
export function originate(s: PbxState, p: OriginateRequest): ChannelJson {
  if (!p.endpoint) throw new PbxError(400, { message: 'Endpoint must be specified' });
  const incoming = /^Local\/([^@]+)@(incoming|rec-in)$/.exec(p.endpoint);
  if (incoming && !p.app) return originateCaller(s, p.endpoint, incoming[1]!, incoming[2]!, p);
  if (p.otherChannelId !== undefined && s.channels.has(p.otherChannelId)) throw channelExists();
  const c = newChannel(s, p.channelId, p.endpoint, parseCallerId(p.callerId));
  for (const [k, v] of Object.entries(p.variables ?? {})) c.variables.set(k, v);
  const json = { ...c.json };
  if (p.app) {
    c.subscribedApp = p.app;
    c.stasisOnAnswer = { app: p.app, args: p.appArgs ? p.appArgs.split(',') : [] };
    if (c.tech === 'Local') c.half = newHalf(s, c, p.app, p.otherChannelId);
  }
  const half = c.half;
  const originator = p.originator === undefined ? undefined : s.channels.get(p.originator);
  const callerId = originator?.json.caller ?? parseCallerId(p.callerId);
  if (half && callerId) {
    // The far half takes the originator's caller id, or the callerId given (recorded:
    // ChannelCallerId on `leg;2`; ari-callcontrol/originate-outside-number without originator).
    half.json.caller = { ...callerId };
    setImmediate(() =>
      s.chEvent(half, 'ChannelCallerId', { caller_presentation: 0, caller_presentation_txt: 'Presentation Allowed, Not Screened' }),
    );
  }
  const timeoutMs = (p.timeout ?? 30) < 0 ? undefined : (p.timeout ?? 30) * 1000;
  setImmediate(() => startDial(s, c, timeoutMs, true));
  return json;
}

/**
 * A caller the recorded way: `Local/100@incoming` originated into [caller] wait; its `;2` half
 * (id otherChannelId) runs [incoming] 100 → Stasis(agentgate,dispatch,alice) (or, as the
 * call-control recordings make it, `Local/s@rec-in` → Stasis(agentgate,dispatch)). The `;1` half is not
 * in any app. Hanging up either half ends both.
 */
function originateCaller(
  s: PbxState,
  endpoint: string,
  exten: string,
  context: string,
  p: { channelId?: string; otherChannelId?: string; callerId?: string },
): ChannelJson {
  if (p.channelId !== undefined && s.channels.has(p.channelId)) throw channelExists();
  if (p.otherChannelId !== undefined && s.channels.has(p.otherChannelId)) throw channelExists();
  const caller = parseCallerId(p.callerId) ?? { name: '', number: '' };
  const one = newChannel(s, p.channelId, endpoint, caller);
  one.script = undefined;
  one.json.dialplan = { context, exten, priority: 1, app_name: 'AppDial2', app_data: '(Outgoing Line)' };
  const name = one.json.name.replace(/;1$/, ';2');
  const twoId = p.otherChannelId ?? `${one.json.id};2`;
  const json = { ...one.json };
  setImmediate(() => {
    const r = dialIn(s, {
      app: 'agentgate',
      // [incoming] 100 runs Stasis(agentgate,dispatch,alice); the call-control set-up's [rec-in] s
      // runs Stasis(agentgate,dispatch) (asterisk-etc/extensions-callcontrol.conf).
      args: context === 'rec-in' ? ['dispatch'] : exten === '100' ? ['dispatch', 'alice'] : [],
      from: 'Local/x',
      callerNumber: caller.number,
      callerName: caller.name,
      context,
      exten,
      id: twoId,
      name,
    });
    if (r.failed) s.finish(one, 16, { how: 'hungup' });
    else {
      whenEnded(s, twoId)
        .then(() => {
          if (s.isLive(one)) s.finish(one, 16, { how: 'hungup' });
        })
        .catch(() => undefined);
    }
  });
  return json;
}

/** POST /channels/create: in Stasis at once (StasisStart a moment after the response, as recorded). */
export function create(s: PbxState, p: CreateRequest): ChannelJson {
  if (!p.endpoint) throw new PbxError(400, { message: 'Endpoint must be specified' });
  if (!p.app) throw new PbxError(400, { message: 'Application must be specified' });
  const c = newChannel(s, p.channelId, p.endpoint);
  // Body `{"variables":{...}}`: set as the channel is made (recordings/ari-callcontrol/refer-ari-only).
  for (const [k, v] of Object.entries(p.variables ?? {})) c.variables.set(k, String(v));
  const json = { ...c.json };
  const app = p.app;
  c.subscribedApp = app;
  const enter = (): void => {
    c.json.dialplan = { ...c.json.dialplan, app_name: 'Stasis', app_data: [app, p.appArgs ?? ''].filter(Boolean).join(',') };
    s.chEvent(c, 'ChannelDialplan', { dialplan_app: 'Stasis', dialplan_app_data: c.json.dialplan.app_data });
    s.chEvent(c, 'ChannelVarset', { variable: 'STASISSTATUS', value: '' });
    enterStasis(s, c, app, p.appArgs ? p.appArgs.split(',') : []);
    const originator = p.originator === undefined ? undefined : s.channels.get(p.originator);
    if (originator) {
      // The leg learns who it will be connected to (recorded: ChannelConnectedLine after StasisStart).
      c.json.connected = { ...originator.json.caller };
      s.chEvent(c, 'ChannelConnectedLine');
    }
  };
  // A PJSIP channel is in Stasis as the create returns; a Local one runs its dialplan first, some
  // ms later (3 ms on the recording's idle server; a /dial in between gets 409:
  // recordings/ari/websocket-reconnect.jsonl). 15 ms by default (localStasisDelayMs), so that a
  // client on a loaded machine sending /dial at once still meets the 409 the recording shows.
  if (c.tech === 'Local') s.later(c, s.localStasisDelayMs, enter);
  else
    setImmediate(() => {
      if (s.isLive(c)) enter();
    });
  return json;
}
