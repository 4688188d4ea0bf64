/**
 * Dialling a channel: POST /channels/{id}/dial on a created leg, or the dial an originate starts.
 * The endpoint's script decides what the far end does (rings, answers after a while, busy,
 * congestion, unavailable, no answer), with the Dial events, states and causes the recordings show
 * for each, and the dial timeout.
 */
import { enterStasis, hangupChannel } from './channels.js';
import { PbxError, type Channel } from './model.js';
import { schedulePhoneActions } from './phone.js';
import type { PbxState } from './state.js';

/** POST /channels/{id}/dial. */
export function dial(s: PbxState, id: string, p: { caller?: string; timeout?: number }): void {
  const c = s.stasisChannel(id);
  if (c.dialing || c.json.state === 'Up') throw new PbxError(409, { message: 'Channel is already dialing or answered' });
  const caller = p.caller === undefined ? undefined : s.channels.get(p.caller);
  if (p.caller !== undefined && !caller) throw new PbxError(404, { message: 'Caller channel not found' });
  // The app stays subscribed to a channel it names as a dial's caller, to its end (recorded).
  if (caller) caller.keepSubscribed = true;
  const timeoutMs = p.timeout === undefined || p.timeout <= 0 ? undefined : p.timeout * 1000;
  startDial(s, c, timeoutMs, false);
}

/**
 * The far end of c is dialled and follows its script. `originated`: the dial of POST /channels
 * (its Dial events carry the dialstring, a failure ends it without a hang-up request).
 */
export function startDial(s: PbxState, c: Channel, timeoutMs: number | undefined, originated: boolean): void {
  if (!s.isLive(c)) return;
  c.dialing = true;
  const script = c.script ?? { kind: 'ring' as const };
  const ds = originated || c.tech === 'Local' ? c.dialstring : c.resource;
  s.dialEvent(c, '', ds);
  const ringing = (): void => {
    s.setState(c, 'Ringing');
    s.dialEvent(c, 'RINGING', originated ? ds : '');
  };
  const fail = (cause: number, tech?: number, dialstatus?: string): void => {
    if (dialstatus) s.dialEvent(c, dialstatus, originated ? ds : '');
    hangupChannel(s, c, cause, { tech, originated });
  };
  switch (script.kind) {
    case 'answer':
      // Answer() at once (the recorded `answer` extension) never rings.
      if (script.afterMs > 0) ringing();
      s.later(c, script.afterMs, () => answerLeg(s, c, originated, ds));
      break;
    case 'answer-then-hangup':
      ringing();
      s.later(c, script.afterMs, () => {
        answerLeg(s, c, originated, ds);
        s.later(c, script.hangupAfterMs, () => hangupChannel(s, c, 16, {}));
      });
      break;
    case 'ring':
      ringing();
      break;
    case 'noanswer':
      ringing();
      s.later(c, script.afterMs, () => fail(19, undefined, originated ? 'NOANSWER' : undefined));
      break;
    case 'busy':
      if (c.tech === 'Local' && !originated) {
        // A created+dialled busy Local leg reports BUSY and stays in Stasis until hung up.
        s.dialEvent(c, 'BUSY', '');
        c.stays = true;
      } else if (originated) fail(0, undefined, 'BUSY');
      else fail(17, 486);
      break;
    case 'congestion':
      if (c.tech === 'Local' && !originated) {
        s.dialEvent(c, 'CONGESTION', '');
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
  const failsAtOnce =
    script.kind === 'unavailable' || script.kind === 'offline' || (script.kind === 'busy' && (originated || c.tech === 'PJSIP'));
  if (timeoutMs !== undefined && !failsAtOnce) {
    s.later(c, timeoutMs, () => {
      if (c.json.state === 'Up') return;
      if (originated) {
        // Originate timeout: destroyed with cause 0 "Unknown" (22.7), no hang-up request, no NOANSWER.
        hangupChannel(s, c, 0, { originated: true });
      } else if (c.stays) {
        // A created leg left BUSY/CONGESTION in Stasis: the dial timeout clears it (recorded: cause 19).
        s.chEvent(c, 'ChannelHangupRequest', { cause: 32, soft: true });
        s.chEvent(c, 'ChannelHangupRequest', { cause: script.kind === 'congestion' ? 34 : 17 });
        hangupChannel(s, c, 19, { originated: true });
      } else {
        s.dialEvent(c, 'NOANSWER', '');
        hangupChannel(s, c, 19, {});
      }
    });
  }
}

/** The far end answers: the `;2` half first, then the leg; an originate with app enters Stasis now. */
function answerLeg(s: PbxState, c: Channel, originated: boolean, ds: string): void {
  c.dialing = false;
  c.answeredOnce = true;
  if (c.half) s.setState(c.half, 'Up');
  s.setState(c, 'Up');
  s.dialEvent(c, 'ANSWER', originated ? ds : '');
  if (c.stasisOnAnswer) {
    const { app, args } = c.stasisOnAnswer;
    c.stasisOnAnswer = undefined;
    enterStasis(s, c, app, args);
  }
  if (c.script?.kind === 'answer') schedulePhoneActions(s, c, c.script.then);
}
