/**
 * Ring-all dispatch for one Asterisk server: the facade that wires the parts together.
 *
 * - `Stasis(agentgate,dispatch,<agent>[,<timeout>])` starts a dispatch (dispatch/start-call.ts);
 *   `Stasis(agentgate,feature,...)` is a queue operation (feature-call.ts); which event goes where is
 *   dispatch/stasis-router.ts. The pure machine (src/domain/dispatch) decides; its commands are run
 *   through the CallControl port by dispatch/command-executor.ts, in each channel's order.
 * - The agent is claimed in the Store (lease `agent:<id>`) for the whole call, so it is offered one
 *   call at a time across every agentgate instance and Asterisk server. The claim is a short lease
 *   (3 x instance.leaseTtlMs) renewed after every heartbeat of this instance (half the TTL), never a
 *   long one (dispatch/lease-renewal.ts).
 * - The agent's phone's own buttons (REFER, re-INVITE hold) are found by dispatch/phone-events.ts and
 *   emitted as 'phone-transfer' / 'phone-hold' for the phone-buttons use case (src/app/phone-buttons.ts).
 * - Every dispatch is recorded in the Store with its owner; after a (re)connect or a restart the
 *   service reconciles (dispatch/reconcile.ts), and with a heartbeat it adopts the dispatches of dead
 *   instances on this server (adopt-dispatches.ts) and cleans them up the same way. A call that was
 *   talking when its owner died is NOT cut: it is watched until either side hangs up.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { CallControl, TransferProgress } from '../ports/call-control.js';
import { chanKey } from './dispatch/channel-order.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import type { PolicyHolder } from './policy-holder.js';
import type { InstanceHeartbeat } from './instance-heartbeat.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';
import { createOrphanAdopter } from './adopt-dispatches.js';
import { createAuditTrail, type AuditTrail } from './audit-trail.js';
import { createFeatureCall, type FeatureHandler } from './feature-call.js';
import { createDispatchContext } from './dispatch/context.js';
import { createStasisRouter } from './dispatch/stasis-router.js';
import { reconcile } from './dispatch/reconcile.js';
import type { CallControlEvent, TransferMode } from '../domain/dispatch/machine.js';
import { startTransferRound, type StartRoundResult } from './dispatch/direct-transfer.js';
import type { Running } from './dispatch/context.js';
import { createLeaseKeeper } from './dispatch/lease-renewal.js';

export type { FeatureHandler, FeatureRequest } from './feature-call.js';
export type { TimelineEvent } from './dispatch/context.js';
export type { PhoneTransferEvent, PhoneHoldEvent } from './dispatch/phone-events.js';

export interface DispatchServiceDeps {
  /** The Asterisk server (config servers[]): its name goes into records, metrics and logs. */
  server: { name: string };
  /** That server's call control (src/adapters/ari/call-control.ts); closed by stop(). */
  calls: CallControl;
  dispatch: Config['dispatch'];
  store: Store;
  policy: PolicyHolder;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  featureHandler?: FeatureHandler;
  /** config instance.leaseTtlMs (default 6000): claims live 3x this, renewed every half of it. */
  leaseTtlMs?: number;
  /**
   * This instance's heartbeat: claims are renewed after each beat, and dead instances' dispatches are
   * adopted while it is alive. Without it (tests of one service), claims renew on a timer of their
   * own and nothing is adopted.
   */
  heartbeat?: InstanceHeartbeat;
  /** Where dispatch audit records go (buffered while the Store is down); default: one of its own. */
  audit?: AuditTrail;
  /** Dispatch results, ring and bridge times, legs, live calls and claims, ARI connection. Default: none. */
  metrics?: Metrics;
}

/** A call this instance drives now (not finished), as call control sees it. */
export interface LiveCall {
  id: string;
  server: string;
  agent: string;
  caller: { number: string; name: string };
  phase: 'ringing' | 'bridging' | 'talking';
  /** The device that answered (the winning leg's endpoint). */
  endpoint?: string;
  queue?: string;
  startedAt: number;
  answeredAt?: number;
  hold?: { since: number; by: 'api' | 'phone' };
  /** After a warm transfer: the colleague in the call too, and the device that answered. */
  partner?: { agent: string; endpoint?: string };
  /** A direct transfer's round rings the colleague now. */
  transferring?: { agent: string; mode: 'blind' | 'warm' };
}

export interface DispatchService extends EventEmitter {
  /** The calls this instance drives now (ringing, bridging, talking). */
  liveCalls(): LiveCall[];
  /**
   * One call-control event into call `id`'s machine, answered once Asterisk applied its requests:
   * the call's view after it (undefined once finished), its result when finished, and the first
   * request that failed. Undefined when this instance does not drive the call.
   */
  act(id: string, event: CallControlEvent): Promise<{ call?: LiveCall; result?: string; failed?: unknown } | undefined>;
  /**
   * Reports on a phone's REFER (the 'phone-transfer' event) to that phone, in the leg's request order.
   * Resolves once Asterisk answered: undefined when applied (or the leg is gone), else the error.
   */
  reportTransfer(legId: string, state: TransferProgress): Promise<unknown>;
  /**
   * Direct transfer: claims `target` for call `id` and rings it (dispatch/direct-transfer.ts); the
   * event 'transfer-outcome' (TransferOutcomeEvent) tells how the round ended. The policy is the caller's.
   */
  startTransfer(id: string, req: { target: string; mode: TransferMode; mohClass?: string }): Promise<StartRoundResult>;
  /** The call a channel (its caller, or one of its agent legs) belongs to, for the phone's REFER. */
  callOfChannel(channelId: string): string | undefined;
  connected(): boolean;
  /** Why Stasis calls cannot reach this instance now (websocket down, app taken by another websocket, app not listed), or undefined. */
  ariProblem(): string | undefined;
  active(): number;
  stop(): Promise<void>;
}

export async function startDispatchService(deps: DispatchServiceDeps): Promise<DispatchService> {
  const server = deps.server.name;
  const log = deps.logger.child({ component: 'dispatch', server });
  const metrics = deps.metrics ?? noMetrics;
  const emitter = new EventEmitter() as DispatchService;
  const ownAudit = deps.audit === undefined;
  const audit = deps.audit ?? createAuditTrail({ store: deps.store, logger: deps.logger, metrics });
  const leaseTtlMs = deps.leaseTtlMs ?? 6000;
  const ctx = createDispatchContext({
    server,
    dispatch: deps.dispatch,
    store: deps.store,
    policy: deps.policy,
    calls: deps.calls,
    clock: deps.clock,
    log,
    metrics,
    audit,
    instanceId: deps.instanceId,
    claimTtlMs: 3 * leaseTtlMs,
    emitter,
  });
  const route = createStasisRouter(ctx, createFeatureCall({ calls: deps.calls, handler: deps.featureHandler, logger: log }));
  const adopter = deps.heartbeat
    ? createOrphanAdopter({
        store: deps.store,
        clock: deps.clock,
        logger: log,
        instanceId: deps.instanceId,
        server,
        graceMs: Math.floor(leaseTtlMs / 3),
      })
    : undefined;
  const leases = createLeaseKeeper(ctx, { adopter, heartbeatAlive: () => deps.heartbeat?.alive() ?? false });
  let stopped = false;

  metrics.connection({ system: 'ari', server, up: false });
  const unwatch = metrics.watchDispatch(server, {
    calls: () => ctx.running.size + ctx.watched.size,
    claims: () => ctx.watched.size + [...ctx.running.values()].filter((r) => r.state.claimHeld).length,
  });
  await deps.calls.listen({
    event: route,
    connected: () => {
      metrics.connection({ system: 'ari', server, up: true });
      reconcile(ctx).catch((err: unknown) => log.error({ err }, 'reconcile failed'));
    },
    disconnected: () => metrics.connection({ system: 'ari', server, up: false }),
  });

  // Claims renew after each heartbeat beat (or, without a heartbeat, on a timer of the same period).
  const onBeat = (): void => {
    leases.renew().catch((err: unknown) => log.error({ err }, 'claim renewal failed'));
  };
  let renewTimer: TimerHandle | undefined;
  const renewLoop = (): void => {
    if (stopped) return;
    renewTimer = deps.clock.setTimer(Math.floor(leaseTtlMs / 2), () => {
      onBeat();
      renewLoop();
    });
  };
  if (deps.heartbeat) deps.heartbeat.on('beat', onBeat);
  else renewLoop();
  // Dead owners are looked for every sixth of the TTL: adopted ~1.5 TTL after death at worst.
  let scanTimer: TimerHandle | undefined;
  const scanLoop = (): void => {
    if (stopped) return;
    scanTimer = deps.clock.setTimer(Math.max(200, Math.floor(leaseTtlMs / 6)), () => {
      leases.scan().then(scanLoop, (err: unknown) => {
        log.warn({ err }, 'adoption scan failed; retrying');
        scanLoop();
      });
    });
  };
  scanLoop();

  const view = (r: Running): LiveCall | undefined => {
    const s = r.state;
    if (s.phase === 'done') return undefined;
    const winner = s.legs.find((l) => l.id === s.winner);
    const partnerLeg = s.partner && s.legs.find((l) => l.id === s.partner!.legId);
    return {
      id: s.id,
      server,
      agent: s.agentId,
      caller: { number: r.callerName, name: r.callerDisplayName ?? '' },
      phase: s.phase,
      ...(winner === undefined ? {} : { endpoint: winner.endpoint }),
      ...(s.queue === undefined ? {} : { queue: s.queue }),
      startedAt: s.startedAt,
      ...(s.answeredAt === undefined ? {} : { answeredAt: s.answeredAt }),
      ...(s.hold === undefined ? {} : { hold: { ...s.hold } }),
      ...(s.partner === undefined
        ? {}
        : { partner: { agent: s.partner.agentId, ...(partnerLeg === undefined ? {} : { endpoint: partnerLeg.endpoint }) } }),
      ...(s.round === undefined ? {} : { transferring: { agent: s.round.target, mode: s.round.mode } }),
    };
  };
  emitter.liveCalls = () => [...ctx.running.values()].flatMap((r) => view(r) ?? []);
  emitter.act = async (id, event) => {
    const r = ctx.running.get(id);
    if (!r) return undefined;
    const out = await ctx.act(id, event);
    if (!out) return undefined;
    // The latest state: the call may have moved on while Asterisk answered (the caller hung up).
    const call = view(r);
    return {
      ...(call === undefined ? {} : { call }),
      ...(r.state.result === undefined ? {} : { result: r.state.result }),
      ...(out.failed === undefined ? {} : { failed: out.failed }),
    };
  };
  emitter.reportTransfer = (legId, state) =>
    ctx.order
      .run([chanKey(legId)], () => deps.calls.transferProgress(legId, state))
      .then(
        () => undefined,
        (err: unknown) => (deps.calls.isGone(err) ? undefined : err),
      );
  emitter.startTransfer = (id, req) => startTransferRound(ctx, id, req);
  emitter.callOfChannel = (channelId) => ctx.byCaller.get(channelId) ?? ctx.byLeg.get(channelId);
  emitter.connected = () => deps.calls.isConnected();
  emitter.ariProblem = () => deps.calls.problem();
  emitter.active = () => ctx.running.size;
  emitter.stop = async () => {
    stopped = true;
    leases.stop();
    unwatch();
    deps.heartbeat?.off('beat', onBeat);
    if (renewTimer) deps.clock.cancelTimer(renewTimer);
    if (scanTimer) deps.clock.cancelTimer(scanTimer);
    await deps.calls.close();
    for (const r of ctx.running.values()) for (const h of r.timers.values()) deps.clock.cancelTimer(h);
    if (ownAudit) await audit.stop();
  };
  return emitter;
}
