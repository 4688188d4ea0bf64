import type { Logger } from 'pino';
import type { Config } from '../../config/load.js';
import type { Clock } from '../../ports/clock.js';
import type { Store } from '../../ports/store.js';
import type { Metrics } from '../../ports/metrics.js';
import { createMemoryStore } from './memory.js';
import { createRedisStore } from './redis.js';

/** The Store the config names: Redis when `store.redis` is set (checked with PING), else memory. */
export async function createStore(config: Config, deps: { clock: Clock; logger: Logger; metrics?: Metrics }): Promise<Store> {
  const r = config.store.redis;
  const auditMaxLength = config.audit.maxLength;
  if (r === undefined) return createMemoryStore({ clock: deps.clock, auditMaxLength });
  return createRedisStore({
    url: r.url,
    prefix: r.prefix,
    tenant: r.tenant,
    clock: deps.clock,
    auditMaxLength,
    logger: deps.logger,
    onConnection: deps.metrics && ((up) => deps.metrics!.connection({ system: 'redis', server: 'redis', up })),
  });
}
