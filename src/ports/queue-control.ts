/**
 * What queue operations need of one Asterisk server's queues (app_queue, reached over AMI by
 * src/adapters/ami/queue-control.ts), and nothing more: change a member, read every member, hear
 * about member changes and feature codes, know whether the connection is up.
 *
 * The adapter owns the AMI details (action and header names, ActionIDs, timeouts, reconnects, list
 * collection, which of Asterisk's error texts means what); the queue service sees typed commands,
 * typed answers and a typed event union.
 */

/** A queue member as Asterisk reports it (QueueMember* events, QueueStatus items). */
export interface QueueMemberState {
  queue: string;
  interface: string;
  memberName: string;
  stateInterface: string;
  penalty: number;
  paused: boolean;
  pausedReason: string;
  status: number;
  dynamic: boolean;
}

/** One change to a queue member. `queue` absent = every queue the interface is in (pause, penalty). */
export type QueueCommand =
  | {
      op: 'add';
      queue?: string;
      interface: string;
      memberName: string;
      stateInterface: string;
      penalty?: number;
      /** Added already paused, with `reason`: one action, so the agent is never rung in between. */
      paused?: boolean;
      reason?: string;
    }
  | { op: 'remove'; queue?: string; interface: string }
  | { op: 'pause'; queue?: string; interface: string; paused: boolean; reason?: string }
  | { op: 'penalty'; queue?: string; interface: string; penalty: number };

/** Why Asterisk refused a command, from its answer's text (recordings/ami/queue-member-lifecycle.jsonl). */
export type QueueRefusal =
  'no-such-queue' | 'already-member' | 'not-member' | 'not-dynamic' | 'interface-not-found' | 'invalid-penalty' | 'other';

/** Asterisk's answer to a command: as it said it, and, when it refused, why. */
export interface QueueAnswer {
  /** Asterisk's `Response` (`Success`, `Error`). */
  response: string;
  /** Asterisk's `Message`, as sent (may be empty). */
  message: string;
  /** Absent when Asterisk applied the command. */
  refusal?: QueueRefusal;
}

/** A feature code raised in the dialplan (`UserEvent(AgentGate,Action: login,Queue: support)`): not yet believed. */
export interface FeatureCodeRaised {
  kind: 'feature-code';
  action?: string;
  channel?: string;
  uniqueid?: string;
  queue?: string;
  reason?: string;
  penalty?: string;
}

export type QueueControlEvent =
  | { kind: 'member-changed'; member: QueueMemberState }
  | { kind: 'member-removed'; queue: string; interface: string }
  | FeatureCodeRaised
  /** Logged in (after every (re)connect), or Asterisk FullyBooted: member state must be re-read. */
  | { kind: 'connected'; after: 'login' | 'fully-booted' }
  | { kind: 'disconnected' };

export interface QueueControl {
  /** The Asterisk server's name (config `servers[].name`). */
  readonly server: string;
  /**
   * Starts connecting, and reconnecting for as long as it is not stopped; from now on every event
   * goes to `onEvent` (which must not throw; the adapter logs it if it does).
   */
  start(onEvent: (e: QueueControlEvent) => void): void;
  /** Resolves once connected, rejects (AGENTGATE_ERR_AMI_DISCONNECTED) after timeoutMs; leaves no timer. */
  waitConnected(timeoutMs: number): Promise<void>;
  /** Whether the connection is up now, and since when (ms since the epoch; 0 = never). */
  connection(): { connected: boolean; since: number };
  /**
   * Refuses (throws AGENTGATE_ERR_CRLF naming the field) a command that cannot be sent as it is:
   * a control character in a value would start a header of its own. `send` checks it too; this lets
   * a caller refuse before it does anything else.
   */
  check(cmd: QueueCommand): void;
  /**
   * Sends the command and resolves with Asterisk's answer, applied or refused. Rejects when there is
   * no answer: AGENTGATE_ERR_AMI_DISCONNECTED (not sent, or the connection dropped: it may have run),
   * AGENTGATE_ERR_AMI_TIMEOUT (it may have run), AGENTGATE_ERR_AMI_FAILED (unreadable answer).
   */
  send(cmd: QueueCommand): Promise<QueueAnswer>;
  /** Every member of every queue now (QueueStatus); a malformed item is left out. */
  members(): Promise<QueueMemberState[]>;
  stop(): void;
}
