/**
 * The `;2` halves of originated Local legs (recordings: `leg-a;2`). The app hears about a half (it
 * is in the app's channel list) but never as a Stasis channel; it follows its `;1` to the end.
 * Halves of created (not originated) Local legs are not simulated: agentgate ignores them.
 */
import { causeText } from './causes.js';
import { channelRecord, type Channel } from './model.js';
import type { PbxState } from './state.js';

/** The `;2` half of an originated Local leg `one` (id: the originate's otherChannelId, else `<id>;2`), subscribed to app. */
export function newHalf(s: PbxState, one: Channel, app: string, id = `${one.json.id};2`): Channel {
  const [exten, context] = one.resource.split('@');
  const half = channelRecord(
    {
      ...one.json,
      id,
      name: one.json.name.replace(/;1$/, ';2'),
      state: 'Ring',
      dialplan: { ...one.json.dialplan, context: context ?? 'default', exten: exten ?? 's' },
    },
    'Local',
    one.resource,
    { subscribedApp: app },
  );
  s.addChannel(half);
  return half;
}

/**
 * The `;2` half follows its `;1`: hang-up request with the cause, the soft request, destroyed. A
 * busy leg's half turns Busy first and ends with cause 17 (recorded).
 */
export function endHalf(s: PbxState, c: Channel, cause: number, busy: boolean): void {
  const h = c.half;
  if (!h || !s.isLive(h)) return;
  c.half = undefined;
  if (busy) {
    s.chEvent(h, 'ChannelHangupRequest', { cause: 0 });
    s.setState(h, 'Busy');
  } else s.chEvent(h, 'ChannelHangupRequest', { cause });
  s.chEvent(h, 'ChannelHangupRequest', { cause: 16, soft: true });
  const end = busy ? 17 : cause;
  s.chEvent(h, 'ChannelDestroyed', { cause: end, cause_txt: causeText(end) });
  s.finish(h, end, { how: 'hungup' });
}
