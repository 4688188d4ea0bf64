/**
 * The Store in process memory: one agentgate instance, no Redis. Same contract as redis.ts (the
 * suite in test/store runs against both). Time comes from the injected Clock, so tests drive expiry.
 * Values are copied on the way in and out (structuredClone), as a network store would.
 */
import type { Clock } from '../../ports/clock.js';
import type { AuditEntry, AuditEntryInput, AuditFilter, DispatchRecord, LeaseResult, Store, TokenRecord } from '../../ports/store.js';

interface Lease {
  holder: string;
  token: number;
  expiresAt: number;
}

export interface MemoryStoreOptions {
  clock: Clock;
  /** Audit length cap; oldest entries dropped first. Default 100,000. */
  auditMaxLength?: number;
}

export function createMemoryStore(opts: MemoryStoreOptions): Store {
  const { clock } = opts;
  const auditMax = opts.auditMaxLength ?? 100_000;
  const leases = new Map<string, Lease>();
  const fencing = new Map<string, number>();
  const onceKeys = new Map<string, number>();
  const dispatches = new Map<string, DispatchRecord>();
  let audit: AuditEntry[] = [];
  let auditSeq = 0;
  const tokens = new Map<string, TokenRecord>();
  let policy: { version: number; doc: unknown } | null = null;

  const live = (key: string): Lease | undefined => {
    const l = leases.get(key);
    if (l && l.expiresAt <= clock.now()) {
      leases.delete(key);
      return undefined;
    }
    return l;
  };

  return {
    async acquireLease(key, holder, ttlMs): Promise<LeaseResult> {
      const now = clock.now();
      const cur = live(key);
      if (cur && cur.holder !== holder) return { ok: false, holder: cur.holder, expiresAt: cur.expiresAt };
      if (cur) {
        cur.expiresAt = now + ttlMs;
        return { ok: true, token: cur.token, expiresAt: cur.expiresAt };
      }
      const token = (fencing.get(key) ?? 0) + 1;
      fencing.set(key, token);
      const l = { holder, token, expiresAt: now + ttlMs };
      leases.set(key, l);
      return { ok: true, token, expiresAt: l.expiresAt };
    },
    async renewLease(key, holder, ttlMs) {
      const cur = live(key);
      if (!cur || cur.holder !== holder) return false;
      cur.expiresAt = clock.now() + ttlMs;
      return true;
    },
    async releaseLease(key, holder) {
      const cur = live(key);
      if (!cur || cur.holder !== holder) return false;
      leases.delete(key);
      return true;
    },
    async leaseHolder(key) {
      const cur = live(key);
      return cur ? { ...cur } : null;
    },

    async once(key, ttlMs) {
      const now = clock.now();
      const until = onceKeys.get(key);
      if (until !== undefined && until > now) return false;
      onceKeys.set(key, now + ttlMs);
      if (onceKeys.size > 10_000) for (const [k, t] of onceKeys) if (t <= now) onceKeys.delete(k);
      return true;
    },

    async putDispatch(record) {
      dispatches.set(record.id, structuredClone(record));
    },
    async deleteDispatch(id) {
      dispatches.delete(id);
    },
    async listDispatches(filter = {}) {
      const out: DispatchRecord[] = [];
      for (const d of dispatches.values()) {
        if (filter.owner !== undefined && d.owner !== filter.owner) continue;
        if (filter.server !== undefined && d.server !== filter.server) continue;
        out.push(structuredClone(d));
      }
      return out;
    },

    async adoptDispatches({ from, to, server, unlessLeaseHeld }) {
      if (live(unlessLeaseHeld)) return [];
      const out: DispatchRecord[] = [];
      for (const d of dispatches.values()) {
        if (d.owner !== from || d.server !== server) continue;
        d.owner = to;
        out.push(structuredClone(d));
      }
      return out;
    },

    async appendAudit(entry: AuditEntryInput) {
      const id = `${entry.at}-${auditSeq++}`;
      audit.push({ ...structuredClone(entry), id });
      if (audit.length > auditMax) audit = audit.slice(audit.length - auditMax);
      return id;
    },
    async queryAudit(filter: AuditFilter) {
      const limit = filter.limit ?? 100;
      const out: AuditEntry[] = [];
      for (let i = audit.length - 1; i >= 0 && out.length < limit; i--) {
        const e = audit[i]!;
        if (matchesAudit(e, filter)) out.push(structuredClone(e));
      }
      return out;
    },

    async putToken(hash, record) {
      tokens.set(hash, { ...record });
    },
    async getToken(hash) {
      const t = tokens.get(hash);
      return t ? { ...t } : null;
    },
    async revokeToken(hash) {
      return tokens.delete(hash);
    },
    async listTokens(userId) {
      const out: Array<TokenRecord & { tokenHash: string }> = [];
      for (const [tokenHash, t] of tokens) if (userId === undefined || t.userId === userId) out.push({ ...t, tokenHash });
      return out;
    },

    async getPolicy() {
      return policy === null ? null : { version: policy.version, doc: structuredClone(policy.doc) };
    },
    async putPolicy(expectedVersion, doc) {
      const current = policy?.version ?? 0;
      if (current !== expectedVersion) return { ok: false, version: current };
      policy = { version: current + 1, doc: structuredClone(doc) };
      return { ok: true, version: policy.version };
    },
    async restorePolicy(version, doc) {
      if (policy !== null) return { ok: false, version: policy.version };
      policy = { version, doc: structuredClone(doc) };
      return { ok: true, version };
    },

    async close() {
      // nothing to release
    },
  };
}

/** The audit filter shared by both Stores (redis.ts filters the entries it reads with it too). */
export function matchesAudit(e: AuditEntryInput, f: AuditFilter): boolean {
  if (f.kind !== undefined && e.kind !== f.kind) return false;
  if (f.actor !== undefined && e.actor !== f.actor) return false;
  if (f.action !== undefined && e.action !== f.action) return false;
  if (f.extension !== undefined && e.extension !== f.extension) return false;
  if (f.queue !== undefined && e.queue !== f.queue) return false;
  if (f.call !== undefined && e.call !== f.call) return false;
  if (f.result !== undefined && e.result !== f.result) return false;
  if (f.since !== undefined && e.at < f.since) return false;
  if (f.until !== undefined && e.at > f.until) return false;
  return true;
}
