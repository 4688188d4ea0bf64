/**
 * Ring-all dispatch for one Asterisk server: routes ARI events to the pure state machine
 * (src/domain/dispatch) and executes its commands through ARI REST and the Store.
 *
 * - `Stasis(agentgate,dispatch,<agent>[,<timeout>])` starts a dispatch; `Stasis(agentgate,feature,...)`
 *   goes to the feature handler (queue operations with audible feedback).
 * - The agent is claimed in the Store (lease `agent:<id>`) for the whole call, so it is offered one
 *   call at a time across every agentgate instance and Asterisk server. The claim is a short lease
 *   (3 x instance.leaseTtlMs) renewed after every heartbeat of this instance (half the TTL), never a
 *   long one: a claim of a dead process lapses on its own. A renewal that finds the agent taken by
 *   another call stops the ringing (NOAGENT); one that finds the claim gone takes it again.
 * - Every dispatch is recorded in the Store with its owner (re-written at each renewal, so an
 *   empty-restarted Redis gets it back); after a (re)connect or a restart the service reconciles:
 *   what it owned and no longer drives is cleaned up (legs hung up, caller sent on with
 *   AGENTGATE_RESULT, bridge destroyed). Channels it does not own are ignored.
 * - With a heartbeat, it adopts the dispatches of dead instances on this server
 *   (src/app/adopt-dispatches.ts) and cleans them up the same way.
 * - A call that was talking when its owner died is NOT cut (see `cleanUp`): it stays bridged, this
 *   instance holds the agent's claim while it lasts and, once either side hangs up, hangs up the
 *   other, destroys the bridge and releases the claim.
 */
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { DispatchRecord, Store } from '../ports/store.js';
import type { PolicyHolder } from './policy-holder.js';
import type { InstanceHeartbeat } from './instance-heartbeat.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';
import { createOrphanAdopter } from './adopt-dispatches.js';
import { createAuditTrail, type AuditTrail } from './audit-trail.js';
import { agentForDispatch } from '../domain/policy/index.js';
import { recover, startDispatch, transition, type DispatchCommand, type DispatchEvent, type DispatchState } from '../domain/dispatch/machine.js';
import { AriRest, isGone, refuseControlChars } from '../adapters/ari/rest.js';
import { AriEvents, type AriChannel, type AriEvent } from '../adapters/ari/events.js';

export interface FeatureRequest {
  channelId: string;
  channelName: string;
  callerNumber: string;
  args: string[];
}
export type FeatureHandler = (req: FeatureRequest) => Promise<{ result: string; sound?: string }>;

export interface DispatchServiceDeps {
  server: Config['servers'][number];
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

export interface TimelineEvent {
  callId: string;
  at: number;
  kind: string;
  text: string;
}

export interface DispatchService extends EventEmitter {
  connected(): boolean;
  /** Why Stasis calls cannot reach this instance now (websocket down, app taken by another websocket, app not listed), or undefined. */
  ariProblem(): string | undefined;
  active(): number;
  stop(): Promise<void>;
}

interface Running {
  state: DispatchState;
  timers: Map<string, TimerHandle>;
  log: Logger;
  callerName: string;
  legEndpoint: Map<string, string>;
  /** The mixing bridge was asked for (once per dispatch: a second winner after a vanished first reuses it). */
  bridgeRequested: boolean;
}

type Chan = AriChannel;
type DispatchConfigFallback = Config['dispatch']['fallback'];

/** A talking call left by a dead or restarted process: watched until either side hangs up. */
interface Watched {
  record: DispatchRecord;
  winner: string;
}

export async function startDispatchService(deps: DispatchServiceDeps): Promise<DispatchService> {
  const ari = deps.server.ari;
  if (!ari) throw new Error(`server ${deps.server.name} has no ari section`);
  const log = deps.logger.child({ component: 'dispatch', server: deps.server.name });
  const metrics = deps.metrics ?? noMetrics;
  const rest = new AriRest({ url: ari.url, username: ari.username, password: ari.password, timeoutMs: ari.restTimeoutMs });
  const emitter = new EventEmitter() as DispatchService;
  const ownAudit = deps.audit === undefined;
  const audit = deps.audit ?? createAuditTrail({ store: deps.store, logger: deps.logger, metrics });
  const running = new Map<string, Running>();
  const byLeg = new Map<string, string>();
  const byCaller = new Map<string, string>();
  let seq = 0;
  const leaseTtlMs = deps.leaseTtlMs ?? 6000;
  const claimTtlMs = 3 * leaseTtlMs;
  const claimKey = (agentId: string): string => `agent:${agentId}`;
  const watched = new Map<string, Watched>();
  const byWatched = new Map<string, string>();
  let stopped = false;
  /** Finished dispatches whose claim release or record delete failed (Store away): retried at each beat. */
  const leftovers = new Map<string, { agentId: string; release: boolean }>();

  const timeline = (callId: string, kind: string, text: string): void => {
    emitter.emit('timeline', { callId, at: deps.clock.now(), kind, text } satisfies TimelineEvent);
  };

  const record = async (r: Running): Promise<void> => {
    const s = r.state;
    if (running.get(s.id) !== r || s.phase === 'done') return; // finished: its record is already deleted
    await deps.store.putDispatch({
      id: s.id,
      owner: deps.instanceId,
      server: deps.server.name,
      agentId: s.agentId,
      callerChannelId: s.callerId,
      legChannelIds: s.legs.map((l) => l.id),
      bridgeId: s.bridgeCreated ? s.bridgeId : undefined,
      startedAt: s.startedAt,
      data: { talking: s.phase === 'talking', winner: s.winner },
    });
  };

  const feed = (id: string, event: DispatchEvent): void => {
    const r = running.get(id);
    if (!r) return;
    const step = transition(r.state, event);
    r.state = step.state;
    execute(r, step.commands);
  };

  /**
   * Per channel and bridge, the tail of the ARI commands sent to it. A command goes out once the
   * previous command to any of its channels or bridge has answered (or failed): REST requests travel
   * on separate keep-alive sockets and Asterisk runs them in arrival order, so only waiting for the
   * answer keeps "variable, then continue" or "AGENTGATE_ANSWERED_BY, then hang-up" in that order
   * (issue 15). A command to a channel with nothing in flight is sent at once: ordering costs the
   * winner's answer → bridged path no round trip.
   */
  const tails = new Map<string, Promise<void>>();
  const inOrder = <T>(keys: readonly string[], send: () => Promise<T>): Promise<T> => {
    const before: Promise<void>[] = [];
    for (const k of keys) {
      const t = tails.get(k);
      if (t) before.push(t);
    }
    const p = before.length === 0 ? send() : Promise.all(before).then(send);
    const settled = (): void => {
      for (const k of keys) if (tails.get(k) === tail) tails.delete(k);
    };
    const tail: Promise<void> = p.then(settled, settled);
    for (const k of keys) tails.set(k, tail);
    return p;
  };
  const chanKey = (id: string): string => `channel:${id}`;
  const bridgeKey = (id: string): string => `bridge:${id}`;

  /** Sends an ARI command in its channel's order; its failure only needs a log line (404 = already gone = done). */
  const fire = (flog: Logger, what: string, keys: readonly string[], send: () => Promise<unknown>): void => {
    inOrder(keys, send).catch((err: unknown) => {
      if (!isGone(err)) flog.warn({ err: { message: (err as Error).message }, what }, 'ARI command failed');
    });
  };

  function execute(r: Running, commands: DispatchCommand[]): void {
    const s = r.state;
    for (const c of commands) {
      switch (c.type) {
        case 'RingCaller':
          fire(r.log, 'ring', [chanKey(s.callerId)], () => rest.ring(s.callerId));
          break;
        case 'AnswerCaller':
          // Ordered before the join (a caller is bridged once answered, as billing expects).
          fire(r.log, 'answer', [chanKey(s.callerId)], () => rest.answer(s.callerId));
          break;
        case 'CreateLeg': {
          byLeg.set(c.legId, s.id);
          r.legEndpoint.set(c.legId, c.endpoint);
          timeline(s.id, 'leg-ringing', `ringing ${c.endpoint}`);
          r.log.debug({ leg: c.legId, endpoint: c.endpoint }, 'leg created');
          inOrder([chanKey(c.legId)], () => rest.createChannel({ endpoint: c.endpoint, app: ari!.app, appArgs: `leg,${s.id}`, channelId: c.legId, originator: s.callerId })).catch((err: unknown) => {
            r.log.info({ leg: c.legId, endpoint: c.endpoint, err: { message: (err as Error).message } }, 'leg could not be created');
            timeline(s.id, 'leg-failed', `${c.endpoint} unavailable (${(err as Error).message})`);
            feed(s.id, { type: 'LegCreateFailed', legId: c.legId, detail: (err as Error).message, at: deps.clock.now() });
          });
          break;
        }
        case 'DialLeg':
          inOrder([chanKey(c.legId)], () => rest.dial(c.legId, { caller: s.callerId, timeout: c.timeoutSec })).catch((err: unknown) => {
            if (isGone(err)) return;
            r.log.warn({ leg: c.legId, err: { message: (err as Error).message } }, 'dial failed');
            fire(r.log, 'hangup', [chanKey(c.legId)], () => rest.hangup(c.legId, 'normal'));
          });
          break;
        case 'HangupLeg':
          timeline(s.id, 'leg-hangup', `${r.legEndpoint.get(c.legId) ?? c.legId} hung up (${c.reason === 'answered_elsewhere' ? 'answered elsewhere' : 'normal clearing'})`);
          r.log.debug({ leg: c.legId, endpoint: r.legEndpoint.get(c.legId), reason: c.reason }, 'leg hung up by agentgate');
          fire(r.log, 'hangup leg', [chanKey(c.legId)], () => rest.hangup(c.legId, c.reason));
          break;
        case 'PrepareBridge':
          r.bridgeRequested = true;
          fire(r.log, 'create bridge', [bridgeKey(c.bridgeId)], () => rest.createBridge(c.bridgeId, `dispatch-${s.id}`));
          break;
        case 'BridgeCallerWith': {
          const legId = c.legId;
          timeline(s.id, 'answered', `${r.legEndpoint.get(legId) ?? legId} answered`);
          if (!r.bridgeRequested) {
            r.bridgeRequested = true;
            fire(r.log, 'create bridge', [bridgeKey(c.bridgeId)], () => rest.createBridge(c.bridgeId, `dispatch-${s.id}`));
          }
          // After the bridge exists and the caller's answer (both ordered before it), in one request.
          inOrder([chanKey(s.callerId), chanKey(legId), bridgeKey(c.bridgeId)], () => rest.addChannels(c.bridgeId, [s.callerId, legId]))
            .then(() => {
              // The call may have ended while joining (caller hung up): then nothing more to record.
              if (running.get(s.id) !== r || r.state.winner !== legId) return;
              timeline(s.id, 'bridged', `caller bridged with ${r.legEndpoint.get(legId) ?? legId}`);
              const now = deps.clock.now();
              if (r.state.answeredAt !== undefined) metrics.dispatchBridged({ server: deps.server.name, ms: now - r.state.answeredAt });
              r.log.debug({ leg: legId, endpoint: r.legEndpoint.get(legId) }, 'caller bridged with the answering leg');
              feed(s.id, { type: 'Bridged', at: now });
              void record(r).catch(() => undefined);
            })
            .catch((err: unknown) => {
              if (r.state.winner !== legId) return;
              r.log.warn({ err: { message: (err as Error).message } }, 'bridging failed');
              feed(s.id, { type: 'BridgeFailed', detail: (err as Error).message, at: deps.clock.now() });
            });
          break;
        }
        case 'DestroyBridge':
          fire(r.log, 'destroy bridge', [bridgeKey(c.bridgeId)], () => rest.destroyBridge(c.bridgeId));
          break;
        case 'HangupCaller':
          // After AGENTGATE_ANSWERED_BY (ordered on the caller): the hang-up handler and CDR see it.
          timeline(s.id, 'caller-hangup', 'caller hung up by agentgate (agent left)');
          fire(r.log, 'hangup caller', [chanKey(s.callerId)], () => rest.hangup(s.callerId, 'normal'));
          break;
        case 'SetCallerVar':
          fire(r.log, 'set var', [chanKey(s.callerId)], () => rest.setVar(s.callerId, c.name, c.value));
          break;
        case 'ContinueCaller':
          // Sent once the variables before it answered: the dialplan reads them as it resumes.
          fire(r.log, 'continue', [chanKey(s.callerId)], () => rest.continueInDialplan(s.callerId, c.fallback));
          break;
        case 'StartTimer': {
          const name = c.name;
          const id = s.id;
          r.timers.set(name, deps.clock.setTimer(c.ms, () => feed(id, { type: 'TimerFired', name, at: deps.clock.now() })));
          break;
        }
        case 'CancelTimer': {
          const h = r.timers.get(c.name);
          if (h) deps.clock.cancelTimer(h);
          r.timers.delete(c.name);
          break;
        }
        case 'ReleaseAgent':
          deps.store.releaseLease(claimKey(s.agentId), s.id).catch((err: unknown) => {
            r.log.warn({ err: { message: (err as Error).message } }, 'agent claim release failed; retried at the next beat');
            leftovers.set(s.id, { agentId: s.agentId, release: true });
          });
          break;
        case 'Finished':
          finished(r, c.result);
          break;
      }
    }
  }

  function finished(r: Running, result: string): void {
    const s = r.state;
    running.delete(s.id);
    byCaller.delete(s.callerId);
    // Legs still up stay routable until Asterisk destroys them (a late answer is then hung up);
    // the others are forgotten now, so memory follows live channels, not call history.
    for (const l of s.legs) if (l.status === 'ended' || l.status === 'waiting') byLeg.delete(l.id);
    for (const h of r.timers.values()) deps.clock.cancelTimer(h);
    const now = deps.clock.now();
    const detail = {
      server: deps.server.name,
      caller: { channel: s.callerId, name: r.callerName },
      legs: s.legs.map((l) => ({ endpoint: l.endpoint, channel: l.id, dialStatus: l.dialStatus, outcome: l.outcome ?? 'cancelled', cause: l.cause, hangupReason: l.hangupReason })),
      winner: s.winner ? s.legs.find((l) => l.id === s.winner)?.endpoint : undefined,
      ringMs: (s.answeredAt ?? s.endedAt ?? now) - s.startedAt,
      talkMs: s.answeredAt !== undefined ? now - s.answeredAt : 0,
      hungUpBy: s.hungUpBy,
    };
    timeline(s.id, 'finished', `call ${result === 'ANSWERED' ? 'ended' : `ended: ${result}`}${detail.talkMs ? ` after ${(detail.talkMs / 1000).toFixed(1)} s of talk` : ''}`);
    // Not the audit detail spread out: the logger already binds server and callerChannel, and a
    // `caller` key is pino-pretty's own (it would print it as the line's source).
    r.log.info(
      { result, agent: s.agentId, callerNumber: r.callerName, winner: detail.winner, ringMs: detail.ringMs, talkMs: detail.talkMs, hungUpBy: s.hungUpBy, legs: detail.legs.map((l) => ({ endpoint: l.endpoint, outcome: l.outcome, dialStatus: l.dialStatus, cause: l.cause })) },
      'call ended',
    );
    // Ring time only for calls that rang a phone: a NOAGENT answered at once is not a 0 s ring.
    metrics.dispatchFinished({ server: deps.server.name, result, ringMs: s.legs.length > 0 ? detail.ringMs : undefined, legOutcomes: detail.legs.map((l) => l.outcome) });
    emitter.emit('finished', { callId: s.id, agentId: s.agentId, result });
    audit.enqueue({ kind: 'dispatch', at: now, actor: s.agentId, action: 'dispatch', result, detail });
    deps.store.deleteDispatch(s.id).catch(() => {
      leftovers.set(s.id, { agentId: s.agentId, release: leftovers.get(s.id)?.release ?? false });
    });
  }

  async function startCall(ch: Chan, args: string[]): Promise<void> {
    const id = `${deps.instanceId}-${Date.now().toString(36)}-${(seq++).toString(36)}`;
    const clog = log.child({ callId: id, callerChannel: ch.id });
    const agentArg = args[1] ?? '';
    const timeoutArg = args[2];
    let timeoutSec: number | undefined;
    let noAgent: string | undefined;
    if (timeoutArg !== undefined && timeoutArg.trim() !== '') {
      const t = Number(timeoutArg);
      if (!Number.isInteger(t) || t <= 0 || t > 3600) noAgent = `dialplan argument 3 (timeout) must be whole seconds from 1 to 3600, got '${timeoutArg}'`;
      else timeoutSec = t;
    }
    const agent = agentArg === '' ? undefined : agentForDispatch(deps.policy.current(), agentArg);
    if (!noAgent && agentArg === '') noAgent = 'dialplan argument 2 (agent) is missing';
    else if (!noAgent && !agent) noAgent = `unknown agent '${agentArg}'`;
    else if (!noAgent && agent && !agent.inbound) noAgent = `agent ${agentArg} has inbound calls off`;

    let claimHeld = false;
    let addresses: Array<{ endpoint: string; delayMs: number; timeoutSec?: number }> = [];
    if (!noAgent && agent) {
      // Without the claim, one call at a time cannot be promised: a Store that is down sends the
      // caller on (NOAGENT) at once rather than leaving it in Stasis.
      const claim = await deps.store.acquireLease(claimKey(agent.user.id), id, claimTtlMs).catch((err: unknown) => {
        clog.error({ err: { message: (err as Error).message } }, 'cannot claim the agent: Store unavailable');
        return 'store-down' as const;
      });
      if (claim === 'store-down') noAgent = `agent ${agent.user.id} cannot be claimed (Store unavailable)`;
      else if (!claim.ok) noAgent = `agent ${agent.user.id} is already on a call (${claim.holder})`;
      else {
        claimHeld = true;
        // Only the agent's own endpoints are asked about (one small GET each, in parallel): an
        // endpoint Asterisk reports offline (no registered contact) is skipped. Local/trunk
        // addresses have no endpoint state and are always rung.
        const offline = new Set<string>();
        await Promise.all(
          agent.addresses.map(async (a) => {
            const slash = a.endpoint.indexOf('/');
            const tech = a.endpoint.slice(0, slash);
            if (tech === 'Local' || slash < 0) return;
            try {
              const ep = await rest.endpoint(tech, a.endpoint.slice(slash + 1).split('/')[0]!);
              if (ep.state === 'offline') offline.add(a.endpoint);
            } catch (err) {
              if (!isGone(err)) clog.warn({ endpoint: a.endpoint, err: { message: (err as Error).message } }, 'endpoint state unknown; ringing it anyway');
            }
          }),
        );
        addresses = agent.addresses.filter((a) => !offline.has(a.endpoint));
        if (offline.size > 0) clog.info({ offline: [...offline] }, addresses.length === 0 ? `every address of ${agent.user.id} is offline` : 'offline addresses skipped');
      }
    }
    if (noAgent) clog.info({ reason: noAgent }, 'no agent to ring');
    const allOffline = !noAgent && addresses.length === 0;
    const step = startDispatch({ id, agentId: agent?.user.id ?? agentArg, callerId: ch.id, now: deps.clock.now(), config: deps.dispatch, timeoutSec, addresses: noAgent ? [] : addresses, noAgentReason: noAgent, allOffline, claimHeld });
    const r: Running = { state: step.state, timers: new Map(), log: clog, callerName: ch.caller?.number ?? '', legEndpoint: new Map(), bridgeRequested: false };
    running.set(id, r);
    byCaller.set(ch.id, id);
    timeline(id, 'start', noAgent ? `call for ${agentArg || '(nobody)'}: ${noAgent}` : allOffline ? `call for ${agentArg}: every address is offline` : `call from ${ch.caller?.number ?? '?'} for ${agent!.user.id}: ringing ${addresses.length} address(es) at once`);
    if (!noAgent && !allOffline) {
      clog.info({ agent: agent!.user.id, callerNumber: ch.caller?.number ?? '', devices: addresses.map((a) => a.endpoint), timeoutSec: timeoutSec ?? deps.dispatch.ringTimeoutSec }, 'call ringing');
      await record(r).catch((err: unknown) => clog.error({ err }, 'could not record the dispatch'));
    }
    execute(r, step.commands);
  }

  /** Channels in the feature branch now: a repeated StasisStart for one of them is not run twice. */
  const inFeature = new Set<string>();

  async function feature(ch: Chan, args: string[]): Promise<void> {
    if (inFeature.has(ch.id)) return;
    inFeature.add(ch.id);
    const flog = log.child({ callerChannel: ch.id, feature: args.slice(1) });
    let result = 'FAILED';
    let sound: string | undefined = 'an-error-has-occurred';
    try {
      // Each step is sent after the previous one answered: the channel is up before the handler's
      // sound plays, and AGENTGATE_RESULT is set before /continue lets the dialplan read it.
      await rest.answer(ch.id);
      if (deps.featureHandler) {
        const out = await deps.featureHandler({ channelId: ch.id, channelName: ch.name, callerNumber: ch.caller?.number ?? '', args: args.slice(1) });
        result = out.result;
        sound = out.sound;
      }
    } catch (err) {
      flog.warn({ err: { message: (err as Error).message } }, 'feature code failed');
    }
    try {
      if (sound) await rest.play(ch.id, `sound:${sound}`);
      await rest.setVar(ch.id, 'AGENTGATE_RESULT', result);
      await rest.continueInDialplan(ch.id);
    } catch (err) {
      if (!isGone(err)) flog.warn({ err: { message: (err as Error).message } }, 'feature feedback failed');
    } finally {
      inFeature.delete(ch.id);
    }
  }

  /** The first Stasis argument with a control character, as an error message; undefined when all are clean. */
  function badArgument(args: readonly string[]): string | undefined {
    for (let i = 0; i < args.length; i++) {
      try {
        refuseControlChars(`dialplan argument ${i + 1}`, args[i]!);
      } catch (err) {
        return (err as Error).message;
      }
    }
    return undefined;
  }

  /** Sends a caller agentgate will not serve back to the dialplan: AGENTGATE_RESULT first, then /continue. */
  function sendBack(c: Chan, result: string, fallback?: DispatchConfigFallback): void {
    const key = [chanKey(c.id)];
    fire(log, 'set var', key, () => rest.setVar(c.id, 'AGENTGATE_RESULT', result));
    fire(log, 'continue', key, () => rest.continueInDialplan(c.id, fallback));
  }

  /** Callers between their StasisStart and the dispatch or feature taking them: a repeated StasisStart is ignored. */
  const starting = new Set<string>();

  const onEvent = async (e: AriEvent): Promise<void> => {
    const ch = e.type === 'Dial' ? e.peer : e.channel;
    const watchedOf = byWatched.get(ch.id);
    if (watchedOf !== undefined && (e.type === 'ChannelDestroyed' || e.type === 'StasisEnd')) return endWatched(watchedOf, ch.id);
    const legOf = byLeg.get(ch.id);
    const callerOf = byCaller.get(ch.id);
    switch (e.type) {
      case 'StasisStart': {
        const args = e.args;
        if (legOf && running.has(legOf)) return feed(legOf, { type: 'LegStasisStarted', legId: ch.id });
        if (callerOf || starting.has(ch.id)) return; // a repeated StasisStart for a caller already being served
        if (args[0] === 'dispatch' || args[0] === 'feature') {
          // Refused before anything reads them: they would reach logs, the audit and AMI as they are.
          const bad = badArgument(args);
          if (bad) {
            log.warn({ callerChannel: ch.id, channel: ch.name, reason: bad }, 'Stasis arguments refused (control character); caller continued with AGENTGATE_RESULT=NOAGENT');
            return sendBack(ch, 'NOAGENT', args[0] === 'dispatch' ? deps.dispatch.fallback : undefined);
          }
        }
        if (args[0] === 'dispatch') {
          starting.add(ch.id);
          try {
            return await startCall(ch, args);
          } catch (err) {
            // Failed before a dispatch took the caller (the Store down, say): never leave it in Stasis.
            if (!byCaller.has(ch.id)) {
              log.error({ callerChannel: ch.id, err: { message: (err as Error).message } }, 'dispatch could not start; caller continued with AGENTGATE_RESULT=NOAGENT');
              sendBack(ch, 'NOAGENT', deps.dispatch.fallback);
              return;
            }
            throw err;
          } finally {
            starting.delete(ch.id);
          }
        }
        if (args[0] === 'feature') return feature(ch, args);
        if (args[0] === 'leg') {
          // A leg of a dispatch this process no longer drives (late, or from before a restart): never leave it up.
          await inOrder([chanKey(ch.id)], () => rest.hangup(ch.id, 'normal')).catch(() => undefined);
        }
        return;
      }
      case 'Dial': {
        if (!legOf) return;
        const status = e.dialstatus;
        if (!running.has(legOf)) {
          // A leg answering after its dispatch ended: the call is gone, never leave it up.
          if (status === 'ANSWER') await inOrder([chanKey(ch.id)], () => rest.hangup(ch.id, 'answered_elsewhere')).catch(() => undefined);
          return;
        }
        const lr = running.get(legOf)!;
        if (status !== '') lr.log.debug({ leg: ch.id, endpoint: lr.legEndpoint.get(ch.id), dialStatus: status }, 'leg dial status');
        if (status === 'RINGING') return feed(legOf, { type: 'LegRinging', legId: ch.id });
        if (status === 'ANSWER') return feed(legOf, { type: 'LegAnswered', legId: ch.id, at: deps.clock.now() });
        if (status !== '') return feed(legOf, { type: 'LegDialStatus', legId: ch.id, dialStatus: status });
        return;
      }
      case 'ChannelDestroyed': {
        if (legOf && !running.has(legOf)) {
          byLeg.delete(ch.id);
          return;
        }
        if (legOf) {
          const lr = running.get(legOf);
          lr?.log.debug({ leg: ch.id, endpoint: lr.legEndpoint.get(ch.id), cause: e.cause }, 'leg ended');
          return feed(legOf, { type: 'LegEnded', legId: ch.id, cause: e.cause, at: deps.clock.now() });
        }
        if (callerOf) return feed(callerOf, { type: 'CallerHungUp', at: deps.clock.now() });
        return;
      }
      case 'ChannelHangupRequest':
      case 'StasisEnd': {
        // The caller leaving Stasis without agentgate sending it on: it hung up.
        if (callerOf) {
          const r = running.get(callerOf);
          if (r && r.state.phase !== 'done') {
            if (e.type === 'StasisEnd' || e.soft !== true) {
              timeline(callerOf, 'caller-gone', 'the caller hung up');
              feed(callerOf, { type: 'CallerHungUp', at: deps.clock.now() });
            }
          }
        }
        return;
      }
    }
  };

  /** After a (re)connect: finish what this instance owns but no longer drives; catch up on what changed while deaf. */
  const reconcile = async (): Promise<void> => {
    let states: Map<string, string>;
    try {
      states = new Map((await rest.listChannels()).map((c) => [c.id, c.state]));
    } catch (err) {
      log.warn({ err: { message: (err as Error).message } }, 'reconcile: GET /channels failed');
      return;
    }
    for (const [id, r] of running) {
      // The caller first: gone, every leg is hung up whatever it did meanwhile.
      if (!states.has(r.state.callerId)) feed(id, { type: 'CallerHungUp', at: deps.clock.now() });
      for (const l of r.state.legs) {
        if (l.status === 'ended' || l.status === 'waiting' || l.status === 'creating' || !running.has(id)) continue;
        const state = states.get(l.id);
        // Gone while deaf: ended. Up while deaf: it answered (its Dial ANSWER was lost with the socket).
        if (state === undefined) feed(id, { type: 'LegEnded', legId: l.id, cause: 0, at: deps.clock.now() });
        else if (state === 'Up' && (l.status === 'created' || l.status === 'ringing')) feed(id, { type: 'LegAnswered', legId: l.id, at: deps.clock.now() });
      }
    }
    const owned = await deps.store.listDispatches({ owner: deps.instanceId, server: deps.server.name }).catch(() => []);
    for (const d of owned) await cleanUp(d, states, 'left from before');
  };

  /**
   * Finishes a dispatch this process does not drive (its own from before a restart, or adopted from
   * a dead instance). Ringing: legs hung up, caller sent on with NOANSWER, claim released.
   * Talking, both sides still up: left alone. An Asterisk admin would not cut a live conversation
   * because the process that set it up died; the bridge holds without agentgate, so the call goes on,
   * this instance holds the agent's claim (no second call is offered meanwhile) and cleans up when
   * either side hangs up (`endWatched`). Talking with one side gone: the other is hung up.
   */
  async function cleanUp(d: DispatchRecord, states: Map<string, string>, why: string): Promise<void> {
    if (running.has(d.id) || watched.has(d.id)) return;
    if (d.data?.talking === true) {
      const recorded = typeof d.data.winner === 'string' ? d.data.winner : undefined;
      const winner = recorded ?? d.legChannelIds.find((l) => states.get(l) === 'Up');
      if (winner !== undefined && states.has(winner) && states.has(d.callerChannelId)) return watch(d, winner);
    }
    const cmds = recover({ callerChannelId: d.callerChannelId, legChannelIds: d.legChannelIds, bridgeId: d.bridgeId, talking: d.data?.talking === true, fallback: deps.dispatch.fallback });
    log.info({ dispatch: d.id, agent: d.agentId, why }, 'cleaning up a dispatch this process does not drive');
    timeline(d.id, 'recovered', `call for ${d.agentId} ${why}: cleaned up`);
    for (const c of cmds) {
      try {
        if (c.type === 'HangupLeg' && states.has(c.legId)) await rest.hangup(c.legId, c.reason);
        else if (c.type === 'DestroyBridge') await rest.destroyBridge(c.bridgeId).catch(() => undefined);
        else if (c.type === 'HangupCaller' && states.has(d.callerChannelId)) await rest.hangup(d.callerChannelId, 'normal');
        else if (c.type === 'SetCallerVar' && states.has(d.callerChannelId)) await rest.setVar(d.callerChannelId, c.name, c.value);
        else if (c.type === 'ContinueCaller' && states.has(d.callerChannelId)) await rest.continueInDialplan(d.callerChannelId, c.fallback);
        else if (c.type === 'ReleaseAgent') await deps.store.releaseLease(claimKey(d.agentId), d.id);
      } catch (err) {
        if (!isGone(err)) log.warn({ err: { message: (err as Error).message }, command: c.type }, 'clean-up command failed');
      }
    }
    metrics.dispatchFinished({ server: deps.server.name, result: 'RECOVERED', legOutcomes: [] });
    audit.enqueue({ kind: 'dispatch', at: deps.clock.now(), actor: d.agentId, action: 'dispatch', result: 'RECOVERED', detail: { server: deps.server.name, caller: d.callerChannelId, legs: d.legChannelIds, why } });
    await deps.store.deleteDispatch(d.id).catch(() => undefined);
  }

  function watch(d: DispatchRecord, winner: string): void {
    const w: Watched = { record: { ...d, owner: deps.instanceId, data: { ...d.data, talking: true, winner } }, winner };
    watched.set(d.id, w);
    byWatched.set(d.callerChannelId, d.id);
    byWatched.set(winner, d.id);
    log.info({ dispatch: d.id, agent: d.agentId }, 'talking call left by a process that is gone: left bridged, watched until it ends');
    timeline(d.id, 'adopted', `call for ${d.agentId} still talking: left alone until it ends`);
    holdWatched(d.id, w).catch((err: unknown) => log.warn({ dispatch: d.id, err: { message: (err as Error).message } }, 'could not hold the claim of a watched call; retrying at the next beat'));
  }

  /** Keeps the agent claimed for a watched call and its record in the Store (also after an empty restart). */
  async function holdWatched(id: string, w: Watched): Promise<void> {
    const c = await deps.store.acquireLease(claimKey(w.record.agentId), id, claimTtlMs);
    if (!c.ok) log.warn({ dispatch: id, holder: c.holder }, 'the agent of a watched call is claimed by another call');
    if (watched.get(id) === w) await deps.store.putDispatch(w.record);
  }

  /** A watched call ended on one side (`gone`): hang up the other, destroy the bridge, release the claim. */
  async function endWatched(id: string, gone: string): Promise<void> {
    const w = watched.get(id);
    if (!w) return;
    watched.delete(id);
    const d = w.record;
    byWatched.delete(d.callerChannelId);
    byWatched.delete(w.winner);
    const other = gone === d.callerChannelId ? w.winner : d.callerChannelId;
    await rest.hangup(other, 'normal').catch((err: unknown) => {
      if (!isGone(err)) log.warn({ dispatch: id, err: { message: (err as Error).message } }, 'hangup of the other side failed');
    });
    if (d.bridgeId) await rest.destroyBridge(d.bridgeId).catch(() => undefined);
    await deps.store.releaseLease(claimKey(d.agentId), id).catch(() => undefined);
    const hungUpBy = gone === d.callerChannelId ? 'caller' : 'agent';
    timeline(id, 'finished', `call ended (${hungUpBy} hung up) after its owner process had gone`);
    log.info({ callId: id, callerChannel: d.callerChannelId, agent: d.agentId, result: 'ANSWERED', hungUpBy, adopted: true }, 'call ended');
    emitter.emit('finished', { callId: id, agentId: d.agentId, result: 'ANSWERED' });
    metrics.dispatchFinished({ server: deps.server.name, result: 'ANSWERED', legOutcomes: [] });
    audit.enqueue({ kind: 'dispatch', at: deps.clock.now(), actor: d.agentId, action: 'dispatch', result: 'ANSWERED', detail: { server: deps.server.name, caller: { channel: d.callerChannelId }, winnerChannel: w.winner, legs: d.legChannelIds, hungUpBy, adopted: true } });
    await deps.store.deleteDispatch(id).catch(() => undefined);
  }

  const channelStates = async (): Promise<Map<string, string>> => new Map((await rest.listChannels()).map((c) => [c.id, c.state]));

  /** Watched calls whose end was not heard (another app's channels send us no events): polled. */
  async function checkWatched(): Promise<void> {
    const states = await channelStates();
    for (const [id, w] of [...watched]) {
      if (!states.has(w.record.callerChannelId)) await endWatched(id, w.record.callerChannelId);
      else if (!states.has(w.winner)) await endWatched(id, w.winner);
    }
  }

  /**
   * Renews every claim this service holds and re-writes its dispatch records (after each heartbeat
   * beat). A claim gone from the Store is taken again; one held by another call stops the ringing.
   */
  let renewing = false;
  async function renewLeases(): Promise<void> {
    if (renewing || stopped) return;
    renewing = true;
    let failed = 0;
    try {
      for (const r of [...running.values()]) {
        const s = r.state;
        if (s.phase === 'done' || !s.claimHeld) continue;
        try {
          if (!(await deps.store.renewLease(claimKey(s.agentId), s.id, claimTtlMs))) {
            const again = await deps.store.acquireLease(claimKey(s.agentId), s.id, claimTtlMs);
            if (!again.ok) {
              r.log.warn({ holder: again.holder }, 'agent claim lost to another call');
              timeline(s.id, 'claim-lost', `the agent was given to another call (${again.holder})`);
              feed(s.id, { type: 'ClaimLost', at: deps.clock.now() });
              continue;
            }
            r.log.info('agent claim had lapsed (Store restarted or away); taken again');
          }
          await record(r);
        } catch {
          failed++;
        }
      }
      for (const [id, w] of [...watched]) await holdWatched(id, w).catch(() => failed++);
      for (const [id, l] of [...leftovers]) {
        try {
          if (l.release) await deps.store.releaseLease(claimKey(l.agentId), id);
          await deps.store.deleteDispatch(id);
          leftovers.delete(id);
        } catch {
          failed++;
        }
      }
    } finally {
      renewing = false;
    }
    if (failed > 0) log.warn({ failed }, 'could not renew agent claims or dispatch records (Store unavailable); retrying at the next beat');
  }

  /** Looks for dead instances' dispatches (and polls watched calls); retries clean-ups that could not run. */
  const adopter = deps.heartbeat ? createOrphanAdopter({ store: deps.store, clock: deps.clock, logger: log, instanceId: deps.instanceId, server: deps.server.name, graceMs: Math.floor(leaseTtlMs / 3) }) : undefined;
  const pending = new Map<string, { record: DispatchRecord; why: string }>();
  let scanning = false;
  async function scan(): Promise<void> {
    if (scanning || stopped) return;
    scanning = true;
    try {
      if (watched.size > 0) await checkWatched();
      if (adopter && deps.heartbeat?.alive()) for (const a of await adopter.scan()) pending.set(a.record.id, { record: a.record, why: `adopted from dead instance ${a.from}` });
      if (pending.size === 0) return;
      // Adopted records are ours now: if ARI cannot be asked, they wait here for the next scan.
      const states = await channelStates();
      for (const [id, p] of [...pending]) {
        pending.delete(id);
        await cleanUp(p.record, states, p.why);
      }
    } finally {
      scanning = false;
    }
  }

  const events = new AriEvents({
    url: ari.url,
    username: ari.username,
    password: ari.password,
    app: ari.app,
    pingIntervalMs: ari.pingIntervalMs,
    logger: log,
    onEvent,
    onConnected: () => {
      metrics.connection({ system: 'ari', server: deps.server.name, up: true });
      reconcile().catch((err: unknown) => log.error({ err }, 'reconcile failed'));
    },
    onDisconnected: () => metrics.connection({ system: 'ari', server: deps.server.name, up: false }),
  });
  metrics.connection({ system: 'ari', server: deps.server.name, up: false });
  const unwatch = metrics.watchDispatch(deps.server.name, {
    calls: () => running.size + watched.size,
    claims: () => watched.size + [...running.values()].filter((r) => r.state.claimHeld).length,
  });
  await events.start();

  // Claims renew after each heartbeat beat (or, without a heartbeat, on a timer of the same period).
  const onBeat = (): void => {
    renewLeases().catch((err: unknown) => log.error({ err }, 'claim renewal failed'));
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
      scan().then(scanLoop, (err: unknown) => {
        log.warn({ err: { message: (err as Error).message } }, 'adoption scan failed; retrying');
        scanLoop();
      });
    });
  };
  scanLoop();

  emitter.connected = () => events.isConnected();
  emitter.ariProblem = () => events.problem();
  emitter.active = () => running.size;
  emitter.stop = async () => {
    stopped = true;
    unwatch();
    deps.heartbeat?.off('beat', onBeat);
    if (renewTimer) deps.clock.cancelTimer(renewTimer);
    if (scanTimer) deps.clock.cancelTimer(scanTimer);
    await events.stop();
    rest.close();
    for (const r of running.values()) for (const h of r.timers.values()) deps.clock.cancelTimer(h);
    if (ownAudit) await audit.stop();
  };
  return emitter;
}
