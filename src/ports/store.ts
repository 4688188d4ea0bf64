/**
 * Shared state behind one contract: src/adapters/store/memory.ts and redis.ts implement it and
 * pass the same contract suite (test/store). Only what the use cases need is here.
 *
 * Times are milliseconds. Leases expire on their own after ttlMs unless renewed; every successful
 * acquire hands out a fencing token that grows strictly per key, so a holder that lost its lease
 * can be told apart from the new one.
 */
export interface Store {
  /**
   * Take the lease `key` for `holder` when it is free, expired, or already held by `holder`
   * (then it is renewed and keeps its token). Used for agent claims (`agent:<id>`), the ARI
   * application leadership per Asterisk server (`ari-app:<server>`), the first-answer-wins claim
   * of a dispatch (`answer:<dispatchId>`).
   */
  acquireLease(key: string, holder: string, ttlMs: number): Promise<LeaseResult>;
  /** Extend a lease still held by holder (false if lost or expired). */
  renewLease(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Release a lease only if holder holds it (true) — never someone else's. */
  releaseLease(key: string, holder: string): Promise<boolean>;
  /** Who holds the lease now, or null. */
  leaseHolder(key: string): Promise<{ holder: string; token: number; expiresAt: number } | null>;

  /**
   * Record `key` once: true the first time within ttlMs, false after (any instance).
   * Used to handle a dialplan UserEvent exactly once across instances (key = Uniqueid).
   */
  once(key: string, ttlMs: number): Promise<boolean>;

  /** Dispatch records owned by an instance, so a restart or another instance can clean up. */
  putDispatch(record: DispatchRecord): Promise<void>;
  deleteDispatch(id: string): Promise<void>;
  listDispatches(filter?: { owner?: string; server?: string }): Promise<DispatchRecord[]>;
  /**
   * Take over the dispatch records of a dead instance: every record owned by `from` on `server`
   * becomes owned by `to`, each one atomically and only while the lease `unlessLeaseHeld` (the dead
   * instance's heartbeat) is not held. Returns the records moved by this call, already owned by `to`:
   * when several live instances adopt at once, each record is moved (and cleaned up) by exactly one.
   */
  adoptDispatches(input: { from: string; to: string; server: string; unlessLeaseHeld: string }): Promise<DispatchRecord[]>;

  /** Append-only audit log with a length cap (oldest dropped first); returns the entry id. */
  appendAudit(entry: AuditEntryInput): Promise<string>;
  /** Newest first. */
  queryAudit(filter: AuditFilter): Promise<AuditEntry[]>;

  /** API tokens, stored by their hash (sha-256 hex) only. */
  putToken(tokenHash: string, record: TokenRecord): Promise<void>;
  getToken(tokenHash: string): Promise<TokenRecord | null>;
  revokeToken(tokenHash: string): Promise<boolean>;
  listTokens(userId?: string): Promise<Array<TokenRecord & { tokenHash: string }>>;

  /** The policy document, versioned: put succeeds only when the stored version is expectedVersion (0 = none yet). */
  getPolicy(): Promise<{ version: number; doc: unknown } | null>;
  putPolicy(expectedVersion: number, doc: unknown): Promise<{ ok: true; version: number } | { ok: false; version: number }>;
  /**
   * Write `doc` as `version` only when no policy is stored (Redis restarted empty while the daemons
   * kept the policy in force): versions never go back, so a client's `expectedVersion` stays
   * meaningful. Returns the version stored afterwards (ok: false = another writer was first).
   */
  restorePolicy(version: number, doc: unknown): Promise<{ ok: boolean; version: number }>;

  close(): Promise<void>;
}

export type LeaseResult = { ok: true; token: number; expiresAt: number } | { ok: false; holder: string; expiresAt: number };

export interface DispatchRecord {
  id: string;
  /** agentgate instance that runs it */
  owner: string;
  /** Asterisk server name from the config */
  server: string;
  agentId: string;
  callerChannelId: string;
  legChannelIds: string[];
  bridgeId?: string;
  startedAt: number;
  /** free-form state the owner needs to finish or clean up */
  data?: Record<string, unknown>;
}

export type AuditKind = 'dispatch' | 'queue-op' | 'policy-change' | 'token' | 'call-action';

export interface AuditEntryInput {
  kind: AuditKind;
  at: number;
  actor?: string;
  action?: string;
  extension?: string;
  queue?: string;
  /**
   * The call (dispatch id) the entry is about, on every dispatch and call-action entry: what
   * `queryAudit({ call })` finds. Entries written before this field existed have none (the id may
   * sit in detail.call) and are not found by a call filter.
   */
  call?: string;
  /** e.g. 'allowed' | 'denied' | 'applied' | 'failed' | 'answered' | 'noanswer' */
  result: string;
  /** everything else: request, decision with reasons, AMI result, legs… */
  detail: Record<string, unknown>;
}

export interface AuditEntry extends AuditEntryInput {
  id: string;
}

export interface AuditFilter {
  kind?: AuditKind;
  actor?: string;
  action?: string;
  extension?: string;
  queue?: string;
  /** only entries about this call (AuditEntryInput.call) */
  call?: string;
  result?: string;
  since?: number;
  until?: number;
  /** default 100 */
  limit?: number;
}

export interface TokenRecord {
  userId: string;
  label: string;
  createdAt: number;
}
