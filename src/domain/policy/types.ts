/**
 * The directory and grant model shared by the whole daemon: ring-all dispatch reads agents and their
 * addresses from it, the queue operations are decided against it. Plain data; see README.md for
 * the rules that `decide` applies to it.
 */

/** Roles in increasing order of power. */
export const ROLES = ['agent', 'supervisor', 'manager', 'administrator', 'owner'] as const;
export type Role = (typeof ROLES)[number];

/** Portal scopes: they cap what grants can give (see decide.ts). */
export const PORTAL_SCOPES = ['no_portal', 'basic_user', 'call_center_agent', 'call_center_supervisor', 'office_manager'] as const;
export type PortalScope = (typeof PORTAL_SCOPES)[number];

export const QUEUE_ACTIONS = ['login', 'logout', 'pause', 'unpause', 'penalty'] as const;
export type QueueAction = (typeof QUEUE_ACTIONS)[number];

/** Who a user may transfer a call to directly. */
export const DIRECT_TRANSFER = ['disabled', 'own_group', 'any_logged_in'] as const;
export type DirectTransfer = (typeof DIRECT_TRANSFER)[number];

/**
 * Call flags of a user. Every boolean defaults to false (a user can do nothing until the config says
 * so), directTransfer defaults to 'disabled', ipAllow defaults to [] which means any address.
 * blended is only valid together with inbound and outbound.
 */
export interface CallFlags {
  inbound: boolean;
  outbound: boolean;
  blended: boolean;
  manual: boolean;
  international: boolean;
  hangup: boolean;
  hold: boolean;
  requeue: boolean;
  crossQueueRequeue: boolean;
  transfer: boolean;
  /** End every leg of a call that has been warm transferred (not just the actor's own leg). */
  endForAll: boolean;
  /** Transfer to numbers that start with one of the configured international prefixes (needs transfer too). */
  internationalTransfer: boolean;
  directTransfer: DirectTransfer;
  /** `10.0.3.%` (a `%` octet matches any octet; a trailing `%` the rest), plain IPv4, IPv6 literals. */
  ipAllow: string[];
}

/** One address ring-all dials for a user, after delayMs, for at most timeoutSec (else the dispatch default). */
export interface Address {
  endpoint: string;
  delayMs: number;
  timeoutSec?: number;
}

export interface User {
  /** `[a-z0-9._-]` */
  id: string;
  name: string;
  role: Role;
  scope: PortalScope;
  /** Group ids; membership is the union of this list and the groups' `members`. */
  groups: string[];
  /** Extension ids this user owns; an extension has at most one owner. */
  extensions: string[];
  /** What ring-all dials; YAML accepts a plain endpoint string or an object. */
  addresses: Address[];
  flags: CallFlags;
  /**
   * The PBX (server name) an office_manager administers. When absent, the servers of its own
   * extensions; when those have none either, every PBX (single-PBX deployments).
   */
  server?: string;
}

export interface Group {
  id: string;
  name?: string;
  members: string[];
  /** Users who supervise this group's members (a Supervisor acts only on those). */
  supervisors: string[];
}

export interface Extension {
  id: string;
  /** What AMI QueueAdd gets as Interface, e.g. `PJSIP/1001`. */
  interface: string;
  /** Optional StateInterface for QueueAdd (device state), e.g. `PJSIP/1001`. */
  stateInterface?: string;
  name?: string;
  /** Server name from the config; absent = the only PBX. */
  server?: string;
}

export interface Queue {
  id: string;
  name?: string;
  server?: string;
}

/**
 * `subject` is `user:<id>` or `group:<id>` (the group's members); `targets` are `extension:<id>`,
 * `user:<id>` (that user's extensions), `group:<id>` (the extensions of its members) or `queue:<id>`.
 */
export interface Grant {
  id: string;
  subject: string;
  actions: QueueAction[];
  targets: string[];
  note?: string;
}

export interface PolicyDoc {
  users: User[];
  groups: Group[];
  extensions: Extension[];
  queues: Queue[];
  grants: Grant[];
}

/** An error found while reading or changing a policy: `path` like `users[3].flags.blended`. */
export interface PolicyIssue {
  path: string;
  message: string;
}

export type PolicyResult<T> = { ok: true; value: T } | { ok: false; errors: PolicyIssue[] };

export const DEFAULT_FLAGS: Readonly<CallFlags> = Object.freeze({
  inbound: false,
  outbound: false,
  blended: false,
  manual: false,
  international: false,
  hangup: false,
  hold: false,
  requeue: false,
  crossQueueRequeue: false,
  transfer: false,
  endForAll: false,
  internationalTransfer: false,
  directTransfer: 'disabled',
  ipAllow: [] as string[],
});

export function roleRank(role: Role): number {
  return ROLES.indexOf(role);
}
