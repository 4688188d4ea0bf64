/**
 * The executor of the dispatch machine's commands, on a fake CallControl and a manual clock: what is
 * sent for each command, and in which order (issue 15 per-channel order, issue 13 critical path).
 */
import { describe, expect, it } from 'vitest';
import { startCall } from '../../../../src/app/dispatch/start-call.js';
import { flush, unitRig, type UnitRig } from '../../../support/fake-call-control.js';

const CALLER = { id: 'caller-1', name: 'PJSIP/5551234-00000001', caller: { number: '5551234', name: 'Customer' } };

/** Starts a call for alice and returns the ids of its three legs, in address order. */
async function ringAlice(rig: UnitRig): Promise<string[]> {
  await startCall(rig.ctx, CALLER, ['dispatch', 'alice']);
  await flush();
  return rig.calls.sent.filter((s) => s.op === 'createChannel').map((s) => (s.args[0] as { channelId: string }).channelId);
}

const callId = (rig: UnitRig): string => [...rig.ctx.running.keys()][0]!;

describe('dispatch command executor', () => {
  it('a call for alice: ringback to the caller, the bridge prepared, one leg per address created in the app, each dialled only after its StasisStart', async () => {
    const rig = unitRig();
    const legs = await ringAlice(rig);
    expect(legs).toHaveLength(3);
    expect(rig.calls.log().filter((l) => !l.startsWith('endpoint'))).toEqual([
      'ring caller-1',
      expect.stringMatching(/^createBridge /),
      'createChannel',
      'createChannel',
      'createChannel',
    ]);
    const create = rig.calls.sent.find((s) => s.op === 'createChannel')!.args[0] as Record<string, string>;
    expect(create).toMatchObject({ endpoint: 'PJSIP/2001', originator: 'caller-1', appArgs: `leg,${callId(rig)}` });
    rig.ctx.feed(callId(rig), { type: 'LegStasisStarted', legId: legs[1]! });
    await flush();
    expect(rig.calls.log().filter((l) => l.startsWith('dial'))).toEqual([`dial ${legs[1]}`]);
  });

  it('the winner answers: the join goes out at once and the caller\'s answer beside it (not before), the losers are hung up "answered elsewhere" once the join answered, then AGENTGATE_ANSWERED_BY', async () => {
    const rig = unitRig();
    const legs = await ringAlice(rig);
    for (const l of legs) rig.ctx.feed(callId(rig), { type: 'LegStasisStarted', legId: l });
    await flush();
    rig.calls.hold('addChannels');
    rig.calls.hold('answer');
    const before = rig.calls.sent.length;
    rig.ctx.feed(callId(rig), { type: 'LegAnswered', legId: legs[0]!, at: rig.clock.now() });
    await flush();
    const after = rig.calls.sent.slice(before);
    expect(after.map((s) => s.op)).toEqual(['addChannels', 'answer']);
    expect(after[0]!.args[1]).toEqual(['caller-1', legs[0]]);
    // Nothing else until the join answers: the losers still ring (the winner may yet vanish).
    after[0]!.resolve();
    await flush();
    const hangups = rig.calls.sent.filter((s) => s.op === 'hangup');
    expect(hangups.map((h) => h.args)).toEqual([
      [legs[1], 'answered_elsewhere'],
      [legs[2], 'answered_elsewhere'],
    ]);
    // The variable on the caller waits for the caller's answer.
    expect(rig.calls.log()).not.toContain('setVar caller-1');
    after[1]!.resolve();
    await flush();
    expect(rig.calls.sent.find((s) => s.op === 'setVar')?.args).toEqual(['caller-1', 'AGENTGATE_ANSWERED_BY', 'PJSIP/2001']);
  });

  it('every leg busy: AGENTGATE_RESULT=BUSY is set and the /continue sent only once the variable answered', async () => {
    const rig = unitRig();
    const legs = await ringAlice(rig);
    rig.calls.hold('setVar');
    for (const l of legs) rig.ctx.feed(callId(rig), { type: 'LegStasisStarted', legId: l });
    for (const l of legs) rig.ctx.feed(callId(rig), { type: 'LegDialStatus', legId: l, dialStatus: 'BUSY' });
    for (const l of legs) rig.ctx.feed(callId(rig), { type: 'LegEnded', legId: l, cause: 17, at: rig.clock.now() });
    await flush();
    const setVar = rig.calls.sent.find((s) => s.op === 'setVar')!;
    expect(setVar.args).toEqual(['caller-1', 'AGENTGATE_RESULT', 'BUSY']);
    expect(rig.calls.log()).not.toContain('continueInDialplan caller-1');
    setVar.resolve();
    await flush();
    expect(rig.calls.log()).toContain('continueInDialplan caller-1');
    expect(rig.finished).toEqual([expect.objectContaining({ agentId: 'alice', result: 'BUSY' })]);
  });

  it('twenty seconds of ringing on the manual clock: TIMEOUT, every leg hung up with normal clearing (a missed call), the caller continued, the claim released', async () => {
    const rig = unitRig();
    const legs = await ringAlice(rig);
    for (const l of legs) rig.ctx.feed(callId(rig), { type: 'LegStasisStarted', legId: l });
    rig.clock.advance(20_000);
    await flush();
    expect(rig.calls.sent.filter((s) => s.op === 'hangup').map((s) => s.args)).toEqual(legs.map((l) => [l, 'normal']));
    expect(rig.calls.sent.find((s) => s.op === 'setVar')?.args).toEqual(['caller-1', 'AGENTGATE_RESULT', 'TIMEOUT']);
    expect(rig.calls.log()).toContain('continueInDialplan caller-1');
    expect(rig.finished[0]?.result).toBe('TIMEOUT');
    expect(await rig.store.leaseHolder('agent:alice')).toBeNull();
    expect(rig.ctx.order.busy()).toBe(0);
  });

  it('a leg the PBX refuses to create is counted unavailable; the others ring on', async () => {
    const rig = unitRig();
    rig.calls.hold('createChannel');
    const legs = await ringAlice(rig);
    const creates = rig.calls.sent.filter((s) => s.op === 'createChannel');
    creates[0]!.reject(new Error('400 Allocation failed'));
    creates[1]!.resolve();
    creates[2]!.resolve();
    await flush();
    expect(rig.ctx.running.get(callId(rig))?.state.legs.find((l) => l.id === legs[0])?.outcome).toBe('unavailable');
    expect(rig.finished).toEqual([]);
  });
});
