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
import { createTokenService, type TokenService } from './app/tokens.js';
import { buildHttpServer } from './adapters/http/server.js';

export interface DaemonOptions {
  logger?: Logger;
  clock?: Clock;
  /** Use this Store instead of the one the config names (tests, the demo). Not closed by stop(). */
  store?: Store;
  /** How often to look for a newer policy version written by another instance. */
  policyPollMs?: number;
}

export interface Daemon {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  readonly policy: PolicyHolder;
  readonly queue: QueueService;
  readonly dispatch: ReadonlyMap<string, DispatchService>;
  readonly tokens: TokenService;
  readonly http: FastifyInstance | undefined;
  /** `http://host:port` once listening, else undefined. */
  readonly httpUrl: string | undefined;
  health(): { ok: boolean; components: Record<string, unknown> };
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

export async function startDaemon(config: Config, opts: DaemonOptions = {}): Promise<Daemon> {
  const logger = opts.logger ?? createLogger({ level: config.log.level });
  const clock = opts.clock ?? systemClock();
  const instanceId = config.instance.id;
  const log = logger.child({ component: 'daemon', instance: instanceId });
  const ownStore = opts.store === undefined;
  const store = opts.store ?? (await createStore(config, { clock, logger }));
  const stops: Array<() => Promise<void>> = [];
  if (ownStore) stops.push(() => store.close());

  try {
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
    const audit = createAuditTrail({ store, logger });
    stops.push(() => audit.stop());
    // Feature-code UserEvents are believed only after ARI shows their channel (servers with ARI).
    const channels = createAriChannelLookup(config.servers.map((s) => ({ name: s.name, ari: s.ari })));
    stops.push(async () => channels.close());
    const queue = await startQueueService({ servers: config.servers, store, policy, clock, logger, instanceId, channels, featureContexts: config.featureCodes.contexts, audit });
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
      });
      dispatch.set(server.name, svc);
      stops.push(() => svc.stop());
    }

    const tokens = createTokenService({ store, clock });
    await tokens.seed(config.tokens);

    const health = (): { ok: boolean; components: Record<string, unknown> } => {
      const ami = queue.connections();
      const ari = [...dispatch].map(([server, svc]) => ({ server, connected: svc.connected(), active: svc.active() }));
      const ok = ami.every((c) => c.connected) && ari.every((c) => c.connected);
      return { ok, components: { ami, ari, policyVersion: policy.current().version } };
    };

    let http: FastifyInstance | undefined;
    let httpUrl: string | undefined;
    if (config.http.enabled) {
      http = await buildHttpServer({ config, queue, policy, store, tokens, clock, logger, health });
      httpUrl = await http.listen({ host: config.http.host, port: config.http.port });
      const server = http;
      stops.push(() => server.close());
      log.info({ url: httpUrl }, 'HTTP API listening');
    }

    log.info({ servers: config.servers.map((s) => s.name), store: config.store.redis ? 'redis' : 'memory' }, 'agentgate started');
    let stopped = false;
    return {
      config,
      logger,
      store,
      policy,
      queue,
      dispatch,
      tokens,
      http,
      httpUrl,
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
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    throw err;
  }
}
