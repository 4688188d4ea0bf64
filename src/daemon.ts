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
import type { PolicyHolder } from './app/policy-holder.js';
import { loadPolicy, reloadDirectory, startPolicySync, type DirectoryReload } from './app/policy-sync.js';
import { diffSummary } from './app/policy-diff.js';
import { startQueueService, type QueueService } from './app/queue-service.js';
import { createAuditTrail } from './app/audit-trail.js';
import { createAriChannelLookup } from './adapters/ari/channel-lookup.js';
import { createAmiQueueControls } from './adapters/ami/queue-control.js';
import { startDispatchService, type DispatchService } from './app/dispatch-service.js';
import { createCallControl, type CallControlService } from './app/call-control.js';
import { createPhoneButtons } from './app/phone-buttons.js';
import { createAriCallControl } from './adapters/ari/call-control.js';
import { startInstanceHeartbeat, type InstanceHeartbeat } from './app/instance-heartbeat.js';
import { createTokenService, type TokenService } from './app/tokens.js';
import { buildHttpServer, type Readiness } from './adapters/http/server.js';
import { AgentgateError } from './errors/codes.js';
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
  /** The config file it was read from: named in log lines that tell the admin what to run. */
  configFile?: string;
  /**
   * Aborting it while the daemon starts (SIGTERM before ARI or AMI answered) stops what was started
   * so far and makes startDaemon reject with an error named 'AbortError'.
   */
  signal?: AbortSignal;
}

/** What a reload (SIGHUP) applied, and what it could not. */
export interface ReloadReport {
  policy: DirectoryReload;
  tokens: { added: number; removed: number };
  /** Top-level config keys that changed but apply only at the next start (servers, http, ...). */
  restartNeeded: string[];
}

/** Config keys a reload applies live; any other key that changed needs a restart. */
const LIVE_KEYS = new Set(['directory', 'tokens']);

export interface Daemon {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly policy: PolicyHolder;
  readonly queue: QueueService;
  readonly dispatch: ReadonlyMap<string, DispatchService>;
  /** Call control of the calls this instance drives (GET /v1/calls and the actions). */
  readonly calls: CallControlService;
  readonly tokens: TokenService;
  readonly heartbeat: InstanceHeartbeat;
  readonly http: FastifyInstance | undefined;
  /** `http://host:port` once listening, else undefined. */
  readonly httpUrl: string | undefined;
  /** This daemon's metrics (its own prom-client registry, served at /metrics). */
  readonly metrics: PrometheusMetrics;
  /** What /readyz answers: every component up, else which one fails and why. */
  health(): Promise<Readiness>;
  /**
   * Applies a re-read config (SIGHUP): the directory per the rule of src/app/policy-sync.ts, the
   * config's API tokens; logs what changed and which other keys need a restart. Rejects (and keeps
   * everything in force) when the Store refuses the import.
   */
  reload(next: Config): Promise<ReloadReport>;
  stop(): Promise<void>;
}

function abortError(): Error {
  const err = new Error('start aborted (stop requested while starting)');
  err.name = 'AbortError';
  return err;
}

/**
 * Ready = the Store answers within timeoutMs, every AMI connection is up (the AMI client drops a
 * peer that stops answering its keepalive) and every ARI websocket is up (the ARI adapter drops one
 * that stops answering its ping). Config API tokens live in memory, so a Redis that restarted empty
 * does not lock anyone out once it answers again.
 */
async function readiness(deps: {
  store: Store;
  queue: QueueService;
  dispatch: ReadonlyMap<string, DispatchService>;
  policy: PolicyHolder;
  timeoutMs: number;
}): Promise<Readiness> {
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
  const ari = [...deps.dispatch].map(([server, svc]) => ({
    server,
    connected: svc.connected(),
    problem: svc.ariProblem(),
    active: svc.active(),
  }));
  for (const c of ari) if (c.problem !== undefined) failing.push({ component: `ari:${c.server}`, reason: c.problem });
  return { ok: failing.length === 0, failing, components: { store: storeState, ami, ari, policyVersion: deps.policy.current().version } };
}

export async function startDaemon(config: Config, opts: DaemonOptions = {}): Promise<Daemon> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const clock = opts.clock ?? systemClock();
  const instanceId = config.instance.id;
  const log = logger.child({ component: 'daemon', instance: instanceId });
  const stops: Array<() => Promise<void>> = [];
  const signal = opts.signal;
  /**
   * A start step that a stop request (opts.signal) interrupts: the start then unwinds what it started.
   * A step still pending is stopped by `late` once it completes (an ARI that never answers keeps
   * retrying until the process exits: the caller ends the process after an aborted start).
   */
  const step = async <T>(p: Promise<T>, late?: (v: T) => Promise<void>): Promise<T> => {
    if (!signal) return p;
    if (signal.aborted) {
      p.then((v) => late?.(v)).catch(() => undefined);
      throw abortError();
    }
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(abortError());
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([p, aborted]);
    } catch (err) {
      if (signal.aborted) p.then((v) => late?.(v)).catch(() => undefined);
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  };
  const ownStore = opts.store === undefined;
  const metrics = createPrometheusMetrics();
  const store = opts.store ?? (await step(createStore(config, { clock, logger, metrics }), (s) => s.close()));
  if (ownStore) stops.push(() => store.close());

  try {
    // First: a second process with this instance id is refused before it touches any call.
    const heartbeat = await step(
      startInstanceHeartbeat({
        store,
        clock,
        logger,
        instanceId,
        ttlMs: config.instance.leaseTtlMs,
        idFromHost: config.instance.idFromHost,
      }),
      (h) => h.stop(),
    );
    stops.push(() => heartbeat.stop());

    const policyDeps = { store, clock, logger: log, ...(opts.configFile === undefined ? {} : { configFile: opts.configFile }) };
    const policy = await step(loadPolicy(config.directory, policyDeps));
    const sync = startPolicySync({ ...policyDeps, policy, pollMs: opts.policyPollMs ?? 2000 });
    stops.push(async () => sync.stop());

    // One audit trail for the use cases: records the Store refuses wait in it, in order.
    const audit = createAuditTrail({ store, logger, metrics });
    stops.push(() => audit.stop());
    // Feature-code UserEvents are believed only after ARI shows their channel (servers with ARI).
    const channels = createAriChannelLookup(config.servers.map((s) => ({ name: s.name, ari: s.ari })));
    stops.push(async () => channels.close());
    const pbx = createAmiQueueControls(config.servers, { instanceId, logger: logger.child({ component: 'queue' }) });
    const queue = await step(
      startQueueService({
        pbx,
        servers: config.servers,
        store,
        policy,
        clock,
        logger,
        channels,
        featureContexts: config.featureCodes.contexts,
        audit,
        metrics,
      }),
      (q) => q.stop(),
    );
    stops.push(() => queue.stop());

    const dispatch = new Map<string, DispatchService>();
    for (const [index, server] of config.servers.entries()) {
      if (server.ari === undefined) continue;
      const calls = createAriCallControl({ ...server.ari, logger: logger.child({ component: 'dispatch', server: server.name }) });
      const svc = await step(
        startDispatchService({
          server,
          calls,
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
        }).catch(async (err: unknown) => {
          await calls.close();
          // The ARI adapter names `ari.password` / `ari.url` (credentials refused, not ARI): name the server too.
          if (!(err instanceof AgentgateError) || err.code !== 'AGENTGATE_ERR_CONFIG' || !err.field?.startsWith('ari.')) throw err;
          const field = `servers[${index}].${err.field}`;
          throw new AgentgateError('AGENTGATE_ERR_CONFIG', { field, detail: err.details.detail }, { field, cause: err });
        }),
        (d) => d.stop(),
      );
      dispatch.set(server.name, svc);
      stops.push(() => svc.stop());
    }

    const calls = createCallControl({
      dispatch,
      policy,
      members: () => queue.members(),
      calls: config.calls,
      clock,
      audit,
      logger,
      metrics,
    });
    stops.push(async () => calls.stop());
    // The agent's phone's Transfer and Hold buttons, under the same policy (src/app/phone-buttons.ts).
    const phones = createPhoneButtons({ dispatch, calls, policy, config: config.calls, clock, audit, logger, metrics });
    stops.push(async () => phones.stop());

    const tokens = createTokenService({ store, clock });
    await tokens.seed(config.tokens);

    const health = (): Promise<Readiness> => readiness({ store, queue, dispatch, policy, timeoutMs: opts.readyTimeoutMs ?? 1000 });

    let http: FastifyInstance | undefined;
    let httpUrl: string | undefined;
    if (config.http.enabled) {
      http = await buildHttpServer({ config, queue, calls, policy, store, tokens, clock, logger, health, metrics });
      const server = http;
      stops.push(async () => {
        // Drain: requests in flight get their answer (new ones 503). A keep-alive connection whose
        // request ended after close() began would hold the stop for the keep-alive timeout (72 s):
        // idle connections are closed as they become idle.
        const idle = setInterval(() => server.server.closeIdleConnections(), 100);
        try {
          await server.close();
        } finally {
          clearInterval(idle);
        }
      });
      httpUrl = await step(http.listen({ host: config.http.host, port: config.http.port }));
      log.info({ url: httpUrl }, 'HTTP API listening');
    }

    log.info({ servers: config.servers.map((s) => s.name), store: config.store.redis ? 'redis' : 'memory' }, 'agentgate started');
    let stopped = false;
    let daemon: Daemon | undefined;
    let lastConfig = config;
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
      calls,
      tokens,
      heartbeat,
      http,
      httpUrl,
      metrics,
      health,
      async reload(next) {
        const before = lastConfig;
        const policyReport = await reloadDirectory({ ...policyDeps, policy }, before.directory, next.directory);
        const hashes = (c: Config): Set<string> => new Set(c.tokens.map((t) => t.sha256.toLowerCase()));
        const [was, now] = [hashes(before), hashes(next)];
        await tokens.seed(next.tokens);
        const tokenReport = { added: [...now].filter((h) => !was.has(h)).length, removed: [...was].filter((h) => !now.has(h)).length };
        const restartNeeded = (Object.keys({ ...before, ...next }) as Array<keyof Config>).filter(
          (k) => !LIVE_KEYS.has(k) && JSON.stringify(before[k]) !== JSON.stringify(next[k]),
        );
        lastConfig = next;
        log.info(
          {
            policyVersion: policyReport.version,
            directoryChanged: policyReport.fileChanged,
            imported: policyReport.imported,
            changed: diffSummary(policyReport.diff),
            tokens: tokenReport,
          },
          policyReport.imported
            ? `config reloaded: the directory was imported as policy version ${policyReport.version}`
            : policyReport.fileChanged
              ? `config reloaded: the Store already holds this directory (policy version ${policyReport.version})`
              : `config reloaded: directory unchanged since it was last read, policy version ${policyReport.version} stays`,
        );
        if (restartNeeded.length > 0)
          log.warn({ restartNeeded }, `config reloaded: ${restartNeeded.join(', ')} changed; restart needed for that to apply`);
        return { policy: policyReport, tokens: tokenReport, restartNeeded };
      },
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
