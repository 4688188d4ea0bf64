/**
 * Ring-all dispatch under load. The simulator runs in its own worker thread (bench/sim-worker.ts):
 * it has a core of its own, its heap is not counted as agentgate's, and it times latencies on its
 * own clock. agentgate runs in the main thread, talking to it over real ARI sockets.
 * 1. 1,000 concurrent dispatches (BENCH_DISPATCH_CONCURRENT), 3 addresses each: all ring at once,
 *    then one leg of each answers (spread over 5 s) while the two others ring on. agentgate's own
 *    latency from the winning leg's Dial ANSWER leaving the simulator to its ChannelEnteredBridge,
 *    and to the last loser's ChannelDestroyed; p50/p99. Run twice: with the memory Store, then with
 *    Redis as the Store (the claim of each answer goes to Redis on that path), each with a fresh
 *    simulator. Goal: answer→bridged p99 <= 5 ms with either Store.
 * 2. Dispatches in a row (50 at a time; answer at once, the caller hangs up once bridged): heap
 *    after 10k and after BENCH_DISPATCH_TOTAL (default 100k), after gc. Goal: <= 5% growth.
 * 3. Dispatches per second sustained with Redis as the Store (10 s, same pattern).
 */
import { validateConfig } from '../src/config/load.js';
import { createPolicyHolder } from '../src/app/policy-holder.js';
import { startDispatchService, type DispatchService } from '../src/app/dispatch-service.js';
import { createAriCallControl } from '../src/adapters/ari/call-control.js';
import { createMemoryStore } from '../src/adapters/store/memory.js';
import { createRedisStore } from '../src/adapters/store/redis.js';
import { systemClock } from '../src/ports/clock.js';
import { silentLogger } from '../src/log.js';
import type { Store } from '../src/ports/store.js';
import { deleteRedisPrefix, nowMs, summary } from './support.js';
import { startSimWorker } from './sim-thread.js';

const AGENTS = Number(process.env.BENCH_DISPATCH_CONCURRENT ?? 1000);
const REDIS_URL = process.env.AGENTGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** What BENCHMARKS.md says above this scenario's figures. */
export const NOTES = `Ring-all dispatch against the simulator (in a worker thread of its own, over real ARI sockets).
Latencies are measured on the simulator's clock from the winning leg's Dial ANSWER to its
ChannelEnteredBridge (answer→bridged) and to the last losing leg's ChannelDestroyed, with 1,000
calls ringing 3 addresses each at once, first with the memory Store, then with Redis as the Store.
Goal: answer→bridged p99 ≤ 5 ms with either.`;

async function startAgentgate(ariUrl: string, store: Store): Promise<DispatchService> {
  const users = Array.from({ length: AGENTS }, (_, i) => ({
    id: `a${i}`,
    name: `Agent ${i}`,
    role: 'agent',
    scope: 'call_center_agent',
    addresses: [`PJSIP/a${i}x1`, `PJSIP/a${i}x2`, `PJSIP/a${i}x3`],
    flags: { inbound: true },
  }));
  const config = validateConfig({
    instance: { id: 'bench' },
    servers: [{ name: 'pbx1', ari: { url: ariUrl, username: 'agentgate', password: 'secret', restTimeoutMs: 10_000 } }],
    dispatch: { ringTimeoutSec: 60 },
    directory: { users },
  });
  return startDispatchService({
    server: config.servers[0]!,
    calls: createAriCallControl({ ...config.servers[0]!.ari!, logger: silentLogger() }),
    dispatch: config.dispatch,
    store,
    policy: createPolicyHolder(config.directory),
    clock: systemClock(),
    logger: silentLogger(),
    instanceId: 'bench',
  });
}

interface Concurrent {
  concurrent: number;
  bridged: number;
  answerToBridgedMs: ReturnType<typeof summary>;
  answerToLastLoserHungUpMs: ReturnType<typeof summary>;
}

async function concurrent(store: Store): Promise<Concurrent> {
  const sim = await startSimWorker(true);
  await sim.request({ op: 'script', agents: AGENTS, answerAfter: 'spread' }, 'scripted');
  const svc = await startAgentgate(sim.ariUrl, store);
  const bridged = new Set<string>();
  sim.onBridged((id) => bridged.add(id));
  const calls = await Promise.all(Array.from({ length: AGENTS }, (_, i) => sim.dial(`a${i}`)));
  const end = Date.now() + 60_000;
  while (bridged.size < AGENTS && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 500)); // the last losers' hang-ups
  const lat = (await sim.request({ op: 'latencies', reqId: -1 }, 'latencies')) as { toBridge: number[]; toLastLoser: number[] };
  for (const c of calls) sim.worker.postMessage({ op: 'hangup', callId: c });
  await new Promise((r) => setTimeout(r, 1000));
  await svc.stop();
  await sim.request({ op: 'stop' }, 'stopped');
  await sim.worker.terminate();
  return {
    concurrent: AGENTS,
    bridged: bridged.size,
    answerToBridgedMs: summary(lat.toBridge),
    answerToLastLoserHungUpMs: summary(lat.toLastLoser),
  };
}

async function inARow(
  store: Store,
  total: number,
  seconds?: number,
): Promise<{ done: number; perSec: number; heapAt10kMB?: number; heapAtEndMB?: number }> {
  const sim = await startSimWorker(false);
  await sim.request({ op: 'script', agents: AGENTS, answerAfter: 'now' }, 'scripted');
  const svc = await startAgentgate(sim.ariUrl, store);
  const bridgeWaiters = new Map<string, () => void>();
  const early = new Set<string>();
  sim.onBridged((id) => {
    const w = bridgeWaiters.get(id);
    if (w) {
      bridgeWaiters.delete(id);
      w();
    } else early.add(id);
  });
  const finishWaiters = new Map<string, () => void>();
  svc.on('finished', (f: { agentId: string }) => {
    const w = finishWaiters.get(f.agentId);
    if (w) {
      finishWaiters.delete(f.agentId);
      w();
    }
  });
  const heap = (): number => {
    (globalThis as { gc?: () => void }).gc?.();
    return process.memoryUsage().heapUsed / 2 ** 20;
  };
  let done = 0;
  let heap10k: number | undefined;
  let gate: Promise<void> | undefined;
  const t0 = nowMs();
  const end = seconds === undefined ? Infinity : t0 + seconds * 1000;
  await Promise.all(
    Array.from({ length: 50 }, async (_, w) => {
      const agent = `a${w}`;
      while (done < total && nowMs() < end) {
        if (gate) await gate;
        const callId = await sim.dial(agent);
        if (!early.delete(callId)) await new Promise<void>((r) => bridgeWaiters.set(callId, r));
        const fin = new Promise<void>((r) => finishWaiters.set(agent, r));
        sim.worker.postMessage({ op: 'hangup', callId });
        await fin;
        done++;
        if (done === 10_000 && heap10k === undefined && seconds === undefined) {
          let open!: () => void;
          gate = new Promise((r) => (open = r));
          await new Promise((r) => setTimeout(r, 300));
          heap10k = heap();
          if (process.env.BENCH_HEAP_SNAPSHOT)
            (await import('node:v8')).writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}-10k.heapsnapshot`);
          gate = undefined;
          open();
        }
      }
    }),
  );
  const secs = (nowMs() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 300));
  const heapEnd = seconds === undefined ? heap() : undefined;
  if (process.env.BENCH_HEAP_SNAPSHOT && seconds === undefined)
    (await import('node:v8')).writeHeapSnapshot(`${process.env.BENCH_HEAP_SNAPSHOT}-end.heapsnapshot`);
  await svc.stop();
  await sim.request({ op: 'stop' }, 'stopped');
  await sim.worker.terminate();
  return {
    done,
    perSec: Math.round(done / secs),
    heapAt10kMB: heap10k === undefined ? undefined : +heap10k.toFixed(1),
    heapAtEndMB: heapEnd === undefined ? undefined : +heapEnd.toFixed(1),
  };
}

async function withRedis<T>(name: string, f: (store: Store) => Promise<T>): Promise<T> {
  const prefix = `agbench-${name}-${process.pid}`;
  const store = await createRedisStore({ url: REDIS_URL, prefix, clock: systemClock() });
  try {
    return await f(store);
  } finally {
    await store.close();
    await deleteRedisPrefix(REDIS_URL, prefix);
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const line = (store: string, c: Concurrent): void =>
    void process.stdout.write(
      `dispatch: ${c.bridged}/${c.concurrent} concurrent × 3 addresses, ${store} Store — answer→bridged ${JSON.stringify(c.answerToBridgedMs)} ms, answer→last loser hung up ${JSON.stringify(c.answerToLastLoserHungUpMs)} ms\n`,
    );
  let cm: Concurrent | undefined;
  let cr: Concurrent | undefined;
  if (!process.env.BENCH_SKIP_CONCURRENT) {
    cm = await concurrent(createMemoryStore({ clock: systemClock() }));
    line('memory', cm);
    cr = await withRedis('c', (store) => concurrent(store));
    line('Redis', cr);
  }
  const total = Number(process.env.BENCH_DISPATCH_TOTAL ?? 100_000);
  // The memory Store keeps the last 1,000 audit records here (production keeps the audit in Redis).
  const mem = await inARow(createMemoryStore({ clock: systemClock(), auditMaxLength: 1000 }), total);
  const growth = mem.heapAt10kMB && mem.heapAtEndMB ? ((mem.heapAtEndMB - mem.heapAt10kMB) / mem.heapAt10kMB) * 100 : NaN;
  process.stdout.write(
    `dispatch: ${mem.done} in a row (memory Store) at ${mem.perSec}/s; heap ${mem.heapAt10kMB} MB after 10k, ${mem.heapAtEndMB} MB after ${mem.done} (${growth.toFixed(1)}% growth)\n`,
  );
  const seconds = Number(process.env.BENCH_DISPATCH_REDIS_SECONDS ?? 10);
  const r = await withRedis('r', (store) => inARow(store, Infinity, seconds));
  process.stdout.write(`dispatch: ${r.perSec} dispatches/s sustained with Redis as the Store\n`);
  const goal = (c: Concurrent | undefined): string =>
    c === undefined ? 'skipped' : c.bridged === c.concurrent && c.answerToBridgedMs.p99 <= 5 ? 'met' : 'MISSED';
  return {
    concurrentMemoryStore: cm ?? 'skipped',
    concurrentRedisStore: cr ?? 'skipped',
    inARow: {
      total: mem.done,
      perSec: mem.perSec,
      heapAfter10kMB: mem.heapAt10kMB,
      heapAtEndMB: mem.heapAtEndMB,
      heapGrowthPct: +growth.toFixed(1),
    },
    redisDispatchesPerSec: r.perSec,
    goals: {
      answerToBridgedP99MemoryStore: goal(cm),
      answerToBridgedP99RedisStore: goal(cr),
      heapGrowth: growth <= 5 ? 'met' : Number.isNaN(growth) ? 'not measured (fewer than 10,000 in a row)' : 'MISSED',
    },
  };
}
