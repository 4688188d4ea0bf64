/**
 * The Store on Redis (ioredis): several agentgate instances and Asterisk servers share agent claims,
 * leases, dispatch records, the audit stream, API tokens and the versioned policy.
 *
 * Lease expiry uses Redis's own clock (PX / PEXPIRE), so instances with skewed clocks still agree;
 * the `expiresAt` returned is the caller's clock + ttl, for information. Every multi-key change is one
 * Lua script (never read-then-write from the client). ioredis reconnects forever; a command that
 * fails becomes AGENTGATE_ERR_STORE with the cause. A blip is waited out (ioredis's offline queue);
 * once Redis has been unreachable for half a second, commands fail at once until it is back.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AgentgateError } from '../../errors/codes.js';
import type { Clock } from '../../ports/clock.js';
import type { AuditEntry, AuditEntryInput, AuditFilter, DispatchRecord, LeaseResult, Store, TokenRecord } from '../../ports/store.js';
import { keySpace, type KeySpace } from './keys.js';
import { matchesAudit } from './memory.js';

/**
 * KEYS[1] lease hash, KEYS[2] fencing counter. ARGV[1] holder, ARGV[2] ttl ms.
 * Returns {1, token} when taken or renewed by the same holder, {0, holder, pttl} when held by another.
 */
const ACQUIRE = `
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder then
  if holder ~= ARGV[1] then return {0, holder, redis.call('PTTL', KEYS[1])} end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('HGET', KEYS[1], 'token'))}
end
local token = redis.call('INCR', KEYS[2])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {1, token}
`;

/** KEYS[1] lease hash. ARGV[1] holder, ARGV[2] ttl ms. Returns 1 when renewed, 0 when not held by holder. */
const RENEW = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`;

/** KEYS[1] lease hash. ARGV[1] holder. Returns 1 when released, 0 when not held by holder. */
const RELEASE = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

/** KEYS[1] lease hash. Returns {holder, token, pttl} or false. */
const HOLDER = `
local h = redis.call('HMGET', KEYS[1], 'holder', 'token')
if not h[1] then return false end
return {h[1], tonumber(h[2]), redis.call('PTTL', KEYS[1])}
`;

/**
 * KEYS[1] dispatches hash, KEYS[2] lease hash of the previous owner's heartbeat.
 * ARGV[1] dispatch id, ARGV[2] the record JSON as read (compare), ARGV[3] the record JSON with the new owner.
 * Returns 1 when moved, 0 when the heartbeat is held again or the record changed or went meanwhile
 * (compare-and-set on the exact stored text: no JSON decoding in Lua, which would reshape arrays and numbers).
 */
const ADOPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

/**
 * KEYS[1] policy hash. ARGV[1] expected version (0 = none yet), ARGV[2] document JSON.
 * Returns {1, newVersion} when stored, {0, currentVersion} when the version moved meanwhile.
 */
const PUT_POLICY = `
local v = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if v ~= tonumber(ARGV[1]) then return {0, v} end
redis.call('HSET', KEYS[1], 'version', v + 1, 'doc', ARGV[2])
return {1, v + 1}
`;

/**
 * KEYS[1] policy hash. ARGV[1] version, ARGV[2] document JSON. Writes only when no policy is stored.
 * Returns {1, version} when written, {0, storedVersion} when a policy was there already.
 */
const RESTORE_POLICY = `
local v = redis.call('HGET', KEYS[1], 'version')
if v then return {0, tonumber(v)} end
redis.call('HSET', KEYS[1], 'version', ARGV[1], 'doc', ARGV[2])
return {1, tonumber(ARGV[1])}
`;

/**
 * KEYS[1] audit stream, KEYS[2] the call's index list. ARGV[1] stream MAXLEN, ARGV[2] entry JSON,
 * ARGV[3] index TTL ms. Appends the entry and its stream id to the call's index in one step.
 * Returns the stream id.
 */
const APPEND_CALL_AUDIT = `
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'e', ARGV[2])
redis.call('RPUSH', KEYS[2], id)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return id
`;

/**
 * How long a call's audit index outlives its last entry. A query for a call whose index is gone
 * (expired, or entries from before the index existed) scans the stream instead: slower, same answer.
 */
const AUDIT_CALL_INDEX_TTL_MS = 30 * 24 * 3600 * 1000;

export interface RedisStoreOptions {
  url: string;
  prefix?: string;
  tenant?: string;
  clock: Clock;
  auditMaxLength?: number;
  logger?: Logger;
  /** Told when the connection is ready (true) and when it closes (false): metrics. */
  onConnection?: (up: boolean) => void;
}

type Scripted = Redis & {
  agAcquire(k1: string, k2: string, holder: string, ttl: number): Promise<[number, string | number, number?]>;
  agRenew(k1: string, holder: string, ttl: number): Promise<number>;
  agRelease(k1: string, holder: string): Promise<number>;
  agHolder(k1: string): Promise<[string, number, number] | null>;
  agPutPolicy(k1: string, expected: number, doc: string): Promise<[number, number]>;
  agRestorePolicy(k1: string, version: number, doc: string): Promise<[number, number]>;
  agAdopt(k1: string, k2: string, id: string, expected: string, next: string): Promise<number>;
  agAppendCallAudit(k1: string, k2: string, maxLen: number, json: string, ttlMs: number): Promise<string>;
};

function storeError(err: unknown): AgentgateError {
  return new AgentgateError('AGENTGATE_ERR_STORE', { detail: err instanceof Error ? err.message : String(err) }, { cause: err });
}

/** See wrap() in createRedisStore: how long a lost connection is waited for before commands fail at once. */
const FAIL_FAST_AFTER_MS = 500;

/** Connects and checks with PING, so a wrong URL fails start-up with a clear error. */
export async function createRedisStore(opts: RedisStoreOptions): Promise<Store> {
  const keys: KeySpace = keySpace(opts.prefix, opts.tenant);
  const { clock } = opts;
  const auditMax = opts.auditMaxLength ?? 100_000;
  const redis = new Redis(opts.url, {
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    enableAutoPipelining: true, // commands of one tick leave in one write: fewer syscalls under load
    retryStrategy: (times) => Math.min(100 * times, 2000), // never gives up
  }) as Scripted;
  redis.on('error', (err: Error) => opts.logger?.warn({ err }, 'redis connection error'));
  if (opts.onConnection) {
    const report = opts.onConnection;
    report(false);
    redis.on('ready', () => report(true));
    redis.on('close', () => report(false));
  }
  redis.defineCommand('agAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('agRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('agRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('agHolder', { numberOfKeys: 1, lua: HOLDER });
  redis.defineCommand('agPutPolicy', { numberOfKeys: 1, lua: PUT_POLICY });
  redis.defineCommand('agRestorePolicy', { numberOfKeys: 1, lua: RESTORE_POLICY });
  redis.defineCommand('agAdopt', { numberOfKeys: 2, lua: ADOPT });
  redis.defineCommand('agAppendCallAudit', { numberOfKeys: 2, lua: APPEND_CALL_AUDIT });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new AgentgateError(
      'AGENTGATE_ERR_STORE',
      { detail: `cannot reach Redis at ${opts.url.replace(/\/\/[^@]*@/, '//***@')}: ${(err as Error).message}` },
      { cause: err },
    );
  }

  // A blip (Redis restarting, a failover) is ridden out by ioredis's offline queue. Once Redis has been
  // unreachable for FAIL_FAST_AFTER_MS, commands fail at once instead: otherwise each one waits for
  // maxRetriesPerRequest reconnect attempts (2 s apart after a while), so every request, readiness
  // probe and shutdown step would take seconds (SIGTERM took ~20 s with Redis down).
  let downSince: number | undefined;
  redis.on('ready', () => {
    downSince = undefined;
  });
  redis.on('close', () => {
    downSince ??= Date.now();
  });
  const unreachableFor = (): number => (downSince === undefined ? 0 : Date.now() - downSince);

  const wrap = async <T>(f: () => Promise<T>): Promise<T> => {
    const down = unreachableFor();
    if (down > FAIL_FAST_AFTER_MS) throw storeError(new Error(`Redis unreachable for ${down} ms`));
    try {
      return await f();
    } catch (err) {
      throw storeError(err);
    }
  };

  return {
    acquireLease: (key, holder, ttlMs) =>
      wrap(async (): Promise<LeaseResult> => {
        const r = await redis.agAcquire(keys.lease(key), keys.fence(key), holder, ttlMs);
        if (r[0] === 1) return { ok: true, token: Number(r[1]), expiresAt: clock.now() + ttlMs };
        return { ok: false, holder: String(r[1]), expiresAt: clock.now() + Math.max(0, Number(r[2] ?? 0)) };
      }),
    renewLease: (key, holder, ttlMs) => wrap(async () => (await redis.agRenew(keys.lease(key), holder, ttlMs)) === 1),
    releaseLease: (key, holder) => wrap(async () => (await redis.agRelease(keys.lease(key), holder)) === 1),
    leaseHolder: (key) =>
      wrap(async () => {
        const r = await redis.agHolder(keys.lease(key));
        if (!r) return null;
        return { holder: r[0], token: Number(r[1]), expiresAt: clock.now() + Math.max(0, Number(r[2])) };
      }),

    once: (key, ttlMs) => wrap(async () => (await redis.set(keys.once(key), '1', 'PX', ttlMs, 'NX')) === 'OK'),

    putDispatch: (record) => wrap(async () => void (await redis.hset(keys.dispatches(), record.id, JSON.stringify(record)))),
    deleteDispatch: (id) => wrap(async () => void (await redis.hdel(keys.dispatches(), id))),
    listDispatches: (filter = {}) =>
      wrap(async () => {
        const all = await redis.hvals(keys.dispatches());
        return all
          .map((j) => JSON.parse(j) as DispatchRecord)
          .filter(
            (d) => (filter.owner === undefined || d.owner === filter.owner) && (filter.server === undefined || d.server === filter.server),
          );
      }),

    adoptDispatches: ({ from, to, server, unlessLeaseHeld }) =>
      wrap(async () => {
        const all = await redis.hgetall(keys.dispatches());
        const out: DispatchRecord[] = [];
        for (const [id, json] of Object.entries(all)) {
          const d = JSON.parse(json) as DispatchRecord;
          if (d.owner !== from || d.server !== server) continue;
          const next = { ...d, owner: to };
          if ((await redis.agAdopt(keys.dispatches(), keys.lease(unlessLeaseHeld), id, json, JSON.stringify(next))) === 1) out.push(next);
        }
        return out;
      }),

    appendAudit: (entry: AuditEntryInput) =>
      wrap(async () => {
        const json = JSON.stringify(entry);
        if (entry.call !== undefined)
          return redis.agAppendCallAudit(keys.audit(), keys.auditCall(entry.call), auditMax, json, AUDIT_CALL_INDEX_TTL_MS);
        const id = await redis.xadd(keys.audit(), 'MAXLEN', String(auditMax), '*', 'e', json);
        return id ?? '';
      }),
    queryAudit: (filter: AuditFilter) =>
      wrap(async () => {
        const limit = filter.limit ?? 100;
        if (filter.call !== undefined) {
          // One call's entries through its index (ids trimmed from the stream meanwhile read as nothing).
          const ids = await redis.lrange(keys.auditCall(filter.call), 0, -1);
          if (ids.length > 0) {
            const out: AuditEntry[] = [];
            const pages = await Promise.all(ids.reverse().map((id) => redis.xrange(keys.audit(), id, id)));
            for (const [id, fields] of pages.flat()) {
              const json = fields[1];
              if (json === undefined) continue;
              const e = JSON.parse(json) as AuditEntryInput;
              if (matchesAudit(e, filter)) out.push({ ...e, id });
              if (out.length >= limit) break;
            }
            return out;
          }
        }
        const out: AuditEntry[] = [];
        let end = '+';
        // Newest first, in pages; entries are appended in time order, so stop once older than `since`.
        for (;;) {
          const page = await redis.xrevrange(keys.audit(), end, '-', 'COUNT', 500);
          if (page.length === 0) return out;
          for (const [id, fields] of page) {
            const json = fields[1];
            if (json === undefined) continue;
            const e = JSON.parse(json) as AuditEntryInput;
            if (filter.since !== undefined && e.at < filter.since) return out;
            if (matchesAudit(e, filter)) {
              out.push({ ...e, id });
              if (out.length >= limit) return out;
            }
          }
          end = `(${page[page.length - 1]![0]}`;
        }
      }),

    putToken: (hash, record) => wrap(async () => void (await redis.hset(keys.tokens(), hash, JSON.stringify(record)))),
    getToken: (hash) =>
      wrap(async () => {
        const j = await redis.hget(keys.tokens(), hash);
        return j === null ? null : (JSON.parse(j) as TokenRecord);
      }),
    revokeToken: (hash) => wrap(async () => (await redis.hdel(keys.tokens(), hash)) === 1),
    listTokens: (userId) =>
      wrap(async () => {
        const all = await redis.hgetall(keys.tokens());
        return Object.entries(all)
          .map(([tokenHash, j]) => ({ ...(JSON.parse(j) as TokenRecord), tokenHash }))
          .filter((t) => userId === undefined || t.userId === userId);
      }),

    getPolicy: () =>
      wrap(async () => {
        const [v, doc] = await redis.hmget(keys.policy(), 'version', 'doc');
        if (v === null || v === undefined || doc === null || doc === undefined) return null;
        return { version: Number(v), doc: JSON.parse(doc) as unknown };
      }),
    putPolicy: (expectedVersion, doc) =>
      wrap(async () => {
        const [ok, version] = await redis.agPutPolicy(keys.policy(), expectedVersion, JSON.stringify(doc));
        return ok === 1 ? { ok: true as const, version } : { ok: false as const, version };
      }),
    restorePolicy: (version, doc) =>
      wrap(async () => {
        const [ok, stored] = await redis.agRestorePolicy(keys.policy(), version, JSON.stringify(doc));
        return { ok: ok === 1, version: stored };
      }),

    async close() {
      // QUIT would wait in the offline queue for a Redis that is gone.
      if (unreachableFor() > 0) return redis.disconnect();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
