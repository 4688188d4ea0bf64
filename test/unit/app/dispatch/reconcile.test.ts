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

  it('restart while a direct transfer rings: the record lists the colleague and its devices; the new process hangs them up and frees the colleague, the conversation goes on', async () => {
    const before = unitRig();
    const legs = await ringing(before);
    const id = [...before.ctx.running.keys()][0]!;
    before.ctx.feed(id, { type: 'LegAnswered', legId: legs[0]!, at: 1 });
    await flush();
    expect(before.ctx.running.get(id)!.state.phase).toBe('talking');
    await before.store.acquireLease('agent:bob', id, 18_000); // as startTransferRound claims the target
    before.ctx.feed(id, {
      type: 'DirectTransferRequested',
      at: 2,
      target: 'bob',
      mode: 'warm',
      addresses: [{ endpoint: 'PJSIP/2004', delayMs: 0 }],
    });
    await flush();
    const roundLeg = `${id}-t1-leg1`;
    expect(before.calls.log()).toContain(`createChannel`);
    await before.ctx.record(before.ctx.running.get(id)!);
    const [rec] = await before.store.listDispatches();
    expect(rec!.legChannelIds).toContain(roundLeg);
    expect(rec!.data).toMatchObject({ talking: true, winner: legs[0], round: { target: 'bob', legs: [roundLeg] } });

    // The process dies; a new one (same instance id, same Store) reconnects.
    const after = unitRig({ store: before.store });
    after.calls.channels.set('caller-1', 'Up');
    after.calls.channels.set(legs[0]!, 'Up');
    after.calls.channels.set(roundLeg, 'Ringing');
    await reconcile(after.ctx);
    await flush();
    expect(after.calls.log()).toEqual(['listChannels', `hangup ${roundLeg}`]);
    expect(after.calls.sent.find((x) => x.op === 'hangup')?.args).toEqual([roundLeg, 'normal']);
    expect(await after.store.leaseHolder('agent:bob')).toBeNull();
    expect((await after.store.leaseHolder('agent:alice'))?.holder).toBe(id);
    const [kept] = await after.store.listDispatches();
    expect(kept!.legChannelIds).not.toContain(roundLeg);
    expect(kept!.data).not.toHaveProperty('round');
  });

  it('a ringing round left by a call whose customer is gone: every device hung up, both agents freed', async () => {
    const rig = unitRig();
    await rig.store.acquireLease('agent:alice', 'old-3', 18_000);
    await rig.store.acquireLease('agent:bob', 'old-3', 18_000);
    await rig.store.putDispatch({
      id: 'old-3',
      owner: 'unit-1',
      server: 'pbx1',
      agentId: 'alice',
      callerChannelId: 'c-gone',
      legChannelIds: ['l-win', 'l-t1'],
      bridgeId: 'b-3',
      startedAt: 0,
      data: { talking: true, winner: 'l-win', round: { target: 'bob', legs: ['l-t1'] } },
    });
    rig.calls.channels.set('l-win', 'Up');
    rig.calls.channels.set('l-t1', 'Ringing');
    await reconcile(rig.ctx);
    expect(rig.calls.log()).toEqual(['listChannels', 'hangup l-t1', 'hangup l-win', 'destroyBridge b-3']);
    expect(await rig.store.leaseHolder('agent:alice')).toBeNull();
    expect(await rig.store.leaseHolder('agent:bob')).toBeNull();
    expect(await rig.store.listDispatches()).toEqual([]);
  });

  it('a talking call with a warm partner, watched after a restart: both agents kept claimed; when the caller hangs up both are hung up and freed', async () => {
    const rig = unitRig();
    await rig.store.putDispatch({
      id: 'old-4',
      owner: 'unit-1',
      server: 'pbx1',
      agentId: 'alice',
      callerChannelId: 'c-talk',
      legChannelIds: ['l-win', 'l-p'],
      bridgeId: 'b-4',
      startedAt: 0,
      data: { talking: true, winner: 'l-win', partner: { agentId: 'bob', legId: 'l-p' } },
    });
    for (const c of ['c-talk', 'l-win', 'l-p']) rig.calls.channels.set(c, 'Up');
    await reconcile(rig.ctx);
    await flush();
    expect((await rig.store.leaseHolder('agent:bob'))?.holder).toBe('old-4');
    await endWatched(rig.ctx, 'old-4', 'c-talk');
    expect(rig.calls.log().slice(1)).toEqual(['hangup l-win', 'hangup l-p', 'destroyBridge b-4']);
    expect(await rig.store.leaseHolder('agent:alice')).toBeNull();
    expect(await rig.store.leaseHolder('agent:bob')).toBeNull();
  });
});
