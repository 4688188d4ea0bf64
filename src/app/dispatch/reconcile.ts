/**
 * Reconciliation after a (re)connect or a restart, and the dispatches this process does not drive.
 *
 * - The PBX replays nothing missed while the event stream was down: for each running dispatch, a
 *   caller gone meanwhile hung up; a leg gone ended; a leg `Up` answered (its Dial ANSWER was lost).
 * - A dispatch record this instance owns but does not drive (from before a restart, or adopted from
 *   a dead instance) is finished (`cleanUp`): ringing, its legs are hung up and the caller sent on
 *   with NOANSWER; talking with both sides up, it is left bridged and watched until either side hangs
 *   up (`endWatched`) — an admin would not cut a live conversation because a process died.
 * - A direct transfer's round is in the record while it rings (`data.round`: the colleague and its
 *   devices): nobody drives it after a restart, so its devices are hung up (normal clearing) and the
 *   colleague's claim released whatever becomes of the call. A warm transfer's partner
 *   (`data.partner`) stays claimed while the call is watched and is hung up with it at the end.
 */
import type { DispatchRecord } from '../../ports/store.js';
import { recover } from '../../domain/dispatch/machine.js';
import { chanKey } from './channel-order.js';
import { claimKey, type DispatchContext, type RecordedPartner, type RecordedRound, type Watched } from './context.js';

/** Every live channel id → its state. Rejects when the PBX cannot be asked. */
export async function channelStates(ctx: DispatchContext): Promise<Map<string, string>> {
  return new Map((await ctx.calls.listChannels()).map((c) => [c.id, c.state]));
}

/** After a (re)connect: finish what this instance owns but no longer drives; catch up on what changed while deaf. */
export async function reconcile(ctx: DispatchContext): Promise<void> {
  let states: Map<string, string>;
  try {
    states = await channelStates(ctx);
  } catch (err) {
    ctx.log.warn({ err }, 'reconcile: GET /channels failed');
    return;
  }
  for (const [id, r] of ctx.running) {
    // The caller first: gone, every leg is hung up whatever it did meanwhile.
    if (!states.has(r.state.callerId)) ctx.feed(id, { type: 'CallerHungUp', at: ctx.clock.now() });
    for (const l of r.state.legs) {
      if (l.status === 'ended' || l.status === 'waiting' || l.status === 'creating' || !ctx.running.has(id)) continue;
      const state = states.get(l.id);
      // Gone while deaf: ended. Up while deaf: it answered (its Dial ANSWER was lost with the socket).
      if (state === undefined) ctx.feed(id, { type: 'LegEnded', legId: l.id, cause: 0, at: ctx.clock.now() });
      else if (state === 'Up' && (l.status === 'created' || l.status === 'ringing'))
        ctx.feed(id, { type: 'LegAnswered', legId: l.id, at: ctx.clock.now() });
    }
  }
  const owned = await ctx.store.listDispatches({ owner: ctx.instanceId, server: ctx.server }).catch(() => []);
  for (const d of owned) await cleanUp(ctx, d, states, 'left from before');
}

/**
 * Finishes a dispatch this process does not drive (its own from before a restart, or adopted from
 * a dead instance). Ringing: legs hung up, caller sent on with NOANSWER, claim released. Talking,
 * both sides still up: left alone and watched (`watch`). Talking with one side gone: the other is
 * hung up.
 */
export async function cleanUp(ctx: DispatchContext, d: DispatchRecord, states: Map<string, string>, why: string): Promise<void> {
  if (ctx.running.has(d.id) || ctx.watched.has(d.id)) return;
  // A direct transfer was ringing a colleague: nobody drives that round any more. Its devices are
  // hung up and the colleague freed whatever becomes of the call itself (left talking or cleaned up).
  const round = recordedRound(d);
  if (round) await stopRound(ctx, d, round, states);
  if (d.data?.talking === true) {
    const recorded = typeof d.data.winner === 'string' ? d.data.winner : undefined;
    const winner = recorded ?? d.legChannelIds.find((l) => states.get(l) === 'Up');
    if (winner !== undefined && states.has(winner) && states.has(d.callerChannelId)) return watch(ctx, d, winner);
  }
  const cmds = recover({
    callerChannelId: d.callerChannelId,
    legChannelIds: d.legChannelIds,
    bridgeId: d.bridgeId,
    talking: d.data?.talking === true,
    fallback: ctx.dispatch.fallback,
  });
  ctx.log.info({ dispatch: d.id, agent: d.agentId, why }, 'cleaning up a dispatch this process does not drive');
  ctx.timeline(d.id, 'recovered', `call for ${d.agentId} ${why}: cleaned up`);
  const { calls } = ctx;
  for (const c of cmds) {
    try {
      if (c.type === 'HangupLeg' && states.has(c.legId)) await calls.hangup(c.legId, c.reason);
      else if (c.type === 'DestroyBridge') await calls.destroyBridge(c.bridgeId).catch(() => undefined);
      else if (c.type === 'HangupCaller' && states.has(d.callerChannelId)) await calls.hangup(d.callerChannelId, 'normal');
      else if (c.type === 'SetCallerVar' && states.has(d.callerChannelId)) await calls.setVar(d.callerChannelId, c.name, c.value);
      else if (c.type === 'ContinueCaller' && states.has(d.callerChannelId)) await calls.continueInDialplan(d.callerChannelId, c.fallback);
      else if (c.type === 'ReleaseAgent') {
        await ctx.store.releaseLease(claimKey(d.agentId), d.id);
        const partner = recordedPartner(d);
        if (partner) await ctx.store.releaseLease(claimKey(partner.agentId), d.id);
      }
    } catch (err) {
      if (!calls.isGone(err)) ctx.log.warn({ err, command: c.type }, 'clean-up command failed');
    }
  }
  ctx.metrics.dispatchFinished({ server: ctx.server, result: 'RECOVERED', legOutcomes: [] });
  ctx.audit.enqueue({
    kind: 'dispatch',
    at: ctx.clock.now(),
    actor: d.agentId,
    action: 'dispatch',
    call: d.id,
    result: 'RECOVERED',
    detail: { server: ctx.server, caller: d.callerChannelId, legs: d.legChannelIds, why },
  });
  await ctx.store.deleteDispatch(d.id).catch(() => undefined);
}

/** The round a dispatch record lists (context.ts writes it while a direct transfer rings), if any. */
function recordedRound(d: DispatchRecord): RecordedRound | undefined {
  const r = d.data?.round as Partial<RecordedRound> | undefined;
  if (typeof r?.target !== 'string' || !Array.isArray(r.legs)) return undefined;
  return { target: r.target, legs: r.legs.filter((l): l is string => typeof l === 'string') };
}

/** The warm transfer's partner a dispatch record lists, if any. */
function recordedPartner(d: DispatchRecord): RecordedPartner | undefined {
  const p = d.data?.partner as Partial<RecordedPartner> | undefined;
  return typeof p?.agentId === 'string' && typeof p.legId === 'string' ? { agentId: p.agentId, legId: p.legId } : undefined;
}

/** Hangs up the round's devices still there (normal clearing: nobody answered), releases the target, forgets the round. */
async function stopRound(ctx: DispatchContext, d: DispatchRecord, round: RecordedRound, states: Map<string, string>): Promise<void> {
  for (const leg of round.legs) {
    if (!states.has(leg)) continue;
    await ctx.calls.hangup(leg, 'normal').catch((err: unknown) => {
      if (!ctx.calls.isGone(err)) ctx.log.warn({ err, leg }, 'hangup of a transfer round leg failed');
    });
    states.delete(leg);
  }
  await ctx.store.releaseLease(claimKey(round.target), d.id).catch(() => undefined);
  ctx.log.info({ dispatch: d.id, target: round.target, legs: round.legs }, 'direct transfer round left ringing: stopped, target freed');
  ctx.timeline(d.id, 'transfer-failed', `transfer to ${round.target} stopped (its owner process had gone)`);
  const data = { ...d.data };
  delete data.round;
  d.data = data;
  d.legChannelIds = d.legChannelIds.filter((l) => !round.legs.includes(l));
}

/** A talking call left by a process that is gone: this instance holds the agent's claim while it lasts. */
function watch(ctx: DispatchContext, d: DispatchRecord, winner: string): void {
  const w: Watched = { record: { ...d, owner: ctx.instanceId, data: { ...d.data, talking: true, winner } }, winner };
  ctx.watched.set(d.id, w);
  ctx.byWatched.set(d.callerChannelId, d.id);
  ctx.byWatched.set(winner, d.id);
  ctx.log.info({ dispatch: d.id, agent: d.agentId }, 'talking call left by a process that is gone: left bridged, watched until it ends');
  ctx.timeline(d.id, 'adopted', `call for ${d.agentId} still talking: left alone until it ends`);
  holdWatched(ctx, d.id, w).catch((err: unknown) =>
    ctx.log.warn({ dispatch: d.id, err }, 'could not hold the claim of a watched call; retrying at the next beat'),
  );
}

/** Keeps the agent claimed for a watched call and its record in the Store (also after an empty restart). */
export async function holdWatched(ctx: DispatchContext, id: string, w: Watched): Promise<void> {
  const c = await ctx.store.acquireLease(claimKey(w.record.agentId), id, ctx.claimTtlMs);
  if (!c.ok) ctx.log.warn({ dispatch: id, holder: c.holder }, 'the agent of a watched call is claimed by another call');
  const partner = recordedPartner(w.record);
  if (partner) await ctx.store.acquireLease(claimKey(partner.agentId), id, ctx.claimTtlMs);
  if (ctx.watched.get(id) === w) await ctx.store.putDispatch(w.record);
}

/** A watched call ended on one side (`gone`): hang up the other, destroy the bridge, release the claim. */
export async function endWatched(ctx: DispatchContext, id: string, gone: string): Promise<void> {
  const w = ctx.watched.get(id);
  if (!w) return;
  ctx.watched.delete(id);
  const d = w.record;
  ctx.byWatched.delete(d.callerChannelId);
  ctx.byWatched.delete(w.winner);
  const other = gone === d.callerChannelId ? w.winner : d.callerChannelId;
  await ctx.calls.hangup(other, 'normal').catch((err: unknown) => {
    if (!ctx.calls.isGone(err)) ctx.log.warn({ dispatch: id, err }, 'hangup of the other side failed');
  });
  // A warm transfer's partner was in the call too: the call is over for it as well.
  const partner = recordedPartner(d);
  if (partner)
    await ctx.calls.hangup(partner.legId, 'normal').catch((err: unknown) => {
      if (!ctx.calls.isGone(err)) ctx.log.warn({ dispatch: id, err }, 'hangup of the partner failed');
    });
  if (d.bridgeId) await ctx.calls.destroyBridge(d.bridgeId).catch(() => undefined);
  await ctx.store.releaseLease(claimKey(d.agentId), id).catch(() => undefined);
  if (partner) await ctx.store.releaseLease(claimKey(partner.agentId), id).catch(() => undefined);
  const hungUpBy = gone === d.callerChannelId ? 'caller' : 'agent';
  ctx.timeline(id, 'finished', `call ended (${hungUpBy} hung up) after its owner process had gone`);
  ctx.log.info(
    { callId: id, callerChannel: d.callerChannelId, agent: d.agentId, result: 'ANSWERED', hungUpBy, adopted: true },
    'call ended',
  );
  ctx.emitter.emit('finished', { callId: id, agentId: d.agentId, result: 'ANSWERED' });
  ctx.metrics.dispatchFinished({ server: ctx.server, result: 'ANSWERED', legOutcomes: [] });
  ctx.audit.enqueue({
    kind: 'dispatch',
    at: ctx.clock.now(),
    actor: d.agentId,
    action: 'dispatch',
    call: id,
    result: 'ANSWERED',
    detail: {
      server: ctx.server,
      caller: { channel: d.callerChannelId },
      winnerChannel: w.winner,
      legs: d.legChannelIds,
      hungUpBy,
      adopted: true,
    },
  });
  await ctx.store.deleteDispatch(id).catch(() => undefined);
}

/** Watched calls whose end was not heard (another app's channels send us no events): polled. */
export async function checkWatched(ctx: DispatchContext): Promise<void> {
  const states = await channelStates(ctx);
  for (const [id, w] of [...ctx.watched]) {
    if (!states.has(w.record.callerChannelId)) await endWatched(ctx, id, w.record.callerChannelId);
    else if (!states.has(w.winner)) await endWatched(ctx, id, w.winner);
  }
}

/** A leg of a dispatch this process no longer drives (late, or from before a restart): never left up. */
export async function hangupStray(ctx: DispatchContext, channelId: string, reason: 'normal' | 'answered_elsewhere'): Promise<void> {
  await ctx.order.run([chanKey(channelId)], () => ctx.calls.hangup(channelId, reason)).catch(() => undefined);
}
