/**
 * The fault suite's rig: a simulator (its AMI on a port of its own, so it can be stopped and started
 * again where the daemon reconnects), a redis-server the test owns (stopped and restarted empty), and
 * `agentgate run` as a real process with the HTTP API on. The test talks to the daemon the way a
 * client does: fetch over loopback, config tokens in the Authorization header.
 */
import { expect, vi } from 'vitest';
import { Simulator } from '../../src/sim/index.js';
import { createRedisStore } from '../../src/adapters/store/redis.js';
import { systemClock } from '../../src/ports/clock.js';
import { sha256 } from '../../src/app/tokens.js';
import type { Store } from '../../src/ports/store.js';
import { startDaemonProcess, writeConfigFile, type DaemonProcess } from './daemon-process.js';
import { OwnRedis } from './redis-server.js';
import { freePort } from './free-port.js';

/** Config tokens (the config holds their sha-256): they must keep working whatever Redis does. */
export const TOKENS = { sam: 'agt_fault-token-for-sam', alice: 'agt_fault-token-for-alice' } as const;

/**
 * alice and bob are agents of group team, each owning three extensions (1001/3/5 and 1002/4/6); sam
 * supervises team and may run every queue operation on it in queue support; alice may pause herself.
 * alice's addresses 2001-2003 and bob's 2004 are rung by `Stasis(agentgate,dispatch,<user>)`.
 */
const DIRECTORY = {
  users: [
    {
      id: 'alice',
      name: 'Alice',
      role: 'agent',
      scope: 'call_center_agent',
      groups: ['team'],
      extensions: ['1001', '1003', '1005'],
      addresses: ['PJSIP/2001', 'PJSIP/2002', 'PJSIP/2003'],
      flags: { inbound: true },
    },
    {
      id: 'bob',
      name: 'Bob',
      role: 'agent',
      scope: 'call_center_agent',
      groups: ['team'],
      extensions: ['1002', '1004', '1006'],
      addresses: ['PJSIP/2004'],
      flags: { inbound: true },
    },
    { id: 'sam', name: 'Sam', role: 'supervisor', scope: 'call_center_supervisor' },
  ],
  groups: [{ id: 'team', members: ['alice', 'bob'], supervisors: ['sam'] }],
  extensions: ['1001', '1002', '1003', '1004', '1005', '1006'].map((id) => ({ id, interface: `PJSIP/${id}` })),
  queues: [{ id: 'support' }, { id: 'sales' }],
  grants: [
    {
      id: 'sam-team',
      subject: 'user:sam',
      actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
      targets: ['group:team', 'queue:support'],
    },
    { id: 'alice-self', subject: 'user:alice', actions: ['pause', 'unpause'], targets: ['user:alice'] },
  ],
};

/** Clean-ups run in reverse order after each test, whatever failed. */
export class Cleanups {
  private readonly list: Array<() => Promise<unknown> | unknown> = [];
  add(f: () => Promise<unknown> | unknown): void {
    this.list.push(f);
  }
  async run(): Promise<void> {
    for (const f of this.list.reverse()) await Promise.resolve(f()).catch(() => undefined);
    this.list.length = 0;
  }
}

export interface Rig {
  sim: Simulator;
  redis: OwnRedis;
  /** The test's own view of the daemon's Store (same Redis, same prefix). */
  store: Store;
  cleanups: Cleanups;
}

const PREFIX = 'fault';

export async function startRig(cleanups: Cleanups): Promise<Rig> {
  const redis = await OwnRedis.start();
  cleanups.add(() => redis.destroy());
  const sim = await Simulator.start({ amiPort: await freePort() });
  cleanups.add(() => sim.stop());
  const store = await createRedisStore({ url: redis.url, prefix: PREFIX, clock: systemClock() });
  cleanups.add(() => store.close());
  return { sim, redis, store, cleanups };
}

export interface RunningDaemon extends DaemonProcess {
  /** `http://127.0.0.1:<port>` of its HTTP API. */
  url: string;
}

export interface FaultDaemonOptions {
  instance?: string;
  /** ARI keepalive (ms): a websocket that stops answering is dropped within about two of these. */
  ariPingMs?: number;
  /** AMI keepalive (ms) and action timeout (ms). */
  amiPingMs?: number;
  amiTimeoutMs?: number;
  /** false: a server without AMI (dispatch only). */
  ami?: boolean;
}

/** `agentgate run` with ARI, AMI, Redis and HTTP on; resolves once its HTTP API listens. */
export async function startFaultDaemon(rig: Rig, over: FaultDaemonOptions = {}): Promise<RunningDaemon> {
  const port = await freePort();
  const { file, remove } = writeConfigFile({
    instance: { id: over.instance ?? 'fault-1' },
    log: { level: 'info' },
    servers: [
      {
        name: 'pbx1',
        ari: {
          url: rig.sim.ariUrl,
          username: 'agentgate',
          password: 'secret',
          pingIntervalMs: over.ariPingMs ?? 1000,
          restTimeoutMs: 2000,
        },
        ...(over.ami === false
          ? {}
          : {
              ami: {
                host: '127.0.0.1',
                port: rig.sim.amiPort,
                username: 'agentgate',
                secret: 'secret',
                actionTimeoutMs: over.amiTimeoutMs ?? 1000,
                pingIntervalMs: over.amiPingMs ?? 1000,
              },
            }),
      },
    ],
    store: { redis: { url: rig.redis.url, prefix: PREFIX } },
    http: { enabled: true, host: '127.0.0.1', port, rateLimit: { max: 100_000, timeWindowMs: 1000 } },
    tokens: [
      { user: 'sam', sha256: sha256(TOKENS.sam), label: 'fault-suite' },
      { user: 'alice', sha256: sha256(TOKENS.alice), label: 'fault-suite' },
    ],
    dispatch: { answer: 'late', ringTimeoutSec: 120 },
    directory: DIRECTORY,
  });
  const d = startDaemonProcess(file);
  rig.cleanups.add(() => {
    if (d.alive()) d.child.kill('SIGKILL');
    remove();
  });
  await d.waitForOutput(/HTTP API listening/);
  return { ...d, url: `http://127.0.0.1:${port}` };
}

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
  /** When the answer arrived (Date.now()). */
  at: number;
}

/** One HTTP request as a client sends it (JSON body, Bearer token), bounded in time. */
export async function api(
  url: string,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  opts: { token?: string; body?: unknown } = {},
): Promise<ApiAnswer> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: res.status, body, at: Date.now() };
}

/** GET /readyz: its status and the components it names as failing. */
export async function readyz(url: string): Promise<{ status: number; failing: string[]; body: Record<string, unknown> }> {
  const r = await api(url, 'GET', '/readyz');
  const failing = ((r.body.failing ?? []) as Array<{ component: string }>).map((f) => f.component);
  return { status: r.status, failing, body: r.body };
}

/**
 * Polls /readyz until it answers `status` naming exactly `failing`; returns when it first did. A
 * refused connection (the API not listening yet) counts as "not yet".
 */
export async function readyzBecomes(url: string, status: number, failing: string[], timeoutMs: number): Promise<number> {
  return vi.waitFor(
    async () => {
      const last = await readyz(url).catch((err: unknown) => ({ status: 0, failing: [], body: { error: (err as Error).message } }));
      if (last.status === status && JSON.stringify(last.failing) === JSON.stringify(failing)) return Date.now();
      throw new Error(
        `/readyz did not become ${status} ${JSON.stringify(failing)} within ${timeoutMs} ms; last: ${last.status} ${JSON.stringify(last.body)}`,
      );
    },
    { timeout: timeoutMs, interval: 25 },
  );
}

/** Nothing crashed it: it is alive, and SIGTERM stops it with exit code 0. */
export async function cleanStop(d: DaemonProcess): Promise<void> {
  expect(d.alive(), `the daemon died:\n${d.output()}`).toBe(true);
  d.child.kill('SIGTERM');
  await d.exited();
  expect(d.child.exitCode, d.output()).toBe(0);
}

/** The AMI queue actions the simulator received (Ping and Login left out), in order. */
export function queueActions(sim: Simulator): Array<{ action: string; interface: string | undefined; connection: number }> {
  return sim.ami.received
    .filter((a) => /^Queue(Add|Remove|Pause|Penalty)$/i.test(a.action))
    .map((a) => ({ action: a.action, interface: a.headers.find(([k]) => k.toLowerCase() === 'interface')?.[1], connection: a.connection }));
}
