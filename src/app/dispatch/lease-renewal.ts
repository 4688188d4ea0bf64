/**
 * Leases of the calls this service holds, and adoption of dead instances' dispatches.
 *
 * - `renew()` (after each heartbeat beat, or on a timer of the same period): every agent claim is
 *   renewed and its dispatch record re-written (an empty-restarted Redis gets them back). A claim gone
 *   from the Store is taken again; one held by another call stops the ringing (ClaimLost → NOAGENT).
 *   Watched calls keep their claim; clean-ups that found the Store away are retried.
 * - `scan()` (every sixth of the TTL): polls watched calls, and with a live heartbeat moves the
 *   dispatches of dead instances here (adopt-dispatches.ts) and cleans them up (reconcile.ts).
 */
import type { OrphanAdopter } from '../adopt-dispatches.js';
import type { DispatchRecord } from '../../ports/store.js';
import { claimKey, type DispatchContext } from './context.js';
import { channelStates, checkWatched, cleanUp, holdWatched } from './reconcile.js';

export interface LeaseKeeper {
  renew(): Promise<void>;
  scan(): Promise<void>;
  stop(): void;
}

export function createLeaseKeeper(ctx: DispatchContext, opts: { adopter?: OrphanAdopter; heartbeatAlive?: () => boolean }): LeaseKeeper {
  let renewing = false;
  let scanning = false;
  let stopped = false;
  /** Adopted records are ours: if the PBX cannot be asked, they wait here for the next scan. */
  const pending = new Map<string, { record: DispatchRecord; why: string }>();

  async function renew(): Promise<void> {
    if (renewing || stopped) return;
    renewing = true;
    let failed = 0;
    try {
      for (const r of [...ctx.running.values()]) {
        const s = r.state;
        // A direct transfer's target (ringing) or warm partner holds a claim for this call too.
        const extra = s.phase === 'done' ? undefined : (s.round?.target ?? s.partner?.agentId);
        if (extra !== undefined) await ctx.store.renewLease(claimKey(extra), s.id, ctx.claimTtlMs).catch(() => failed++);
        if (s.phase === 'done' || !s.claimHeld) continue;
        try {
          if (!(await ctx.store.renewLease(claimKey(s.agentId), s.id, ctx.claimTtlMs))) {
            const again = await ctx.store.acquireLease(claimKey(s.agentId), s.id, ctx.claimTtlMs);
            if (!again.ok) {
              r.log.warn({ holder: again.holder }, 'agent claim lost to another call');
              ctx.timeline(s.id, 'claim-lost', `the agent was given to another call (${again.holder})`);
              ctx.feed(s.id, { type: 'ClaimLost', at: ctx.clock.now() });
              continue;
            }
            r.log.info('agent claim had lapsed (Store restarted or away); taken again');
          }
          await ctx.record(r);
        } catch {
          failed++;
        }
      }
      for (const [id, w] of [...ctx.watched]) await holdWatched(ctx, id, w).catch(() => failed++);
      for (const [id, l] of [...ctx.leftovers]) {
        try {
          if (l.release) await ctx.store.releaseLease(claimKey(l.agentId), id);
          await ctx.store.deleteDispatch(id);
          ctx.leftovers.delete(id);
        } catch {
          failed++;
        }
      }
    } finally {
      renewing = false;
    }
    if (failed > 0)
      ctx.log.warn({ failed }, 'could not renew agent claims or dispatch records (Store unavailable); retrying at the next beat');
  }

  async function scan(): Promise<void> {
    if (scanning || stopped) return;
    scanning = true;
    try {
      if (ctx.watched.size > 0) await checkWatched(ctx);
      if (opts.adopter && opts.heartbeatAlive?.())
        for (const a of await opts.adopter.scan())
          pending.set(a.record.id, { record: a.record, why: `adopted from dead instance ${a.from}` });
      if (pending.size === 0) return;
      const states = await channelStates(ctx);
      for (const [id, p] of [...pending]) {
        pending.delete(id);
        await cleanUp(ctx, p.record, states, p.why);
      }
    } finally {
      scanning = false;
    }
  }

  return {
    renew,
    scan,
    stop() {
      stopped = true;
    },
  };
}
