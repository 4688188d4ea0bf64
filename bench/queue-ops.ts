/**
 * HTTP → policy → AMI (simulator) → response, with the audit in Redis, driven by autocannon:
 * POST /v1/queue/pause and /unpause (alternating bodies) for an agent logged into a queue.
 * The simulator runs in a worker thread of its own (Asterisk has its own CPU in production); the
 * load generator in another; agentgate's HTTP server, policy and AMI client in the main thread. Goal: >= 5,000 ops/s with p99 <= 20 ms on 2 cores.
 */
import autocannon from 'autocannon';
import { startSimWorker } from './sim-thread.js';
import { validateConfig } from '../src/config/load.js';
import { startDaemon } from '../src/daemon.js';
import { createRedisStore } from '../src/adapters/store/redis.js';
import { systemClock } from '../src/ports/clock.js';
import { silentLogger } from '../src/log.js';
import { deleteRedisPrefix } from './support.js';

export async function run(): Promise<Record<string, unknown>> {
  const sim = await startSimWorker(false);
  const redisUrl = process.env.AGENTGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `agbench-q-${process.pid}`;
  const store = await createRedisStore({ url: redisUrl, prefix, clock: systemClock(), auditMaxLength: 100_000 });
  const config = validateConfig({
    instance: { id: 'bench-q' },
    servers: [{ name: 'pbx1', ami: { host: '127.0.0.1', port: sim.amiPort, username: 'agentgate', secret: 'secret' } }],
    http: { enabled: true, host: '127.0.0.1', port: 0, rateLimit: { max: 1_000_000, timeWindowMs: 1000 } },
    directory: {
      users: [
        { id: 'alice', name: 'Alice', role: 'agent', scope: 'call_center_agent', groups: ['team'], extensions: ['1001'] },
        { id: 'sam', name: 'Sam', role: 'supervisor', scope: 'call_center_supervisor' },
      ],
      groups: [{ id: 'team', members: ['alice'], supervisors: ['sam'] }],
      extensions: [{ id: '1001', interface: 'PJSIP/1001' }],
      queues: [{ id: 'support' }],
      grants: [
        {
          id: 'sam-team',
          subject: 'user:sam',
          actions: ['login', 'logout', 'pause', 'unpause', 'penalty'],
          targets: ['group:team', 'queue:support'],
        },
      ],
    },
  });
  const daemon = await startDaemon(config, { store, logger: silentLogger() });
  const token = await daemon.tokens.issue('sam', 'bench');
  await daemon.queue.execute({ actor: 'sam', action: 'login', extension: '1001', queue: 'support', source: 'dialplan' });
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const body = JSON.stringify({ extension: '1001', queue: 'support', reason: 'bench' });
  const opts = {
    url: daemon.httpUrl!,
    connections: Number(process.env.BENCH_CONNECTIONS ?? 32),
    pipelining: 1,
    // The load generator runs in its own thread, so it does not eat agentgate's core.
    workers: 1,
    requests: [
      { method: 'POST' as const, path: '/v1/queue/pause', headers, body },
      { method: 'POST' as const, path: '/v1/queue/unpause', headers, body: JSON.stringify({ extension: '1001', queue: 'support' }) },
    ],
  };
  await autocannon({ ...opts, duration: 2 }); // warm-up
  const r = await autocannon({ ...opts, duration: 10 });
  const auditKept = (await store.queryAudit({ kind: 'queue-op', limit: 5 })).length;
  await daemon.stop();
  await store.close();
  await deleteRedisPrefix(redisUrl, prefix);
  await sim.request({ op: 'stop' }, 'stopped');
  await sim.worker.terminate();
  const figures = {
    connections: opts.connections,
    opsPerSec: Math.round(r.requests.average),
    latencyP50Ms: r.latency.p50,
    latencyP99Ms: r.latency.p99,
    non2xx: r.non2xx,
    errors: r.errors,
    auditWritten: auditKept > 0,
    goals: { opsPerSec: r.requests.average >= 5000 ? 'met' : 'MISSED', p99: r.latency.p99 <= 20 ? 'met' : 'MISSED' },
  };
  process.stdout.write(
    `queue-ops: ${figures.opsPerSec} ops/s, p50 ${figures.latencyP50Ms} ms, p99 ${figures.latencyP99Ms} ms (HTTP → policy → AMI → Redis audit, ${opts.connections} connections, 10 s); non-2xx ${r.non2xx}\n`,
  );
  return figures;
}
