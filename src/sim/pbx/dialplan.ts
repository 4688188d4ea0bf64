/**
 * The dialplan around Stasis: a caller running `Stasis(app, args)` (or STASISSTATUS=FAILED when no
 * websocket holds the app), /continue back to the dialplan, and a feature code raising a UserEvent.
 */
import { randomUUID } from 'node:crypto';
import { leaveBridge } from './bridges.js';
import { enterStasis } from './channels.js';
import { channelRecord, type ChannelJson, type DialplanUserEvent, type HangupRecord } from './model.js';
import type { PbxState } from './state.js';

export interface DialInRequest {
  app: string;
  args: string[];
  /** The caller's endpoint, `PJSIP/trunk`. */
  from: string;
  callerNumber: string;
  callerName: string;
  context: string;
  exten: string;
  id?: string;
  name?: string;
}

/**
 * A caller runs `Stasis(app, args...)` from the dialplan. When no websocket holds the app,
 * Stasis() fails at once: STASISSTATUS=FAILED and the call goes on in the dialplan.
 */
export function dialIn(s: PbxState, p: DialInRequest): { id: string; name: string; failed: boolean } {
  const slash = p.from.indexOf('/');
  const tech = p.from.slice(0, slash);
  const resource = p.from.slice(slash + 1);
  const id = p.id ?? s.nextUniqueId();
  const c = channelRecord(
    {
      id,
      name: p.name ?? s.nextName(tech, resource),
      state: 'Ring',
      protocol_id: tech === 'PJSIP' ? randomUUID() : '',
      caller: { name: p.callerName, number: p.callerNumber },
      connected: { name: p.callerName, number: p.callerNumber },
      accountcode: '',
      dialplan: { context: p.context, exten: p.exten, priority: 1, app_name: 'Stasis', app_data: [p.app, ...p.args].join(',') },
      creationtime: s.timestamp(),
      language: 'en',
    },
    tech,
    resource,
    { fromDialplan: true },
  );
  s.addChannel(c);
  if (!s.heldApps.has(p.app)) {
    c.variables.set('STASISSTATUS', 'FAILED');
    s.finish(c, 16, { how: 'failed' });
    return { id, name: c.json.name, failed: true };
  }
  enterStasis(s, c, p.app, p.args);
  return { id, name: c.json.name, failed: false };
}

/** Resolves when the channel is gone (hung up, continued or failed). */
export function whenEnded(s: PbxState, id: string): Promise<HangupRecord> {
  const rec = s.records.get(id);
  if (rec) return Promise.resolve(rec);
  const c = s.channels.get(id);
  if (!c) return Promise.reject(new Error(`no channel ${id}`));
  return new Promise((resolve) => c.onEnd.push(resolve));
}

/**
 * Contexts of the recorded call-control set-up (asterisk-etc/extensions-callcontrol.conf) whose
 * dialplan keeps the channel up (they end in Wait(3600)), with the applications run on the way.
 * A channel continued anywhere else runs to its Hangup() at once, as before.
 */
export const WAITING_CONTEXTS: Readonly<Record<string, ReadonlyArray<readonly [string, string]>>> = {
  'rec-queue': [
    ['Answer', ''],
    ['Wait', '3600'],
  ],
  'rec-xfer': [
    ['NoOp', 'blind transfer'],
    ['Playback', 'beep'],
    ['Wait', '3600'],
  ],
  'rec-out': [
    ['Answer', ''],
    ['Wait', '3600'],
  ],
  'rec-caller': [['Wait', '3600']],
};

/** POST /channels/{id}/continue: leaves Stasis, back to the dialplan (which here ends the call). */
export function continueInDialplan(s: PbxState, id: string, p: { context?: string; extension?: string; priority?: number }): void {
  const c = s.stasisChannel(id);
  const to = {
    context: p.context ?? c.json.dialplan.context,
    exten: p.extension ?? c.json.dialplan.exten,
    priority: p.priority ?? c.json.dialplan.priority + 1,
  };
  leaveBridge(s, c);
  c.inStasis = false;
  s.chEvent(c, 'StasisEnd');
  const waits = WAITING_CONTEXTS[to.context];
  if (waits) {
    // Recorded (ari-callcontrol/continue-out-of-bridge): the channel lives on in the dialplan, and
    // an app that named it as a dial's caller keeps getting its events (ChannelDialplan ...
    // ChannelHangupRequest, ChannelDestroyed), though /answer & co. now answer 409.
    if (!c.keepSubscribed) c.subscribedApp = undefined;
    else s.chEvent(c, 'ChannelVarset', { variable: 'STASISSTATUS', value: 'SUCCESS' });
    c.continuedTo = to;
    c.json.dialplan = { context: to.context, exten: to.exten, priority: to.priority, app_name: '', app_data: '' };
    for (const [app, data] of waits) {
      c.json.dialplan = {
        ...c.json.dialplan,
        priority: c.json.dialplan.priority + (c.json.dialplan.app_name ? 1 : 0),
        app_name: app,
        app_data: data,
      };
      if (app === 'Answer') {
        c.answeredOnce = true;
        s.setState(c, 'Up');
      }
      s.chEvent(c, 'ChannelDialplan', { dialplan_app: app, dialplan_app_data: data });
    }
    return;
  }
  if (c.fromDialplan) c.subscribedApp = undefined;
  // The dialplan resumes now and reads its variables now (the NoOp/GotoIf after Stasis()): what
  // is set later, by a request that overtook this one on another connection, it never sees.
  const seen = Object.fromEntries(c.variables);
  // The dialplan after Stasis() runs to its Hangup(); the app is no longer told about it.
  setImmediate(() => s.finish(c, 16, { how: 'continued', continuedTo: to, variables: seen }));
}

/**
 * The dialplan raises `UserEvent(name, k: v, ...)` on a new channel from `from` (a feature code).
 * The channel then plays a beep and hangs up: it stays listed (GET /channels/{id}, executing in
 * `context`) for lifetimeMs, the window in which agentgate checks it over ARI.
 */
export function userEventFromPhone(
  s: PbxState,
  from: string,
  context: string,
  exten: string,
  name: string,
  headers: Record<string, string>,
  lifetimeMs = 1000,
): DialplanUserEvent {
  const slash = from.indexOf('/');
  const tech = from.slice(0, slash);
  const resource = from.slice(slash + 1);
  const id = s.nextUniqueId();
  const json: ChannelJson = {
    id,
    // An originated Local channel runs the dialplan on its ;2 half (recorded: userevent-from-dialplan).
    name: s.nextName(tech, resource).replace(/;1$/, ';2'),
    state: 'Up',
    protocol_id: '',
    caller: { name: '', number: resource },
    connected: { name: '', number: '' },
    accountcode: '',
    dialplan: { context, exten, priority: 2, app_name: 'Playback', app_data: 'beep' },
    creationtime: s.timestamp(),
    language: 'en',
  };
  const c = channelRecord(json, tech, resource, { fromDialplan: true });
  s.addChannel(c);
  s.later(c, lifetimeMs, () => s.finish(c, 16, { how: 'hungup' }));
  return { channel: { ...json }, uniqueid: id, linkedid: id, name, headers };
}
