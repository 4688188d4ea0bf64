/**
 * What the use cases and adapters report for operators. They say what happened (a dispatch ended, a
 * connection went down); the Prometheus adapter (src/adapters/metrics/prometheus.ts) decides metric
 * names, labels and buckets (docs/metrics.md). Every method is cheap and never throws, so reporting
 * can never break a call. The domain never sees this port.
 */
export type ConnectionSystem = 'ari' | 'ami' | 'redis';

export interface Metrics {
  /**
   * A dispatch ended: its result, how long it rang (start → answer, or start → end), how each leg
   * ended. No ringMs for a dispatch finished by another process than the one that rang it.
   */
  dispatchFinished(e: { server: string; result: string; ringMs?: number; legOutcomes: readonly string[] }): void;
  /** The winner answered and the caller is now bridged with it: how long that took. */
  dispatchBridged(e: { server: string; ms: number }): void;
  /** A queue operation's outcome (ok, denied, refused, error, ami-error, rejected). */
  queueOperation(e: { action: string; result: string; source: string }): void;
  /** A policy decision that gated an operation. */
  policyDecision(e: { action: string; allowed: boolean }): void;
  /**
   * A connection's state. The first report declares it (usually down, before connecting); an up
   * after a down that followed an earlier up counts as a reconnect.
   */
  connection(e: { system: ConnectionSystem; server: string; up: boolean }): void;
  /** The Store refused an audit write (first attempt or retry). */
  auditWriteFailed(): void;
  /** An audit record was not kept: the buffer was full. */
  auditDropped(): void;
  /**
   * Values read when metrics are scraped: calls this service drives (ringing or talking) and agent
   * claims it holds. Returns the function that stops reading them (on stop).
   */
  watchDispatch(server: string, read: { calls: () => number; claims: () => number }): () => void;
  /** A call action (hold, unhold, hangup, end, transfer, requeue...): allowed and applied, refused (policy or state), or failed (Asterisk). */
  callAction(e: { action: string; outcome: 'allowed' | 'refused' | 'failed' }): void;
  /** The agent's phone put a call on hold without the hold flag (a policy violation the phone could not be stopped from). */
  phoneHoldWithoutFlag(): void;
  /** Read at scrape time: calls on hold now, and those on hold longer than calls.holdAlertSec. Returns the function that stops reading. */
  watchCalls(read: { onHold: () => number; holdTooLong: () => number }): () => void;
  /** Audit records waiting in the buffer, read at scrape time. Returns the function that stops reading. */
  watchAudit(buffered: () => number): () => void;
}

/** Reports nothing: the default for a use case started without metrics (tests, the bench). */
export const noMetrics: Metrics = {
  dispatchFinished: () => undefined,
  dispatchBridged: () => undefined,
  queueOperation: () => undefined,
  policyDecision: () => undefined,
  connection: () => undefined,
  auditWriteFailed: () => undefined,
  auditDropped: () => undefined,
  watchDispatch: () => () => undefined,
  watchAudit: () => () => undefined,
  callAction: () => undefined,
  phoneHoldWithoutFlag: () => undefined,
  watchCalls: () => () => undefined,
};
