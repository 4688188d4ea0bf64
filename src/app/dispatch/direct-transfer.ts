/**
 * Direct transfer on this server's calls (issue #14 part 5): starts a round (the target's claim,
 * its addresses without the offline ones, then the machine's DirectTransferRequested) and runs the
 * round's own commands (JoinBridge, ReleaseClaim, TransferOutcome). The policy decision is the use
 * case's (src/app/direct-transfer.ts); the state machine is src/domain/dispatch/direct-transfer.ts.
 */
import type { DirectTransferCommand, TransferMode } from '../../domain/dispatch/machine.js';
import { agentForDispatch } from '../../domain/policy/index.js';
import { bridgeKey, chanKey } from './channel-order.js';
import { claimKey, type DispatchContext, type Running } from './context.js';
import { offlineEndpoints } from './start-call.js';

/** How a round ended, emitted by the dispatch service as 'transfer-outcome'. */
export interface TransferOutcomeEvent {
  callId: string;
  target: string;
  outcome: 'answered' | 'failed';
  /** answered: the target's device that took the call. */
  endpoint?: string;
  /** failed: NOANSWER, BUSY, UNAVAILABLE, TIMEOUT, CALLER_HANGUP, ENDED... */
  result?: string;
}

export type StartRoundResult =
  | { started: true; target: string; devices: string[] }
  | { started: false; reason: 'not-running' | 'state' | 'busy' | 'no-agent' | 'store'; detail: string };

/** Claims the target for call `id` and starts ringing it. The caller checked the policy. */
export async function startTransferRound(
  ctx: DispatchContext,
  id: string,
  req: { target: string; mode: TransferMode; mohClass?: string },
): Promise<StartRoundResult> {
  const r = ctx.running.get(id);
  if (!r) return { started: false, reason: 'not-running', detail: 'the call ended meanwhile' };
  const busy = stateProblem(r);
  if (busy) return { started: false, reason: 'state', detail: busy };
  const agent = agentForDispatch(ctx.policy.current(), req.target);
  if (!agent) return { started: false, reason: 'no-agent', detail: `unknown agent '${req.target}'` };
  if (!agent.inbound) return { started: false, reason: 'no-agent', detail: `agent ${req.target} has inbound calls off` };
  const claim = await ctx.store.acquireLease(claimKey(agent.user.id), id, ctx.claimTtlMs).catch((err: unknown) => {
    r.log.error({ err }, 'cannot claim the transfer target: Store unavailable');
    return undefined;
  });
  if (claim === undefined) return { started: false, reason: 'store', detail: `agent ${req.target} cannot be claimed (Store unavailable)` };
  if (!claim.ok) return { started: false, reason: 'busy', detail: `agent ${req.target} is busy (on another call)` };
  const release = (): void => {
    ctx.store.releaseLease(claimKey(agent.user.id), id).catch(() => undefined);
  };
  const offline = await offlineEndpoints(ctx, agent.addresses, r.log);
  const addresses = agent.addresses.filter((a) => !offline.has(a.endpoint));
  // The call may have moved on while the Store and Asterisk answered.
  const again = ctx.running.get(id);
  const late = again === r ? stateProblem(r) : 'the call ended meanwhile';
  if (late) {
    release();
    return { started: false, reason: again === r ? 'state' : 'not-running', detail: late };
  }
  ctx.timeline(id, 'transfer', `${req.mode} transfer to ${agent.user.id}: ringing ${addresses.length} address(es)`);
  r.log.info(
    { target: agent.user.id, mode: req.mode, devices: addresses.map((a) => a.endpoint), offline: [...offline] },
    'direct transfer ringing',
  );
  // Answered once Asterisk applied the step's requests (the customer's music on a blind transfer).
  const applied = await ctx.act(id, {
    type: 'DirectTransferRequested',
    at: ctx.clock.now(),
    target: agent.user.id,
    mode: req.mode,
    addresses,
    allOffline: addresses.length === 0,
    ...(req.mohClass === undefined ? {} : { mohClass: req.mohClass }),
  });
  if (applied?.failed !== undefined) r.log.warn({ err: applied.failed }, 'direct transfer: a request failed in Asterisk');
  // The record lists the target and its ringing devices: a restart or crash now hangs them up and frees the target.
  await ctx.record(r).catch((err: unknown) => r.log.warn({ err }, 'could not record the transfer round'));
  return { started: true, target: agent.user.id, devices: addresses.map((a) => a.endpoint) };
}

/** Why call `r` cannot start a round now, or undefined. */
function stateProblem(r: Running): string | undefined {
  const s = r.state;
  if (s.phase !== 'talking') return 'it is not answered yet (ringing)';
  if (s.round) return `a transfer to ${s.round.target} is ringing already`;
  if (s.partner) return `${s.partner.agentId} joined already (warm transfer): one agent must leave first`;
  return undefined;
}

/** Runs one of the round's commands (command-executor.ts hands them here). */
export function executeTransferCommand(ctx: DispatchContext, r: Running, c: DirectTransferCommand): void {
  const s = r.state;
  switch (c.type) {
    case 'JoinBridge': {
      ctx.timeline(s.id, 'transfer-answered', `${r.legEndpoint.get(c.legId) ?? c.legId} answered the transfer`);
      ctx.order
        .run([chanKey(c.legId), bridgeKey(c.bridgeId)], () => ctx.calls.addChannels(c.bridgeId, [c.legId]))
        .then(
          () => ctx.feed(s.id, { type: 'TransferJoined', legId: c.legId, at: ctx.clock.now() }),
          (err: unknown) => {
            r.log.warn({ err: { message: err instanceof Error ? err.message : String(err) } }, 'transfer join failed');
            ctx.feed(s.id, { type: 'TransferJoinFailed', legId: c.legId, detail: String(err), at: ctx.clock.now() });
          },
        );
      return;
    }
    case 'ReleaseClaim':
      ctx.store.releaseLease(claimKey(c.agentId), s.id).catch((err: unknown) => {
        r.log.warn({ err, agent: c.agentId }, 'claim release failed; it lapses with its TTL');
      });
      return;
    case 'TransferOutcome': {
      const e: TransferOutcomeEvent = {
        callId: s.id,
        target: c.target,
        outcome: c.outcome,
        ...(c.endpoint === undefined ? {} : { endpoint: c.endpoint }),
        ...(c.result === undefined ? {} : { result: c.result }),
      };
      ctx.timeline(
        s.id,
        'transfer-' + c.outcome,
        c.outcome === 'answered' ? `${c.target} took the call on ${c.endpoint}` : `transfer to ${c.target} failed (${c.result})`,
      );
      r.log.info({ ...e }, 'direct transfer ' + c.outcome);
      ctx.emitter.emit('transfer-outcome', e);
      // The record names the call's agent now (a restart releases the right claim).
      ctx.record(r).catch(() => undefined);
      return;
    }
  }
}
