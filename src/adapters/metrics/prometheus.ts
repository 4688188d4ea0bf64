/**
 * The Metrics port on prom-client, one Registry per daemon (never prom-client's global one: two
 * daemons in one process, as in the tests, would otherwise share and collide on every metric).
 * GET /metrics serves `registry.metrics()`. Every metric is listed in docs/metrics.md (a test checks
 * that the list and the registry agree).
 *
 * Labels take only bounded values: an action or result a client or a forged UserEvent made up is
 * counted as `other`, so nobody can grow the series count from outside.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnectionSystem, Metrics } from '../../ports/metrics.js';

export interface PrometheusMetrics extends Metrics {
  readonly registry: Registry;
  /** One HTTP request answered (route = the route pattern, never the raw URL). */
  httpRequest(e: { method: string; route: string; status: number }): void;
  /** The text exposition format, and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

export interface PrometheusMetricsOptions {
  /** prom-client's default process metrics (CPU, memory, event loop lag, GC, handles; standard names). Default true. */
  defaultMetrics?: boolean;
}

const QUEUE_ACTIONS = new Set(['login', 'logout', 'pause', 'unpause', 'penalty']);
const QUEUE_RESULTS = new Set(['ok', 'denied', 'refused', 'error', 'ami-error', 'rejected']);
const DISPATCH_RESULTS = new Set([
  'ANSWERED',
  'NOANSWER',
  'BUSY',
  'UNAVAILABLE',
  'NOAGENT',
  'TIMEOUT',
  'CALLER_HANGUP',
  'AGENT_HANGUP',
  'TRANSFERRED',
  'REQUEUED',
  'ENDED',
  'RECOVERED',
]);
const LEG_OUTCOMES = new Set(['answered', 'cancelled', 'busy', 'congestion', 'unavailable', 'noanswer', 'failed']);
const CALL_ACTIONS = new Set(['hold', 'unhold', 'hangup', 'end', 'transfer', 'directTransfer', 'requeue', 'crossQueueRequeue']);
const CALL_OUTCOMES = new Set(['allowed', 'refused', 'failed']);
const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
const bounded = (known: ReadonlySet<string>, v: string): string => (known.has(v) ? v : 'other');

export function createPrometheusMetrics(opts: PrometheusMetricsOptions = {}): PrometheusMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const dispatches = new Counter({
    name: 'agentgate_dispatches_total',
    help: 'Ring-all dispatches ended, by server and result',
    labelNames: ['server', 'result'],
    registers,
  });
  const ringTime = new Histogram({
    name: 'agentgate_dispatch_ring_seconds',
    help: 'Time a dispatch rang: start to the winning answer, or start to the end when nobody answered',
    labelNames: ['server', 'answered'],
    buckets: [0.5, 1, 2, 3, 5, 8, 10, 15, 20, 30, 45, 60, 90, 120, 300],
    registers,
  });
  const bridgeTime = new Histogram({
    name: 'agentgate_dispatch_answer_to_bridged_seconds',
    help: 'Time from the winning leg answering to the caller being bridged with it',
    labelNames: ['server'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const legs = new Counter({
    name: 'agentgate_dispatch_legs_total',
    help: 'Legs (one per address rung) of ended dispatches, by how they ended',
    labelNames: ['server', 'outcome'],
    registers,
  });
  const queueOps = new Counter({
    name: 'agentgate_queue_operations_total',
    help: 'Queue operations by action, result (ok, denied, refused, error, ami-error, rejected) and source',
    labelNames: ['action', 'result', 'source'],
    registers,
  });
  const decisions = new Counter({
    name: 'agentgate_policy_decisions_total',
    help: 'Policy decisions that gated an operation, by action and result (allowed, denied)',
    labelNames: ['action', 'result'],
    registers,
  });
  const connected = new Gauge({
    name: 'agentgate_connection_up',
    help: 'Connection state (1 up, 0 down) to ARI, AMI (per server) and Redis',
    labelNames: ['system', 'server'],
    registers,
  });
  const reconnects = new Counter({
    name: 'agentgate_reconnects_total',
    help: 'Connections to ARI, AMI or Redis that came back after being lost',
    labelNames: ['system', 'server'],
    registers,
  });
  const auditFailures = new Counter({
    name: 'agentgate_audit_write_failures_total',
    help: 'Audit writes the Store refused (first attempts and retries)',
    registers,
  });
  const auditDropped = new Counter({
    name: 'agentgate_audit_records_dropped_total',
    help: 'Audit records not kept because the buffer was full (they are in the log only)',
    registers,
  });
  const http = new Counter({
    name: 'agentgate_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    registers,
  });

  const callActions = new Counter({
    name: 'agentgate_call_actions_total',
    help: 'Call actions (hold, unhold, hangup, end, transfer, requeue...) by action and outcome (allowed, refused, failed)',
    labelNames: ['action', 'outcome'],
    registers,
  });
  const phoneHolds = new Counter({
    name: 'agentgate_phone_hold_without_flag_total',
    help: "Calls an agent's phone put on hold although the agent has no hold flag (policy violations)",
    registers,
  });
  const callWatches = new Map<number, { onHold: () => number; holdTooLong: () => number }>();
  new Gauge({
    name: 'agentgate_calls_on_hold',
    help: 'Calls this instance drives that are on hold now',
    registers,
    collect() {
      let n = 0;
      for (const w of callWatches.values()) n += w.onHold();
      this.set(n);
    },
  });
  new Gauge({
    name: 'agentgate_calls_on_hold_too_long',
    help: 'Calls this instance drives that are on hold longer than calls.holdAlertSec now',
    registers,
    collect() {
      let n = 0;
      for (const w of callWatches.values()) n += w.holdTooLong();
      this.set(n);
    },
  });

  let nextWatch = 0;
  const dispatchWatches = new Map<number, { server: string; calls: () => number; claims: () => number }>();
  const auditWatches = new Map<number, () => number>();
  const sumByServer = (pick: (w: { calls: () => number; claims: () => number }) => number): Map<string, number> => {
    const out = new Map<string, number>();
    for (const w of dispatchWatches.values()) out.set(w.server, (out.get(w.server) ?? 0) + pick(w));
    return out;
  };
  new Gauge({
    name: 'agentgate_live_calls',
    help: 'Calls this instance drives now (ringing, bridging or talking), by server',
    labelNames: ['server'],
    registers,
    collect() {
      this.reset();
      for (const [server, n] of sumByServer((w) => w.calls())) this.set({ server }, n);
    },
  });
  new Gauge({
    name: 'agentgate_agent_claims',
    help: 'Agent claims (one call at a time per agent) this instance holds now, by server',
    labelNames: ['server'],
    registers,
    collect() {
      this.reset();
      for (const [server, n] of sumByServer((w) => w.claims())) this.set({ server }, n);
    },
  });
  new Gauge({
    name: 'agentgate_audit_records_buffered',
    help: 'Audit records waiting in memory for the Store to take them',
    registers,
    collect() {
      let n = 0;
      for (const read of auditWatches.values()) n += read();
      this.set(n);
    },
  });

  /** Per connection: has it ever been up, and is it up now (a reconnect is up → down → up). */
  const links = new Map<string, { everUp: boolean; up: boolean }>();

  return {
    registry,
    dispatchFinished(e) {
      dispatches.inc({ server: e.server, result: bounded(DISPATCH_RESULTS, e.result) });
      if (e.ringMs !== undefined)
        ringTime.observe({ server: e.server, answered: e.result === 'ANSWERED' ? 'true' : 'false' }, Math.max(0, e.ringMs) / 1000);
      for (const o of e.legOutcomes) legs.inc({ server: e.server, outcome: bounded(LEG_OUTCOMES, o) });
    },
    dispatchBridged(e) {
      bridgeTime.observe({ server: e.server }, Math.max(0, e.ms) / 1000);
    },
    queueOperation(e) {
      queueOps.inc({
        action: bounded(QUEUE_ACTIONS, e.action),
        result: bounded(QUEUE_RESULTS, e.result),
        source: e.source === 'http' ? 'http' : 'dialplan',
      });
    },
    policyDecision(e) {
      decisions.inc({ action: bounded(QUEUE_ACTIONS, e.action), result: e.allowed ? 'allowed' : 'denied' });
    },
    connection(e: { system: ConnectionSystem; server: string; up: boolean }) {
      const key = `${e.system}\u0000${e.server}`;
      const link = links.get(key) ?? { everUp: false, up: false };
      if (e.up && !link.up && link.everUp) reconnects.inc({ system: e.system, server: e.server });
      if (e.up) link.everUp = true;
      link.up = e.up;
      links.set(key, link);
      connected.set({ system: e.system, server: e.server }, e.up ? 1 : 0);
    },
    auditWriteFailed: () => auditFailures.inc(),
    auditDropped: () => auditDropped.inc(),
    watchDispatch(server, read) {
      const id = nextWatch++;
      dispatchWatches.set(id, { server, ...read });
      return () => dispatchWatches.delete(id);
    },
    callAction(e) {
      callActions.inc({ action: bounded(CALL_ACTIONS, e.action), outcome: bounded(CALL_OUTCOMES, e.outcome) });
    },
    phoneHoldWithoutFlag: () => phoneHolds.inc(),
    watchCalls(read) {
      const id = nextWatch++;
      callWatches.set(id, read);
      return () => callWatches.delete(id);
    },
    watchAudit(buffered) {
      const id = nextWatch++;
      auditWatches.set(id, buffered);
      return () => auditWatches.delete(id);
    },
    httpRequest(e) {
      http.inc({ method: bounded(METHODS, e.method), route: e.route, status: String(e.status) });
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}
