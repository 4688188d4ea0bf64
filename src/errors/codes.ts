/**
 * The one registry of agentgate error codes. Codes are API: never renamed, never reused.
 * Callers branch on `code`, never on message text. `docs/errors` in the README lists them all
 * (a test checks every code here is documented there).
 *
 * To add a code: append an entry; pick the HTTP status a client should see.
 */
export const ERROR_CODES = {
  // --- input and configuration
  AGENTGATE_ERR_VALIDATION: { status: 400, message: 'Invalid value for {field}: {detail}' },
  AGENTGATE_ERR_CONFIG: { status: 500, message: 'Invalid configuration at {field}: {detail}' },
  AGENTGATE_ERR_CRLF: { status: 400, message: '{field} must not contain control characters (CR, LF or any other C0 character, or DEL)' },
  AGENTGATE_ERR_BODY_TOO_LARGE: { status: 413, message: 'Request body is larger than {limit} bytes' },
  AGENTGATE_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Content-Type {contentType}; send application/json' },
  AGENTGATE_ERR_NOT_FOUND: { status: 404, message: '{what} not found' },
  AGENTGATE_ERR_UNKNOWN_USER: { status: 404, message: 'Unknown user {id}' },
  AGENTGATE_ERR_UNKNOWN_EXTENSION: { status: 404, message: 'Unknown extension {id}' },
  AGENTGATE_ERR_UNKNOWN_QUEUE: { status: 404, message: 'Unknown queue {id}' },
  AGENTGATE_ERR_UNKNOWN_GROUP: { status: 404, message: 'Unknown user group {id}' },
  AGENTGATE_ERR_CONFLICT: { status: 409, message: '{detail}' },

  // --- authentication and policy
  AGENTGATE_ERR_UNAUTHENTICATED: { status: 401, message: 'Missing or unknown API token' },
  AGENTGATE_ERR_FORBIDDEN: { status: 403, message: 'Denied by policy: {detail}' },
  AGENTGATE_ERR_IP_NOT_ALLOWED: { status: 403, message: 'Source address {ip} is not in the allow-list of {user}' },
  AGENTGATE_ERR_RATE_LIMITED: { status: 429, message: 'Too many requests; retry in {retryAfter}' },
  AGENTGATE_ERR_POLICY_ADMIN: { status: 403, message: 'Policy change refused: {detail}' },
  AGENTGATE_ERR_POLICY_VERSION: { status: 409, message: 'Policy changed meanwhile: expected version {expected}, found {actual}' },

  // --- AMI (Asterisk's own answers to queue actions, one code each)
  AGENTGATE_ERR_AMI_DISCONNECTED: { status: 503, message: 'AMI connection to {server} is down' },
  AGENTGATE_ERR_AMI_TIMEOUT: { status: 504, message: 'AMI action {action} got no answer within {ms} ms' },
  AGENTGATE_ERR_AMI_FAILED: { status: 502, message: 'AMI action {action} failed: {detail}' },
  AGENTGATE_ERR_AMI_AUTH: { status: 502, message: 'AMI login to {server} failed: {detail}' },
  AGENTGATE_ERR_QUEUE_NO_SUCH_QUEUE: { status: 404, message: 'Asterisk has no queue {queue}' },
  AGENTGATE_ERR_QUEUE_ALREADY_MEMBER: { status: 409, message: '{interface} is already a member of {queue}' },
  AGENTGATE_ERR_QUEUE_NOT_MEMBER: { status: 404, message: '{interface} is not a member of {queue}' },
  AGENTGATE_ERR_QUEUE_MEMBER_NOT_DYNAMIC: { status: 409, message: '{interface} is a static member of {queue}; change it in queues.conf' },
  AGENTGATE_ERR_QUEUE_INTERFACE_NOT_FOUND: { status: 404, message: 'Interface {interface} not found in {queue}' },
  AGENTGATE_ERR_QUEUE_INVALID_PENALTY: { status: 400, message: 'Invalid interface, queue name or penalty' },

  // --- ARI and dispatch
  AGENTGATE_ERR_ARI_DISCONNECTED: { status: 503, message: 'ARI connection to {server} is down' },
  AGENTGATE_ERR_ARI_TIMEOUT: { status: 504, message: 'ARI {operation} got no answer within {ms} ms' },
  AGENTGATE_ERR_ARI_FAILED: { status: 502, message: 'ARI {operation} failed: {detail}' },
  AGENTGATE_ERR_CALL_NOT_FOUND: { status: 404, message: 'No call {id} on this agentgate instance' },
  AGENTGATE_ERR_CALL_STATE: { status: 409, message: 'Call {id} cannot be {action} now: {detail}' },
  AGENTGATE_ERR_AGENT_BUSY: { status: 409, message: 'Agent {agent} is busy: {detail}' },
  AGENTGATE_ERR_DISPATCH_BAD_ARGS: { status: 400, message: 'Stasis arguments invalid: {detail}' },
  AGENTGATE_ERR_STORE: { status: 503, message: 'Store unavailable: {detail}' },
  AGENTGATE_ERR_INSTANCE_ID_IN_USE: { status: 500, message: 'Instance id {id} is in use by another running agentgate ({holder}); {hint}' },

  AGENTGATE_ERR_INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The `{name}` placeholders of a message template, as a union of names. */
type Holes<S extends string> = S extends `${string}{${infer K}}${infer Rest}` ? K | Holes<Rest> : never;

/**
 * What a code's template needs: every `{name}` in its message must be given (tsc checks it at each
 * `new AgentgateError(...)`), plus any extra detail (e.g. `decision`) kept in `details`.
 */
export type ErrorParams<C extends ErrorCode> = { readonly [K in Holes<(typeof ERROR_CODES)[C]['message']>]: unknown } & Readonly<
  Record<string, unknown>
>;

export interface ErrorOptions {
  field?: string;
  cause?: unknown;
  /** Replaces the rendered template (the code and its status stay). */
  message?: string;
}

type ErrorArgs<C extends ErrorCode> = [Holes<(typeof ERROR_CODES)[C]['message']>] extends [never]
  ? [params?: Readonly<Record<string, unknown>>, opts?: ErrorOptions]
  : [params: ErrorParams<C>, opts?: ErrorOptions];

/** An error that carries a stable code, the HTTP status it maps to and optionally the bad field. */
export class AgentgateError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly status: number;
  readonly field: string | undefined;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: C, ...args: ErrorArgs<C>) {
    const params: Readonly<Record<string, unknown>> = args[0] ?? {};
    const opts: ErrorOptions = args[1] ?? {};
    const entry = ERROR_CODES[code];
    super(opts.message ?? render(entry.message, params), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AgentgateError';
    this.code = code;
    this.status = entry.status;
    this.field = opts.field ?? (typeof params.field === 'string' ? params.field : undefined);
    this.details = params;
  }

  toJSON(): { code: ErrorCode; message: string; field?: string } {
    return this.field === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, field: this.field };
  }
}

function render(template: string, params: Record<string, unknown>): string {
  return template.replace(/\{(\w+)\}/g, (_, key: string) => (key in params ? String(params[key]) : `{${key}}`));
}
