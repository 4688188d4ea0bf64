/**
 * The heartbeat lease of one agentgate instance (`instance:<id>` in the Store), renewed at half its
 * TTL while the process lives. Other instances read it to tell a dead instance (lease expired: adopt
 * its dispatches, src/app/adopt-dispatches.ts) from a live one.
 *
 * It also keeps instance ids unique, since two live processes with one id would each clean up the
 * other's calls as "left from before":
 * - at start, a lease held by a process of this host that no longer runs (the daemon crashed and was
 *   restarted, with the default id = host name) is taken over at once;
 * - held by a live process of this host → refused (AGENTGATE_ERR_INSTANCE_ID_IN_USE, telling the admin
 *   to set `instance.id`);
 * - held from another host → wait one TTL: a dead holder's lease expires and is taken, a renewed one
 *   means a live twin → refused.
 * At run time a renewal that finds the lease held by another process is a conflict ('conflict' event:
 * the daemon stops); a lease that vanished (Redis restarted empty, or unreachable longer than the TTL)
 * is taken again ('retaken'); a Store error is reported ('renewal-failed') and retried soon. Every
 * successful renewal emits 'beat'.
 */
import { EventEmitter } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AgentgateError } from '../errors/codes.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { Store } from '../ports/store.js';

/** The Store lease key of an instance's heartbeat. */
export function instanceLeaseKey(instanceId: string): string {
  return `instance:${instanceId}`;
}

export interface InstanceHeartbeatDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  ttlMs: number;
  /** The id comes from the host name (no `instance.id` configured): said in the conflict error. */
  idFromHost?: boolean;
  /** For tests: this host's name, this process's pid, and whether a pid of this host runs. */
  host?: string;
  pid?: number;
  processAlive?: (pid: number) => boolean;
}

export interface InstanceHeartbeat extends EventEmitter {
  readonly instanceId: string;
  /** The holder string this process writes into the lease (host, pid, nonce as JSON). */
  readonly holder: string;
  /** The lease was renewed within its TTL: other instances see this one alive. */
  alive(): boolean;
  /** Stops renewing and releases the lease, so that live instances may adopt at once. */
  stop(): Promise<void>;
}

interface HolderInfo {
  host: string;
  pid: number;
  nonce: string;
}

function parseHolder(holder: string): HolderInfo | undefined {
  try {
    const h = JSON.parse(holder) as Partial<HolderInfo>;
    if (typeof h.host === 'string' && typeof h.pid === 'number' && typeof h.nonce === 'string')
      return { host: h.host, pid: h.pid, nonce: h.nonce };
  } catch {
    // not one of ours: treated as another host's
  }
  return undefined;
}

/** Whether a process with this pid runs on this host (EPERM: it does, under another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(holder: string): string {
  const h = parseHolder(holder);
  return h ? `host ${h.host}, pid ${h.pid}` : holder;
}

/** Takes the heartbeat lease (see the module comment for who wins) and renews it until stop(). */
export async function startInstanceHeartbeat(deps: InstanceHeartbeatDeps): Promise<InstanceHeartbeat> {
  const { store, clock, instanceId, ttlMs } = deps;
  const host = deps.host ?? hostname();
  const pid = deps.pid ?? process.pid;
  const isAlive = deps.processAlive ?? processAlive;
  const log = deps.logger.child({ component: 'heartbeat', instance: instanceId });
  const key = instanceLeaseKey(instanceId);
  const me = JSON.stringify({ host, pid, nonce: randomUUID().slice(0, 8) } satisfies HolderInfo);
  const hint = deps.idFromHost
    ? `instance.id is not set, so both use the host name; give each daemon its own instance.id in its config`
    : `give each daemon its own instance.id in its config`;
  const inUse = (holder: string): AgentgateError =>
    new AgentgateError('AGENTGATE_ERR_INSTANCE_ID_IN_USE', { id: instanceId, holder: describe(holder), hint });
  const sleep = (ms: number): Promise<void> => new Promise((r) => clock.setTimer(ms, r));

  let waiting: { holder: string; deadline: number } | undefined;
  for (;;) {
    const r = await store.acquireLease(key, me, ttlMs);
    if (r.ok) break;
    const other = parseHolder(r.holder);
    if (other && other.host === host) {
      if (other.pid !== pid && isAlive(other.pid)) throw inUse(r.holder);
      // Our own host, that process is gone (crash, kill -9, container restart with the same pid):
      // this process is the same instance and takes its work over now instead of waiting a TTL.
      log.info({ previous: describe(r.holder) }, 'the previous process with this instance id is gone; taking over');
      await store.releaseLease(key, r.holder);
      continue;
    }
    // Another host: a dead holder's lease expires within one TTL; still held after that, it is renewed.
    if (waiting?.holder !== r.holder) {
      waiting = { holder: r.holder, deadline: clock.now() + ttlMs + Math.ceil(ttlMs / 2) };
      log.warn(
        { holder: describe(r.holder), waitMs: waiting.deadline - clock.now() },
        'instance id held from another host; waiting to see whether it is still alive',
      );
    } else if (clock.now() >= waiting.deadline) throw inUse(r.holder);
    await sleep(Math.max(100, Math.floor(ttlMs / 4)));
  }

  const emitter = new EventEmitter() as InstanceHeartbeat;
  let lastOk = clock.now();
  let timer: TimerHandle | undefined;
  let stopped = false;
  let released = false;
  let failing = false;
  const schedule = (ms: number): void => {
    if (stopped) return;
    timer = clock.setTimer(ms, () => {
      tick().catch((err: unknown) => log.error({ err }, 'heartbeat tick failed'));
    });
  };
  const ok = (): void => {
    lastOk = clock.now();
    if (failing) log.info('heartbeat renewed again');
    failing = false;
    schedule(Math.floor(ttlMs / 2));
    // After each renewal, not on a timer of their own: work leases (agent claims, dispatch records)
    // are renewed only while this instance's heartbeat holds, so none outlives a lost heartbeat.
    emitter.emit('beat');
  };
  async function tick(): Promise<void> {
    if (stopped) return;
    try {
      if (await store.renewLease(key, me, ttlMs)) return ok();
      const r = await store.acquireLease(key, me, ttlMs);
      if (r.ok) {
        log.warn('heartbeat lease was gone (Store restarted or unreachable longer than its TTL); taken again');
        emitter.emit('retaken');
        return ok();
      }
      stopped = true;
      const err = inUse(r.holder);
      log.error({ err }, 'another process took this instance id');
      emitter.emit('conflict', err);
    } catch (err) {
      if (!failing) log.warn({ err }, 'heartbeat renewal failed; retrying');
      failing = true;
      emitter.emit('renewal-failed', err);
      schedule(Math.max(100, Math.floor(ttlMs / 6)));
    }
  }
  schedule(Math.floor(ttlMs / 2));

  Object.assign(emitter, {
    instanceId,
    holder: me,
    alive: () => !stopped && clock.now() - lastOk < ttlMs,
    async stop() {
      if (released) return;
      released = true;
      stopped = true;
      if (timer) clock.cancelTimer(timer);
      await store.releaseLease(key, me).catch((err: unknown) => log.warn({ err }, 'heartbeat release failed'));
    },
  });
  log.info({ ttlMs }, 'heartbeat lease held');
  return emitter;
}
