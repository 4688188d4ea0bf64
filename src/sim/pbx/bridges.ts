/**
 * Bridges: create, add and remove channels, destroy. Only channels in Stasis can enter one (422
 * otherwise, as Asterisk answers); the app hears BridgeDestroyed only for a bridge one of its
 * channels entered.
 */
import { randomUUID } from 'node:crypto';
import { notFound, PbxError, type Bridge, type BridgeJson, type Channel } from './model.js';
import type { PbxState } from './state.js';

export function bridgeJson(b: Bridge): BridgeJson {
  return { ...b.json, channels: [...b.channels] };
}

function mustBridge(s: PbxState, id: string): Bridge {
  const b = s.bridges.get(id);
  if (!b) throw notFound('Bridge');
  return b;
}

export function createBridge(s: PbxState, p: { type?: string; bridgeId?: string; name?: string }, app: string): BridgeJson {
  const id = p.bridgeId ?? randomUUID();
  if (s.bridges.has(id)) throw new PbxError(409, { message: 'Bridge with given unique ID already exists' });
  const b: Bridge = {
    json: {
      id,
      technology: 'simple_bridge',
      bridge_type: (p.type ?? 'mixing').split(',')[0] ?? 'mixing',
      bridge_class: 'stasis',
      creator: 'Stasis',
      name: p.name ?? '',
      channels: [],
      creationtime: s.timestamp(),
      video_mode: 'talker',
    },
    app,
    channels: new Set(),
    subscribed: false,
  };
  s.bridges.set(id, b);
  return bridgeJson(b);
}

export function getBridge(s: PbxState, id: string): BridgeJson {
  return bridgeJson(mustBridge(s, id));
}

export function addToBridge(s: PbxState, bridgeId: string, channelIds: string[]): void {
  const b = mustBridge(s, bridgeId);
  const chans = channelIds.map((id) => {
    const c = s.channels.get(id);
    if (!c) throw new PbxError(400, { message: 'Channel not found' });
    if (!c.inStasis) throw new PbxError(422, { message: 'Channel not in Stasis application' });
    return c;
  });
  for (const c of chans) {
    if (c.bridge === b) continue;
    leaveBridge(s, c);
    c.bridge = b;
    b.channels.add(c.json.id);
    b.subscribed = true;
    s.emitEvent(c.subscribedApp, 'ChannelEnteredBridge', { bridge: bridgeJson(b), channel: { ...c.json } });
  }
}

export function removeFromBridge(s: PbxState, bridgeId: string, channelIds: string[]): void {
  const b = mustBridge(s, bridgeId);
  for (const id of channelIds) {
    const c = s.channels.get(id);
    if (!c) throw new PbxError(400, { message: 'Channel not found' });
    if (c.bridge !== b) throw new PbxError(422, { message: 'Channel not in this bridge' });
    leaveBridge(s, c);
  }
}

/** The channel leaves its bridge, if any (ChannelLeftBridge). */
export function leaveBridge(s: PbxState, c: Channel): void {
  const b = c.bridge;
  if (!b) return;
  c.bridge = undefined;
  b.channels.delete(c.json.id);
  s.emitEvent(c.subscribedApp, 'ChannelLeftBridge', { bridge: bridgeJson(b), channel: { ...c.json } });
}

/**
 * POST /bridges/{id}/moh: music to every member through a hidden `Announcer/ARI_MOH-…;2` channel
 * (not listed in the bridge nor in GET /channels); the bridge turns `softmix` while it plays.
 * No event but the members' BRIDGEPEER ChannelVarset, which the simulator does not send. An
 * unknown class is accepted (silence).
 */
export function startBridgeMoh(s: PbxState, id: string, mohClass: string | undefined): void {
  const b = mustBridge(s, id);
  b.moh = mohClass ?? 'default';
  b.json.technology = 'softmix';
}

/** DELETE /bridges/{id}/moh: 409 "Bridge isn't playing music" when nothing plays. */
export function stopBridgeMoh(s: PbxState, id: string): void {
  const b = mustBridge(s, id);
  if (b.moh === undefined) throw new PbxError(409, { message: "Bridge isn't playing music" });
  b.moh = undefined;
  b.json.technology = 'simple_bridge';
}

export function destroyBridge(s: PbxState, id: string): void {
  const b = mustBridge(s, id);
  for (const cid of [...b.channels]) {
    const c = s.channels.get(cid);
    if (c) leaveBridge(s, c);
  }
  s.bridges.delete(id);
  if (b.subscribed) s.emitEvent(b.app, 'BridgeDestroyed', { bridge: bridgeJson(b) });
}
