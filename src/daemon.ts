/**
 * The composition root: the one place that knows every adapter. It builds the Store, the policy in
 * force, the queue service (AMI), one dispatch service per Asterisk server (ARI) and the HTTP API,
 * and stops them in reverse order. Nothing else imports adapters of another kind.
 */
import type { Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import type { Config } from './config/load.js';
import { createLogger } from './log.js';
import { systemClock, type Clock } from './ports/clock.js';
import type { Store } from './ports/store.js';
import { createStore } from './adapters/store/create-store.js';
import { createPolicyHolder, type PolicyHolder } from './app/policy-holder.js';
import { parsePolicyDoc } from './domain/policy/index.js';
import { startQueueService, type QueueService } from './app/queue-service.js';
import { createAuditTrail } from './app/audit-trail.js';
import { createAriChannelLookup } from './adapters/ari/channel-lookup.js';
import { startDispatchService, type DispatchService } from './app/dispatch-service.js';
import { startInstanceHeartbeat, type InstanceHeartbeat } from './app/instance-heartbeat.js';
import { createTokenService, type TokenService } from './app/tokens.js';
import { buildHttpServer, type Readiness } from './adapters/http/server.js';
import { createPrometheusMetrics, type PrometheusMetrics } from './adapters/metrics/prometheus.js';

export interface DaemonOptions {
  logger?: Logger;
  clock?: Clock;
  /** Use this Store instead of the one the config names (tests, the demo). Not closed by stop(). */
  store?: Store;
  /** How often to look for a newer policy version written by another instance. */
  policyPollMs?: number;
  /** How long readiness waits for the Store to answer (default 1000 ms). */
  readyTimeoutMs?: number;
  /**
   * Called when the daemon cannot go on safely (another process took its instance id); the caller
   * should stop it and exit non-zero. Without it, the daemon stops itself.
   */
  onFatal?: (err: Error) => void;
}

export interface Daemon {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly policy: PolicyHolder;
  readonly queue: QueueService;
  readonly dispatch: ReadonlyMap<string, DispatchService>;
  readonly tokens: TokenService;
  readonly heartbeat: InstanceHeartbeat;
  readonly http: FastifyInstance | undefined;
  /** `http://host:port` once listening, else undefined. */
  readonly httpUrl: string | undefined;
  /** This daemon's metrics (its own prom-client registry, served at /metrics). */
  readonly metrics: PrometheusMetrics;
  /** What /readyz answers: every component up, else which one fails and why. */
  health(): Promise<Readiness>;
  stop(): Promise<void>;
}

/**
 * The policy in force: the newest of the Store's versioned document and the config's directory.
 * The config seeds the Store on first start; after that, admin changes (HTTP) live in the Store and
 * survive restarts, and every instance picks them up.
 */
async function loadPolicy(config: Config, store: Store, logger: Logger): Promise<PolicyHolder> {
  const stored = await store.getPolicy();
  if (stored === null) {
    const put = await store.putPolicy(0, config.directory);
    if (!put.ok) return loadPolicy(config, store, logger); // another instance seeded it first
    logger.info({ version: put.version }, 'policy seeded from the config directory');
    return createPolicyHolder(config.directory, put.version);
  }
  const parsed = parsePolicyDoc(stored.doc);
  if (!parsed.ok) {
    logger.error({ version: stored.version, errors: parsed.errors.slice(0, 5) }, 'policy in the Store is invalid; using the config directory');
    return createPolicyHolder(config.directory, 0);
  }
  logger.info({ version: stored.version }, 'policy loaded from the Store');
  return createPolicyHolder(parsed.value, stored.version);
}

/**
 * Ready = the Store answers within timeoutMs, every AMI connection is up (the AMI client drops a
 * peer that stops answering its keepalive) and every ARI websocket is up (the ARI adapter drops one
 * that stops answering its ping). Config API tokens live in memory, so a Redis that restarted empty
 * does not lock anyone out once it answers again.
 */
async function readiness(deps: { store: Store; queue: QueueService; dispatch: ReadonlyMap<string, DispatchService>; policy: PolicyHolder; timeoutMs: number }): Promise<Readiness> {
  const failing: Readiness['failing'] = [];
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const storeState = await Promise.race([
    deps.store.leaseHolder('readyz').then(
      () => ({ ok: true as const, ms: Date.now() - started }),
      (err: unknown) => ({ ok: false as const, error: err instanceof Error ? err.message : String(err) }),
    ),
    new Promise<{ ok: false; error: string }>((resolve) => {
      timer = setTimeout(() => resolve({ ok: false, error: `no answer within ${deps.timeoutMs} ms` }), deps.timeoutMs);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
  if (!storeState.ok) failing.push({ component: 'store', reason: `the Store (Redis) does not answer: ${storeState.error}` });
  const ami = deps.queue.connections();
  for (const c of ami) if (!c.connected) failing.push({ component: `ami:${c.server}`, reason: `AMI connection to ${c.server} is down` });
  const ari = [...deps.dispatch].map(([server, svc]) => ({ server, connected: svc.connected(), active: svc.active() }));
  for (const c of ari) if (!c.connected) failing.push({ component: `ari:${c.server}`, reason: `ARI websocket to ${c.server} is down` });
  return { ok: failing.length === 0, failing, components: { store: storeState, ami, ari, policyVersion: deps.policy.current().version } };
}

export async function startDaemon(config: Config, opts: DaemonOptions = {}): Promise<Daemon> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const clock = opts.clock ?? systemClock();
  const instanceId = config.instance.id;
  const log = logger.child({ component: 'daemon', instance: instanceId });
  const ownStore = opts.store === undefined;
  const metrics = createPrometheusMetrics();
  const store = opts.store ?? (await createStore(config, { clock, logger, metrics }));
  const stops: Array<() => Promise<void>> = [];
  if (ownStore) stops.push(() => store.close());

  try {
    // First: a second process with this instance id is refused before it touches any call.
    const heartbeat = await startInstanceHeartbeat({ store, clock, logger, instanceId, ttlMs: config.instance.leaseTtlMs, idFromHost: config.instance.idFromHost });
    stops.push(() => heartbeat.stop());

    const policy = await loadPolicy(config, store, log);
    const pollMs = opts.policyPollMs ?? 2000;
    const poll = setInterval(() => {
      store.getPolicy().then(
        (p) => {
          if (p === null || p.version <= policy.current().version) return;
          const parsed = parsePolicyDoc(p.doc);
          if (!parsed.ok) return log.error({ version: p.version }, 'newer policy in the Store is invalid; keeping the current one');
          policy.replace(parsed.value, p.version);
          log.info({ version: p.version }, 'policy updated from the Store');
        },
        (err: unknown) => log.warn({ err }, 'policy poll failed'),
      );
    }, pollMs);
    poll.unref();
    stops.push(async () => clearInterval(poll));

    // One audit trail for the use cases: records the Store refuses wait in it, in order.
    const audit = createAuditTrail({ store, logger, metrics });
    stops.push(() => audit.stop());
    // Feature-code UserEvents are believed only after ARI shows their channel (servers with ARI).
    const channels = createAriChannelLookup(config.servers.map((s) => ({ name: s.name, ari: s.ari })));
    stops.push(async () => channels.close());
    const queue = await startQueueService({ servers: config.servers, store, policy, clock, logger, instanceId, channels, featureContexts: config.featureCodes.contexts, audit, metrics });
    stops.push(() => queue.stop());

    const dispatch = new Map<string, DispatchService>();
    for (const server of config.servers) {
      if (server.ari === undefined) continue;
      const svc = await startDispatchService({
        server,
        dispatch: config.dispatch,
        store,
        policy,
        clock,
        logger,
        instanceId,
        featureHandler: queue.featureHandler,
        leaseTtlMs: config.instance.leaseTtlMs,
        heartbeat,
        audit,
        metrics,
      });
      dispatch.set(server.name, svc);
      stops.push(() => svc.stop());
    }

    const tokens = createTokenService({ store, clock });
    await tokens.seed(config.tokens);

    const health = (): Promise<Readiness> => readiness({ store, queue, dispatch, policy, timeoutMs: opts.readyTimeoutMs ?? 1000 });

    let http: FastifyInstance | undefined;
    let httpUrl: string | undefined;
    if (config.http.enabled) {
      http = await buildHttpServer({ config, queue, policy, store, tokens, clock, logger, health, metrics });
      httpUrl = await http.listen({ host: config.http.host, port: config.http.port });
      const server = http;
      stops.push(() => server.close());
      log.info({ url: httpUrl }, 'HTTP API listening');
    }

    log.info({ servers: config.servers.map((s) => s.name), store: config.store.redis ? 'redis' : 'memory' }, 'agentgate started');
    let stopped = false;
    let daemon: Daemon | undefined;
    heartbeat.on('conflict', (err: Error) => {
      log.fatal({ err: { message: err.message } }, 'stopping: another agentgate runs with this instance id');
      if (opts.onFatal) opts.onFatal(err);
      else daemon?.stop().catch(() => undefined);
    });
    daemon = {
      config,
      logger,
      store,
      policy,
      queue,
      dispatch,
      tokens,
      heartbeat,
      http,
      httpUrl,
      metrics,
      health,
      async stop() {
        if (stopped) return;
        stopped = true;
        for (const stop of stops.reverse()) {
          try {
            await stop();
          } catch (err) {
            log.warn({ err }, 'error while stopping');
          }
        }
        log.info('agentgate stopped');
      },
    };
    return daemon;
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}
