/**
 * The simulator's ARI REST resources: a request (method, path below /ari, query, JSON body) mapped
 * to the PBX call that serves it. A PbxError thrown here is the ARI error answer (status and body);
 * undefined means 204; NOT_ROUTED means no such resource (404).
 */
import { HANGUP_REASONS } from '../pbx/causes.js';
import type { SnoopRequest } from '../pbx/call-control.js';
import type { MediaOp } from '../pbx/channels.js';
import { PbxError, type Pbx } from '../pbx/pbx.js';

export const NOT_ROUTED = Symbol('not routed');

export function routeAri(p: Pbx, method: string, path: string, q: URLSearchParams, body: unknown): unknown {
  const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
  const str = (k: string): string | undefined => q.get(k) ?? undefined;
  const num = (k: string): number | undefined => {
    const v = q.get(k);
    return v === null ? undefined : Number(v);
  };
  const vars = (): Record<string, string> | undefined => {
    const v = (body as { variables?: Record<string, string> } | undefined)?.variables;
    return v && typeof v === 'object' ? v : undefined;
  };
  const [r0, r1, r2, r3] = seg;
  const snoopArgs = (snoopId: string | undefined): SnoopRequest => ({
    spy: str('spy'),
    whisper: str('whisper'),
    app: str('app'),
    appArgs: str('appArgs'),
    snoopId,
  });
  if (r0 === 'channels') {
    if (r1 === undefined) {
      if (method === 'GET') return p.channels();
      if (method === 'POST')
        return p.originate({
          endpoint: str('endpoint'),
          app: str('app'),
          appArgs: str('appArgs'),
          channelId: str('channelId'),
          otherChannelId: str('otherChannelId'),
          originator: str('originator'),
          timeout: num('timeout'),
          callerId: str('callerId'),
          variables: vars(),
        });
    }
    if (r1 === 'create' && r2 === undefined && method === 'POST')
      return p.create({
        endpoint: str('endpoint'),
        app: str('app'),
        appArgs: str('appArgs'),
        channelId: str('channelId'),
        originator: str('originator'),
        variables: vars(),
      });
    if (r1 !== undefined && r2 === undefined) {
      if (method === 'GET') return p.getChannel(r1);
      if (method === 'DELETE') {
        const reason = str('reason');
        const reasonCode = str('reason_code');
        let cause = 16;
        if (reason !== undefined) {
          const c = HANGUP_REASONS[reason];
          if (c === undefined) {
            p.getChannel(r1); // 404 first when the channel is unknown
            throw new PbxError(400, { message: 'Invalid reason for hangup reason provided' });
          }
          cause = c;
        } else if (reasonCode !== undefined) cause = Number(reasonCode);
        p.hangup(r1, reason, cause);
        return undefined;
      }
    }
    if (r1 !== undefined && r2 !== undefined && r3 === undefined) {
      switch (`${method} ${r2}`) {
        case 'POST dial':
          p.dial(r1, { caller: str('caller'), timeout: num('timeout') });
          return undefined;
        case 'POST answer':
          p.answer(r1);
          return undefined;
        case 'POST ring':
        case 'DELETE ring':
        case 'POST moh':
        case 'DELETE moh':
        case 'POST hold':
        case 'DELETE hold':
        case 'POST silence':
        case 'DELETE silence':
          p.mediaOp(r1, r2 as MediaOp, method === 'POST', str('mohClass'));
          return undefined;
        case 'POST redirect':
          p.redirect(r1, str('endpoint'));
          return undefined;
        case 'POST snoop':
          return p.snoop(r1, snoopArgs(str('snoopId')));
        case 'POST transfer_progress':
          p.transferProgress(r1, str('states'));
          return undefined;
        case 'POST play':
          return p.play(r1, str('media') ?? '', str('playbackId'));
        case 'POST continue':
          p.continueInDialplan(r1, { context: str('context'), extension: str('extension'), priority: num('priority') });
          return undefined;
        case 'POST variable':
          p.setVar(r1, str('variable'), str('value') ?? '');
          return undefined;
        case 'GET variable':
          return { value: p.getVar(r1, str('variable')) };
      }
    }
  }
  if (r0 === 'channels' && r1 !== undefined && r2 === 'snoop' && r3 !== undefined && seg.length === 4 && method === 'POST')
    return p.snoop(r1, snoopArgs(r3));
  if (r0 === 'deviceStates') {
    // The device name is one path segment: its slash encoded (`PJSIP%2F1001`); unencoded → 404.
    if (r1 === undefined && method === 'GET') return [];
    if (r1 !== undefined && r2 === undefined) {
      if (method === 'GET') return p.deviceState(r1);
      if (method === 'PUT' || method === 'DELETE') p.setDeviceState(r1);
    }
    if (r2 !== undefined) throw new PbxError(404, { message: 'Resource not found' });
  }
  if (r0 === 'bridges' && r1 !== undefined && r2 === 'moh' && r3 === undefined) {
    if (method === 'POST') {
      p.startBridgeMoh(r1, str('mohClass'));
      return undefined;
    }
    if (method === 'DELETE') {
      p.stopBridgeMoh(r1);
      return undefined;
    }
  }
  if (r0 === 'bridges') {
    if (r1 === undefined) {
      if (method === 'GET') return p.bridges();
      if (method === 'POST') return p.createBridge({ type: str('type'), bridgeId: str('bridgeId'), name: str('name') }, 'agentgate');
    }
    if (r1 !== undefined && r2 === undefined) {
      if (method === 'GET') return p.getBridge(r1);
      if (method === 'POST') return p.createBridge({ type: str('type'), bridgeId: r1, name: str('name') }, 'agentgate');
      if (method === 'DELETE') {
        p.destroyBridge(r1);
        return undefined;
      }
    }
    if (r1 !== undefined && method === 'POST' && (r2 === 'addChannel' || r2 === 'removeChannel')) {
      const ids = (str('channel') ?? '').split(',').filter(Boolean);
      if (ids.length === 0) throw new PbxError(400, { message: 'Channel must be specified' });
      if (r2 === 'addChannel') p.addToBridge(r1, ids);
      else p.removeFromBridge(r1, ids);
      return undefined;
    }
  }
  if (r0 === 'applications' && method === 'GET') {
    const list = [...new Set([...p.heldApps])];
    const app = (name: string): unknown => ({
      name,
      channel_ids: p.appChannelIds(name),
      bridge_ids: p.appBridgeIds(name),
      endpoint_ids: [],
      device_names: [],
      events_allowed: [],
      events_disallowed: [],
    });
    if (r1 === undefined) return list.map(app);
    if (!p.heldApps.has(r1) && p.appChannelIds(r1).length === 0) throw new PbxError(404, { message: 'Application not found' });
    return app(r1);
  }
  if (r0 === 'endpoints' && method === 'GET') {
    if (r1 === undefined) return p.endpoints();
    if (r2 !== undefined) {
      const e = p.endpoint(`${r1}/${r2}`);
      if (!e) throw new PbxError(404, { message: 'Endpoint not found' });
      return e;
    }
    return p.endpoints().filter((x) => x.technology === r1);
  }
  if (r0 === 'asterisk' && r1 === 'info' && method === 'GET') {
    return {
      build: { os: 'Linux', kernel: 'sim', machine: 'x86_64', options: '', date: '2026-11-24', user: 'agentgate-sim' },
      system: { version: p.asteriskVersion, entity_id: p.asteriskId },
      config: { name: 'agentgate-sim', default_language: 'en', setid: { user: '', group: '' } },
      status: { startup_time: p.timestamp(), last_reload_time: p.timestamp() },
    };
  }
  return NOT_ROUTED;
}
