/**
 * What the parts of one server's dispatch service share: the ports, the calls it drives (by caller,
 * by leg), the talking calls it watches for a dead owner, and `feed`, the one way an event reaches
 * the pure machine (src/domain/dispatch/machine.ts) and its commands reach the executor.
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from '../../config/load.js';
import type { CallControl } from '../../ports/call-control.js';
import type { Clock, TimerHandle } from '../../ports/clock.js';
import type { Metrics } from '../../ports/metrics.js';
import type { DispatchRecord, Store } from '../../ports/store.js';
import type { AuditTrail } from '../audit-trail.js';
import type { PolicyHolder } from '../policy-holder.js';
import { transition, type DispatchEvent, type DispatchState } from '../../domain/dispatch/machine.js';
import { executeCommands } from './command-executor.js';
import { ChannelOrder } from './channel-order.js';

export interface TimelineEvent {
  callId: string;
  at: number;
  kind: string;
  text: string;
}

/** A dispatch this process drives. */
export interface Running {
  state: DispatchState;
  timers: Map<string, TimerHandle>;
  log: Logger;
  /** The caller's number as the PBX gave it at StasisStart ('' when none). */
  callerName: string;
  /** The caller's display name ('' when none). */
  callerDisplayName?: string;
  legEndpoint: Map<string, string>;
  /** The mixing bridge was asked for (once per dispatch: a second winner after a vanished first reuses it). */
  bridgeRequested: boolean;
}

/** A talking call left by a dead or restarted process: watched until either side hangs up. */
export interface Watched {
  record: DispatchRecord;
  winner: string;
}

export interface DispatchContextDeps {
  /** The Asterisk server's name (config servers[].name): in records, metrics and logs. */
  server: string;
  dispatch: Config['dispatch'];
  store: Store;
  policy: PolicyHolder;
  calls: CallControl;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  audit: AuditTrail;
  instanceId: string;
  /** Agent claims live this long (3 × instance.leaseTtlMs). */
  claimTtlMs: number;
  /** Where `timeline` and `finished` go (the service facade). */
  emitter: EventEmitter;
}

export interface DispatchContext extends DispatchContextDeps {
  readonly running: Map<string, Running>;
  readonly byLeg: Map<string, string>;
  readonly byCaller: Map<string, string>;
  readonly watched: Map<string, Watched>;
  /** Caller and winner channel → watched call id. */
  readonly byWatched: Map<string, string>;
  /** Finished dispatches whose claim release or record delete failed (Store away): retried at each beat. */
  readonly leftovers: Map<string, { agentId: string; release: boolean }>;
  readonly order: ChannelOrder;
  timeline(callId: string, kind: string, text: string): void;
  /** One event into the machine for dispatch `id` (ignored when it is not running); its commands are executed. */
  feed(id: string, event: DispatchEvent): void;
  /**
   * feed(), then waits until Asterisk answered every PBX request of that step. Resolves with the
   * state after the event and the first request that failed (undefined: all applied); undefined
   * when the dispatch is not running.
   */
  act(id: string, event: DispatchEvent): Promise<{ state: DispatchState; failed?: unknown } | undefined>;
  /** Writes the dispatch's record (owner, legs, bridge, talking) to the Store; nothing once finished. */
  record(r: Running): Promise<void>;
}

/** In a dispatch record's data while a direct transfer rings: the target (its claim is this call's) and its legs. */
export interface RecordedRound {
  target: string;
  legs: string[];
}
/** In a dispatch record's data after a warm transfer: the colleague in the call (its claim is this call's) and its leg. */
export interface RecordedPartner {
  agentId: string;
  legId: string;
}

export const claimKey = (agentId: string): string => `agent:${agentId}`;

export function createDispatchContext(deps: DispatchContextDeps): DispatchContext {
  const ctx: DispatchContext = {
    ...deps,
    running: new Map(),
    byLeg: new Map(),
    byCaller: new Map(),
    watched: new Map(),
    byWatched: new Map(),
    leftovers: new Map(),
    order: new ChannelOrder(),
    timeline(callId, kind, text) {
      deps.emitter.emit('timeline', { callId, at: deps.clock.now(), kind, text } satisfies TimelineEvent);
    },
    feed(id, event) {
      const r = ctx.running.get(id);
      if (!r) return;
      const step = transition(r.state, event);
      r.state = step.state;
      executeCommands(ctx, r, step.commands);
    },
    async act(id, event) {
      const r = ctx.running.get(id);
      if (!r) return undefined;
      const step = transition(r.state, event);
      r.state = step.state;
      const applied: Array<Promise<unknown>> = [];
      executeCommands(ctx, r, step.commands, applied);
      const failed = (await Promise.all(applied)).find((e) => e !== undefined);
      return failed === undefined ? { state: step.state } : { state: step.state, failed };
    },
    async record(r) {
      const s = r.state;
      if (ctx.running.get(s.id) !== r || s.phase === 'done') return; // finished: its record is already deleted
      const roundLegs = s.round?.child.legs ?? [];
      await deps.store.putDispatch({
        id: s.id,
        owner: deps.instanceId,
        server: deps.server,
        agentId: s.agentId,
        callerChannelId: s.callerId,
        // A direct transfer's ringing devices too: a restart hangs them up like any leg (reconcile.ts).
        legChannelIds: [...s.legs, ...roundLegs].map((l) => l.id),
        bridgeId: s.bridgeCreated ? s.bridgeId : undefined,
        startedAt: s.startedAt,
        data: {
          talking: s.phase === 'talking',
          winner: s.winner,
          ...(s.queue === undefined ? {} : { queue: s.queue }),
          // Whose claims this call holds besides agentId's, and which legs are theirs (RecordedRound, RecordedPartner).
          ...(s.round === undefined ? {} : { round: { target: s.round.target, legs: roundLegs.map((l) => l.id) } satisfies RecordedRound }),
          ...(s.partner === undefined ? {} : { partner: { agentId: s.partner.agentId, legId: s.partner.legId } satisfies RecordedPartner }),
        },
      });
    },
  };
  return ctx;
}
