/**
 * The Stasis router on fakes: which event goes to which dispatch, to the feature call, or to a stray
 * leg that must not be left up.
 */
import { describe, expect, it, vi } from 'vitest';
import { createStasisRouter } from '../../../../src/app/dispatch/stasis-router.js';
import type { CallEvent } from '../../../../src/ports/call-control.js';
import { flush, unitRig } from '../../../support/fake-call-control.js';

const chan = (id: string, name = `PJSIP/x-${id}`) => ({ id, name, caller: { number: '5551234', name: '' } });
const start = (id: string, args: string[]): CallEvent => ({ type: 'StasisStart', channel: chan(id), args });

function rig() {
  const r = unitRig();
  const feature = vi.fn(async () => undefined);
  const route = createStasisRouter(r.ctx, feature);
  return { ...r, feature, route };
}

describe('dispatch Stasis router', () => {
  it('a repeated StasisStart for a caller being served starts no second dispatch', async () => {
    const r = rig();
    await Promise.all([r.route(start('caller-1', ['dispatch', 'alice'])), r.route(start('caller-1', ['dispatch', 'alice']))]);
    await flush();
    expect(r.ctx.running.size).toBe(1);
    expect(r.calls.log().filter((l) => l === 'createChannel')).toHaveLength(3);
  });

  it('Stasis arguments with a control character: the caller goes on with NOAGENT, nothing is rung and nothing reaches the feature call', async () => {
    const r = rig();
    await r.route(start('caller-1', ['dispatch', 'ali\r\nce']));
    await r.route(start('caller-2', ['feature', 'login\u0000']));
    await flush();
    expect(r.calls.log()).toEqual(['setVar caller-1', 'setVar caller-2', 'continueInDialplan caller-1', 'continueInDialplan caller-2']);
    expect(r.feature).not.toHaveBeenCalled();
  });

  it('a feature channel goes to the feature call with its arguments', async () => {
    const r = rig();
    await r.route(start('f-1', ['feature', 'login', 'support']));
    expect(r.feature).toHaveBeenCalledWith(expect.objectContaining({ id: 'f-1' }), ['feature', 'login', 'support']);
  });

  it('a leg of a dispatch this process no longer drives is hung up; a leg answering after its dispatch ended is hung up "answered elsewhere"', async () => {
    const r = rig();
    await r.route(start('stray-1', ['leg', 'gone-call']));
    await r.route(start('caller-1', ['dispatch', 'alice']));
    await flush();
    const leg = (r.calls.sent.find((s) => s.op === 'createChannel')!.args[0] as { channelId: string }).channelId;
    await r.route({ type: 'StasisEnd', channel: chan('caller-1') }); // the caller hangs up: the dispatch ends
    await flush();
    const before = r.calls.sent.length;
    await r.route({ type: 'Dial', peer: chan(leg), dialstatus: 'ANSWER' });
    expect(r.calls.sent[0]!.args).toEqual(['stray-1', 'normal']);
    expect(r.calls.sent.slice(before).map((s) => [s.op, ...s.args])).toEqual([['hangup', leg, 'answered_elsewhere']]);
  });

  it('Dial progress and ends of its legs go to the dispatch; events for channels it does not own (a Local ;2 half) change nothing', async () => {
    const r = rig();
    await r.route(start('caller-1', ['dispatch', 'alice']));
    await flush();
    const legs = r.calls.sent.filter((s) => s.op === 'createChannel').map((s) => (s.args[0] as { channelId: string }).channelId);
    const sent = r.calls.sent.length;
    await r.route({ type: 'Dial', peer: chan(`${legs[0]};2`), dialstatus: 'ANSWER' });
    await r.route({ type: 'ChannelDestroyed', channel: chan('someone-else'), cause: 16 });
    expect(r.calls.sent.length).toBe(sent);
    for (const l of legs) await r.route(start(l, ['leg', 'x']));
    await r.route({ type: 'Dial', peer: chan(legs[0]!), dialstatus: 'RINGING' });
    await r.route({ type: 'ChannelDestroyed', channel: chan(legs[1]!), cause: 17 });
    const s = [...r.ctx.running.values()][0]!.state;
    expect(s.legs.map((l) => l.status)).toEqual(['ringing', 'ended', 'created']);
  });

  it("a soft hang-up request on the caller (Asterisk's own flag) is not the caller hanging up; a hard one is", async () => {
    const r = rig();
    await r.route(start('caller-1', ['dispatch', 'alice']));
    await flush();
    await r.route({ type: 'ChannelHangupRequest', channel: chan('caller-1'), cause: 32, soft: true });
    expect(r.ctx.running.size).toBe(1);
    await r.route({ type: 'ChannelHangupRequest', channel: chan('caller-1'), cause: 16 });
    expect(r.ctx.running.size).toBe(0);
    expect(r.finished[0]?.result).toBe('CALLER_HANGUP');
  });
});
