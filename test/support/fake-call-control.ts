/**
 * A CallControl that answers from memory, for unit tests of the dispatch use cases: records every
 * request in order, answers each at once (auto) or when the test says (`hold`), and knows a set of
 * live channels and endpoint states for the queries.
 */
import { EventEmitter } from 'node:events';
import { AgentgateError } from '../../src/errors/codes.js';
import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { createAuditTrail } from '../../src/app/audit-trail.js';
import { createPolicyHolder } from '../../src/app/policy-holder.js';
import { createDispatchContext, type DispatchContext } from '../../src/app/dispatch/context.js';
import { validateConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import type { CallControl, CallEventHandlers } from '../../src/ports/call-control.js';
import type { Store } from '../../src/ports/store.js';
import { noMetrics } from '../../src/ports/metrics.js';
import { manualClock, type ManualClock } from './manual-clock.js';

export interface SentRequest {
  op: string;
  args: unknown[];
  /** Answers it now (held requests only). */
  resolve(): void;
  reject(err: Error): void;
  settled: boolean;
}

export interface FakeCalls extends CallControl {
  readonly sent: SentRequest[];
  /** `op id` of every request sent, in order (e.g. `hangup leg-1`). */
  log(): string[];
  /** Requests matching `op` are held until resolved by the test (all of them when no op given). */
  hold(op?: string): void;
  /** Requests for `op` reject with a 404-like "gone" error. */
  gone: Set<string>;
  /** Requests for `op` reject with this error. */
  failing: Map<string, Error>;
  /** Live channels for listChannels (id → state). */
  channels: Map<string, string>;
  /** Endpoint states (`PJSIP/2001` → online/offline). */
  endpoints: Map<string, string>;
  /** What asteriskVersion() answers (default 22.7.0, as the recordings' Asterisk; undefined = unknown). Not a logged request. */
  version: string | undefined;
  handlers?: CallEventHandlers;
}

export class GoneError extends Error {}

export function fakeCalls(): FakeCalls {
  const sent: SentRequest[] = [];
  const held = new Set<string>();
  let holdAll = false;
  const fake = {
    sent,
    gone: new Set<string>(),
    failing: new Map<string, Error>(),
    channels: new Map<string, string>(),
    endpoints: new Map<string, string>(),
    version: '22.7.0' as string | undefined,
    handlers: undefined as CallEventHandlers | undefined,
    log: () => sent.map((s) => `${s.op}${typeof s.args[0] === 'string' ? ` ${s.args[0]}` : ''}`),
    hold(op?: string) {
      if (op === undefined) holdAll = true;
      else held.add(op);
    },
  };
  const request =
    (op: string, answer: (...args: unknown[]) => unknown = () => undefined) =>
    (...args: unknown[]): Promise<never> =>
      new Promise((resolve, reject) => {
        const r: SentRequest = {
          op,
          args,
          settled: false,
          resolve: () => {
            r.settled = true;
            resolve(answer(...args) as never);
          },
          reject: (err) => {
            r.settled = true;
            reject(err);
          },
        };
        sent.push(r);
        if (fake.gone.has(op)) return r.reject(new GoneError(`${op}: gone`));
        const f = fake.failing.get(op);
        if (f) return r.reject(f);
        if (!holdAll && !held.has(op)) r.resolve();
      });
  const calls: CallControl = {
    async listen(h) {
      fake.handlers = h;
      h.connected();
    },
    isConnected: () => true,
    problem: () => undefined,
    close: async () => undefined,
    asteriskVersion: async () => fake.version,
    createChannel: request('createChannel'),
    dial: request('dial'),
    hangup: request('hangup'),
    ring: request('ring'),
    answer: request('answer'),
    setVar: request('setVar'),
    continueInDialplan: request('continueInDialplan'),
    startMoh: request('startMoh'),
    stopMoh: request('stopMoh'),
    transferProgress: request('transferProgress'),
    play: request('play'),
    createBridge: request('createBridge'),
    addChannels: request('addChannels'),
    destroyBridge: request('destroyBridge'),
    listChannels: request('listChannels', () => [...fake.channels].map(([id, state]) => ({ id, state }))),
    endpoint: request('endpoint', (tech, res) => ({ state: fake.endpoints.get(`${String(tech)}/${String(res)}`) ?? 'online' })),
    isGone: (err) => err instanceof GoneError,
  };
  const out = Object.assign(calls, fake) as FakeCalls;
  // listen() stores the handlers on `fake`: read them from there (Object.assign copied the value at creation).
  Object.defineProperty(out, 'handlers', { get: () => fake.handlers, enumerable: true });
  Object.defineProperty(out, 'version', {
    get: () => fake.version,
    set: (v: string | undefined) => {
      fake.version = v;
    },
    enumerable: true,
  });
  return out;
}

/** Lets every answered request's continuation run (no timers involved). */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

export const storeDown = (): AgentgateError => new AgentgateError('AGENTGATE_ERR_STORE', { detail: 'connect ECONNREFUSED 127.0.0.1:6379' });

export interface UnitRig {
  ctx: DispatchContext;
  calls: FakeCalls;
  clock: ManualClock;
  store: Store;
  emitter: EventEmitter;
  finished: Array<{ callId: string; agentId: string; result: string }>;
}

/** A dispatch context on fakes: alice (3 phones, inbound on), bob (inbound off); answer: late. */
export function unitRig(over: { store?: Store; dispatch?: Record<string, unknown> } = {}): UnitRig {
  const clock = manualClock();
  const config = validateConfig({
    instance: { id: 'unit-1' },
    servers: [{ name: 'pbx1', ari: { url: 'http://127.0.0.1:1', username: 'u', password: 'p' } }],
    dispatch: { answer: 'late', ringTimeoutSec: 20, ...(over.dispatch ?? {}) },
    directory: {
      users: [
        {
          id: 'alice',
          name: 'Alice',
          role: 'agent',
          scope: 'call_center_agent',
          addresses: ['PJSIP/2001', 'PJSIP/2002', 'PJSIP/2003'],
          flags: { inbound: true },
        },
        { id: 'bob', name: 'Bob', role: 'agent', scope: 'call_center_agent', addresses: ['PJSIP/2004'], flags: { inbound: false } },
      ],
    },
  });
  const store = over.store ?? createMemoryStore({ clock });
  const calls = fakeCalls();
  const emitter = new EventEmitter();
  const finished: UnitRig['finished'] = [];
  emitter.on('finished', (f: UnitRig['finished'][number]) => finished.push(f));
  const ctx = createDispatchContext({
    server: 'pbx1',
    dispatch: config.dispatch,
    store,
    policy: createPolicyHolder(config.directory),
    calls,
    clock,
    log: silentLogger(),
    metrics: noMetrics,
    audit: createAuditTrail({ store, logger: silentLogger(), metrics: noMetrics }),
    instanceId: 'unit-1',
    claimTtlMs: 18_000,
    emitter,
  });
  return { ctx, calls, clock, store, emitter, finished };
}
