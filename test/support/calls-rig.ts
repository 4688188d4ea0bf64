/**
 * The set-up the call-control integration tests share: the simulator (ARI + AMI on real sockets), the
 * real daemon (HTTP server, dispatch, queue members, a memory Store) configured with the test's own
 * directory and `calls` section, and a bearer token for each named user. Each test file keeps only
 * what is its own: its directory, its phones, its scenarios.
 *
 *   const rig = callsRig({ instance: 'x-test', users: ['alice', 'olivia'], directory: { … } });
 *   beforeAll(() => rig.start());
 *   afterAll(() => rig.stop());
 *   afterEach(() => rig.clean(['alice']));
 */
import { Simulator, type SimCall } from '../../src/sim/index.js';
import { validateConfig } from '../../src/config/load.js';
import { startDaemon, type Daemon } from '../../src/daemon.js';
import { createMemoryStore } from '../../src/adapters/store/memory.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentLogger } from '../../src/log.js';
import type { Store } from '../../src/ports/store.js';
import { until } from './dispatch-harness.js';

/** A directory agent (name = id): inbound on, plus `flags`; in `group`, with extension `ext`. */
export function agent(id: string, group: string, addresses: string[], flags: Record<string, unknown>, ext: string) {
  return {
    id,
    name: id,
    role: 'agent',
    scope: 'call_center_agent',
    groups: [group],
    extensions: [ext],
    addresses,
    flags: { inbound: true, ...flags },
  };
}

export interface CallsRigOptions {
  /** instance.id of the daemon. */
  instance: string;
  /** The users a token is issued for (api(user, …) needs one). */
  users: readonly string[];
  directory: Record<string, unknown>;
  /** The config's `calls` section, when the test needs one. */
  calls?: Record<string, unknown>;
  /** Phones that answer on their own, each after this many ms; set before the daemon starts. */
  answering?: Record<string, number>;
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** What every GET /v1/calls entry has; a test widens it with the fields it reads. */
export interface CallSummary {
  id: string;
  agent: string;
  state: string;
}

export interface CallsRig {
  readonly sim: Simulator;
  readonly daemon: Daemon;
  readonly store: Store;
  /** Starts the simulator, then the daemon on it, then issues the tokens. */
  start: () => Promise<CallsRig>;
  /** Stops the daemon, then the simulator (each only if it started). */
  stop: () => Promise<void>;
  /** Calls the daemon's HTTP API as `user` (their bearer token), a JSON body when one is given. */
  api: (user: string, method: string, path: string, body?: unknown) => Promise<Answer>;
  /** GET /v1/calls as `user` (olivia, the manager who sees every call, when not given). */
  calls: <C extends CallSummary = CallSummary>(user?: string) => Promise<C[]>;
  /** A customer calls `agent` (from `queue`, ringing 10 s); resolves once they talk, with the call id. */
  talking: (agent: string, queue?: string) => Promise<{ call: SimCall; id: string }>;
  /**
   * For afterEach: every test leaves nothing behind. Clears the simulator's faults, hangs up every
   * channel, waits until no channel and no bridge is left and until none of `agents` holds a claim.
   */
  clean: (agents: readonly string[]) => Promise<void>;
}

export function callsRig(options: CallsRigOptions): CallsRig {
  let sim: Simulator | undefined;
  let daemon: Daemon | undefined;
  let store: Store | undefined;
  const token: Record<string, string> = {};
  const started = <T>(x: T | undefined, what: string): T => {
    if (x === undefined) throw new Error(`calls rig: ${what} used before start()`);
    return x;
  };

  const rig: CallsRig = {
    get sim() {
      return started(sim, 'sim');
    },
    get daemon() {
      return started(daemon, 'daemon');
    },
    get store() {
      return started(store, 'store');
    },
    start: async () => {
      sim = await Simulator.start();
      for (const [ep, afterMs] of Object.entries(options.answering ?? {})) sim.setEndpoint(ep, { kind: 'answer', afterMs });
      const config = validateConfig({
        instance: { id: options.instance },
        servers: [
          {
            name: 'pbx1',
            ari: { url: sim.ariUrl, username: 'agentgate', password: 'secret', pingIntervalMs: 1000, restTimeoutMs: 2000 },
            ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' },
          },
        ],
        http: { enabled: true, host: '127.0.0.1', port: 0, rateLimit: { max: 100_000, timeWindowMs: 1000 } },
        dispatch: { answer: 'late', ringTimeoutSec: 10 },
        ...(options.calls === undefined ? {} : { calls: options.calls }),
        directory: options.directory,
      });
      store = createMemoryStore({ clock: systemClock() });
      daemon = await startDaemon(config, { store, logger: silentLogger() });
      for (const u of options.users) token[u] = await daemon.tokens.issue(u, 't');
      return rig;
    },
    stop: async () => {
      await daemon?.stop();
      await sim?.stop();
    },
    api: async (user, method, path, body) => {
      const r = await fetch(`${rig.daemon.httpUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${token[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    },
    calls: async <C extends CallSummary = CallSummary>(user = 'olivia'): Promise<C[]> => {
      return (await rig.api(user, 'GET', '/v1/calls')).body.calls as C[];
    },
    talking: async (agent, queue) => {
      const call = await rig.sim.dialIn({
        args: ['dispatch', agent, '10', ...(queue === undefined ? [] : [queue])],
        callerNumber: '5550100',
      });
      let id = '';
      await until(
        async () => {
          const c = (await rig.calls()).find((x) => x.agent === agent && x.state === 'talking');
          id = c?.id ?? '';
          return c !== undefined;
        },
        5000,
        `${agent} talking`,
      );
      return { call, id };
    },
    clean: async (agents) => {
      const s = rig.sim;
      s.faults.clear();
      for (const c of s.pbx.channels()) s.pbx.remoteHangup(c.id, 16);
      await until(() => s.pbx.channels().length === 0 && s.pbx.bridges().length === 0, 3000, 'PBX clean');
      for (const u of agents) await until(async () => (await rig.store.leaseHolder(`agent:${u}`)) === null, 3000, `${u} free`);
    },
  };
  return rig;
}
