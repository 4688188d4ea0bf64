/**
 * Start-call resolution: a caller entered `Stasis(agentgate,dispatch,<agent>[,<timeout>[,<queue>]])`.
 * The queue (dialplan argument 4) is the queue the call came from, for requeue: an unknown one is a
 * warning naming the argument and the call is dispatched without a queue. Resolves
 * the agent (unknown, inbound off → NOAGENT), claims it in the Store (taken by another call, Store
 * down → NOAGENT at once: one call at a time cannot be promised otherwise), skips the addresses the
 * PBX reports offline (all offline → UNAVAILABLE), then starts the machine and runs its first commands.
 */
import type { CallChannel } from '../../ports/call-control.js';
import { agentForDispatch } from '../../domain/policy/index.js';
import { startDispatch } from '../../domain/dispatch/machine.js';
import { executeCommands } from './command-executor.js';
import { claimKey, type DispatchContext, type Running } from './context.js';

let seq = 0;

export async function startCall(ctx: DispatchContext, ch: CallChannel, args: readonly string[]): Promise<void> {
  const id = `${ctx.instanceId}-${Date.now().toString(36)}-${(seq++).toString(36)}`;
  const clog = ctx.log.child({ callId: id, callerChannel: ch.id });
  const agentArg = args[1] ?? '';
  const timeoutArg = args[2];
  let timeoutSec: number | undefined;
  let noAgent: string | undefined;
  if (timeoutArg !== undefined && timeoutArg.trim() !== '') {
    const t = Number(timeoutArg);
    if (!Number.isInteger(t) || t <= 0 || t > 3600)
      noAgent = `dialplan argument 3 (timeout) must be whole seconds from 1 to 3600, got '${timeoutArg}'`;
    else timeoutSec = t;
  }
  const agent = agentArg === '' ? undefined : agentForDispatch(ctx.policy.current(), agentArg);
  if (!noAgent && agentArg === '') noAgent = 'dialplan argument 2 (agent) is missing';
  else if (!noAgent && !agent) noAgent = `unknown agent '${agentArg}'`;
  else if (!noAgent && agent && !agent.inbound) noAgent = `agent ${agentArg} has inbound calls off`;

  let claimHeld = false;
  let addresses: Array<{ endpoint: string; delayMs: number; timeoutSec?: number }> = [];
  if (!noAgent && agent) {
    // Without the claim, one call at a time cannot be promised: a Store that is down sends the
    // caller on (NOAGENT) at once rather than leaving it in Stasis.
    const claim = await ctx.store.acquireLease(claimKey(agent.user.id), id, ctx.claimTtlMs).catch((err: unknown) => {
      clog.error({ err }, 'cannot claim the agent: Store unavailable');
      return 'store-down' as const;
    });
    if (claim === 'store-down') noAgent = `agent ${agent.user.id} cannot be claimed (Store unavailable)`;
    else if (!claim.ok) noAgent = `agent ${agent.user.id} is already on a call (${claim.holder})`;
    else {
      claimHeld = true;
      const offline = await offlineEndpoints(ctx, agent.addresses, clog);
      addresses = agent.addresses.filter((a) => !offline.has(a.endpoint));
      if (offline.size > 0)
        clog.info(
          { offline: [...offline] },
          addresses.length === 0 ? `every address of ${agent.user.id} is offline` : 'offline addresses skipped',
        );
    }
  }
  const queue = queueArgument(ctx, args[3], clog);
  if (noAgent) clog.info({ reason: noAgent }, 'no agent to ring');
  const allOffline = !noAgent && addresses.length === 0;
  const step = startDispatch({
    id,
    agentId: agent?.user.id ?? agentArg,
    callerId: ch.id,
    now: ctx.clock.now(),
    config: ctx.dispatch,
    timeoutSec,
    addresses: noAgent ? [] : addresses,
    noAgentReason: noAgent,
    allOffline,
    claimHeld,
    ...(queue === undefined ? {} : { queue }),
  });
  const r: Running = {
    state: step.state,
    timers: new Map(),
    log: clog,
    callerName: ch.caller?.number ?? '',
    callerDisplayName: ch.caller?.name ?? '',
    legEndpoint: new Map(),
    bridgeRequested: false,
  };
  ctx.running.set(id, r);
  ctx.byCaller.set(ch.id, id);
  ctx.timeline(
    id,
    'start',
    noAgent
      ? `call for ${agentArg || '(nobody)'}: ${noAgent}`
      : allOffline
        ? `call for ${agentArg}: every address is offline`
        : `call from ${ch.caller?.number ?? '?'} for ${agent!.user.id}: ringing ${addresses.length} address(es) at once`,
  );
  if (!noAgent && !allOffline) {
    clog.info(
      {
        agent: agent!.user.id,
        callerNumber: ch.caller?.number ?? '',
        devices: addresses.map((a) => a.endpoint),
        timeoutSec: timeoutSec ?? ctx.dispatch.ringTimeoutSec,
      },
      'call ringing',
    );
    await ctx.record(r).catch((err: unknown) => clog.error({ err }, 'could not record the dispatch'));
  }
  executeCommands(ctx, r, step.commands);
}

/** Dialplan argument 4: a queue of the policy, or undefined (absent, empty, or unknown: warned). */
function queueArgument(ctx: DispatchContext, arg: string | undefined, clog: DispatchContext['log']): string | undefined {
  if (arg === undefined || arg.trim() === '') return undefined;
  if (ctx.policy.current().index.queues.has(arg)) return arg;
  clog.warn(
    { queue: arg },
    `dialplan argument 4 (queue) names no queue of the policy: '${arg}'; the call is dispatched without a queue (no requeue)`,
  );
  return undefined;
}

/**
 * Only the agent's own endpoints are asked about (one small request each, in parallel): an endpoint
 * the PBX reports offline (no registered contact) is skipped. Local/trunk addresses have no endpoint
 * state and are always rung; an endpoint whose state cannot be read is rung too.
 */
export async function offlineEndpoints(
  ctx: DispatchContext,
  addresses: ReadonlyArray<{ endpoint: string }>,
  clog: DispatchContext['log'],
): Promise<Set<string>> {
  const offline = new Set<string>();
  await Promise.all(
    addresses.map(async (a) => {
      const slash = a.endpoint.indexOf('/');
      const tech = a.endpoint.slice(0, slash);
      if (tech === 'Local' || slash < 0) return;
      try {
        const ep = await ctx.calls.endpoint(tech, a.endpoint.slice(slash + 1).split('/')[0]!);
        if (ep.state === 'offline') offline.add(a.endpoint);
      } catch (err) {
        if (!ctx.calls.isGone(err))
          clog.warn({ endpoint: a.endpoint, err: { message: (err as Error).message } }, 'endpoint state unknown; ringing it anyway');
      }
    }),
  );
  return offline;
}
