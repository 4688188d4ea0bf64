/**
 * Reconciliation after a reconnect or restart, on fakes: what changed while agentgate was deaf, and
 * the dispatches this process owns but does not drive (its own from before a restart, or a dead
 * instance's).
 */
import { describe, expect, it } from 'vitest';
import { startCall } from '../../../../src/app/dispatch/start-call.js';
import { endWatched, reconcile } from '../../../../src/app/dispatch/reconcile.js';
import { flush, unitRig, type UnitRig } from '../../../support/fake-call-control.js';

const CALLER = { id: 'caller-1', name: 'PJSIP/5551234-00000001' };

async function ringing(rig: UnitRig): Promise<string[]> {
  await startCall(rig.ctx, CALLER, ['dispatch', 'alice']);
  await flush();
  const legs = rig.calls.sent.filter((s) => s.op === 'createChannel').map((s) => (s.args[0] as { channelId: string }).channelId);
  const id = [...rig.ctx.running.keys()][0]!;
  for (const l of legs) rig.ctx.feed(id, { type: 'LegStasisStarted', legId: l });
  await flush();
  return legs;
}

describe('dispatch reconciliation', () => {
  it('the caller hung up while the websocket was down: every leg is hung up with normal clearing (a missed call), the claim released', async () => {
    const rig = unitRig();
    const legs = await ringing(rig);
    for (const l of legs) rig.calls.channels.set(l, 'Ringing');
    await reconcile(rig.ctx);
    await flush();
    expect(rig.calls.sent.filter((s) => s.op === 'hangup').map((s) => s.args)).toEqual(legs.map((l) => [l, 'normal']));
    expect(rig.finished[0]?.result).toBe('CALLER_HANGUP');
    expect(await rig.store.leaseHolder('agent:alice')).toBeNull();
  });

  it('a leg answered while the websocket was down (its Dial ANSWER lost): it wins and is bridged; a leg gone meanwhile ended', async () => {
    const rig = unitRig();
    const legs = await ringing(rig);
    rig.calls.channels.set('caller-1', 'Ring');
    rig.calls.channels.set(legs[0]!, 'Up');
    rig.calls.channels.set(legs[1]!, 'Ringing');
    await reconcile(rig.ctx);
    await flush();
    const join = rig.calls.sent.find((s) => s.op === 'addChannels');
    expect(join?.args[1]).toEqual(['caller-1', legs[0]]);
    const s = [...rig.ctx.running.values()][0]!.state;
    expect(s.legs.find((l) => l.id === legs[2])?.status).toBe('ended');
  });

  it('a ringing dispatch left from before a restart: legs hung up, the caller continued with NOANSWER, claim released, record deleted', async () => {
    const rig = unitRig();
    await rig.store.acquireLease('agent:alice', 'old-1', 18_000);
    await rig.store.putDispatch({
      id: 'old-1',
      owner: 'unit-1',
      server: 'pbx1',
      agentId: 'alice',
      callerChannelId: 'c-old',
      legChannelIds: ['l-a', 'l-b'],
      startedAt: 0,
      data: { talking: false },
    });
    rig.calls.channels.set('c-old', 'Ring');
    rig.calls.channels.set('l-a', 'Ringing');
    await reconcile(rig.ctx);
    expect(rig.calls.log()).toEqual(['listChannels', 'hangup l-a', 'setVar c-old', 'continueInDialplan c-old']);
    expect(rig.calls.sent.find((s) => s.op === 'setVar')?.args).toEqual(['c-old', 'AGENTGATE_RESULT', 'NOANSWER']);
    expect(await rig.store.leaseHolder('agent:alice')).toBeNull();
    expect(await rig.store.listDispatches()).toEqual([]);
  });

  it('a talking call of a dead owner is not cut: left bridged, the agent kept claimed; when the caller hangs up the agent is hung up and the claim released', async () => {
    const rig = unitRig();
    await rig.store.putDispatch({
      id: 'old-2',
      owner: 'unit-1',
      server: 'pbx1',
      agentId: 'alice',
      callerChannelId: 'c-talk',
      legChannelIds: ['l-win', 'l-lost'],
      bridgeId: 'b-2',
      startedAt: 0,
      data: { talking: true, winner: 'l-win' },
    });
    rig.calls.channels.set('c-talk', 'Up');
    rig.calls.channels.set('l-win', 'Up');
    await reconcile(rig.ctx);
    await flush();
    expect(rig.calls.log()).toEqual(['listChannels']);
    expect((await rig.store.leaseHolder('agent:alice'))?.holder).toBe('old-2');
    await endWatched(rig.ctx, 'old-2', 'c-talk');
    expect(rig.calls.log().slice(1)).toEqual(['hangup l-win', 'destroyBridge b-2']);
    expect(await rig.store.leaseHolder('agent:alice')).toBeNull();
    expect(rig.finished).toEqual([{ callId: 'old-2', agentId: 'alice', result: 'ANSWERED' }]);
  });
});
