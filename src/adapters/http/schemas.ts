/**
 * The HTTP API's request and response schemas (TypeBox → JSON Schema: ajv validates requests,
 * @fastify/swagger turns them into the OpenAPI document). Named schemas carry an `$id`: they are
 * registered once (`SHARED_SCHEMAS`, app.addSchema), referenced as `{ $ref: 'Name#' }`, and appear
 * in the OpenAPI document under components/schemas by that name, so a client generator gets a type
 * per name (User, Grant, PolicyChangePutUser, …). Every string refuses control characters (`NO_CONTROL`): values
 * reach AMI headers and ARI requests, where a CR/LF would split a message and NUL, ESC, VT, FF or DEL
 * are never meant; the error handler answers AGENTGATE_ERR_CRLF for it. Each queue action accepts
 * only the fields it uses, so a `penalty` sent to `/pause` is refused instead of ignored.
 */
import { Type, type ObjectOptions, type Static, type TProperties, type TSchema } from '@sinclair/typebox';
import {
  CALL_ACTIONS,
  DIRECT_TRANSFER,
  PORTAL_SCOPES,
  QUEUE_ACTIONS,
  ROLES,
  type PolicyChange,
  type QueueAction,
} from '../../domain/policy/index.js';

/** Every C0 control character (TAB included) and DEL. */
export const NO_CONTROL = '^[^\\u0000-\\u001f\\u007f]*$';

/** A string with no control characters; `opts` as TypeBox's. */
export const Text = (opts: { minLength?: number; maxLength?: number; description?: string } = {}) =>
  Type.String({ maxLength: 256, ...opts, pattern: NO_CONTROL });

export const ErrorBody = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String({ description: 'the bad input: body.<path>, query.<name> or params.<name>' })),
    decision: Type.Optional(Type.Unknown({ description: 'the policy decision with every check, on a 403' })),
  },
  { $id: 'Error' },
);

/** A reference to a schema of SHARED_SCHEMAS, typed as T for the handlers. */
const ref = <T>(id: string) => Type.Unsafe<T>({ $ref: `${id}#` });

const extension = Text({ minLength: 1, maxLength: 64, description: 'extension id from the directory' });
const queue = Text({ minLength: 1, maxLength: 128, description: 'queue id from the directory' });
const reason = Text({ maxLength: 128, description: 'pause reason (AMI Reason)' });
const penalty = Type.Integer({ minimum: 0, maximum: 1_000_000 });

/** The fields each queue action takes; anything else is refused (400 naming the field). */
export const QUEUE_BODIES: Record<QueueAction, TSchema> = {
  login: Type.Object(
    {
      extension,
      queue: Type.Optional(queue),
      penalty: Type.Optional(penalty),
      paused: Type.Optional(Type.Boolean({ description: 'log in paused (one QueueAdd)' })),
      reason: Type.Optional(reason),
    },
    { additionalProperties: false, description: '`reason` only with `paused: true`' },
  ),
  logout: Type.Object({ extension, queue: Type.Optional(queue) }, { additionalProperties: false }),
  pause: Type.Object({ extension, queue: Type.Optional(queue), reason: Type.Optional(reason) }, { additionalProperties: false }),
  unpause: Type.Object({ extension, queue: Type.Optional(queue) }, { additionalProperties: false }),
  penalty: Type.Object({ extension, queue: Type.Optional(queue), penalty }, { additionalProperties: false }),
};
export interface QueueBodyT {
  extension: string;
  queue?: string;
  reason?: string;
  penalty?: number;
  paused?: boolean;
}

export const MembersQuery = Type.Object(
  { queue: Type.Optional(queue), extension: Type.Optional(extension) },
  { additionalProperties: false },
);

export const ExplainQuery = Type.Object(
  {
    user: Type.Optional(Text({ minLength: 1, maxLength: 64 })),
    action: Type.Union(QUEUE_ACTIONS.map((a) => Type.Literal(a))),
    extension,
    queue: Type.Optional(queue),
  },
  { additionalProperties: false },
);

export const AuditQuery = Type.Object(
  {
    kind: Type.Optional(
      Type.Union([
        Type.Literal('dispatch'),
        Type.Literal('queue-op'),
        Type.Literal('policy-change'),
        Type.Literal('token'),
        Type.Literal('call-action'),
      ]),
    ),
    actor: Type.Optional(Text({ maxLength: 64 })),
    action: Type.Optional(Text({ maxLength: 64 })),
    extension: Type.Optional(Text({ maxLength: 64 })),
    queue: Type.Optional(Text({ maxLength: 128 })),
    call: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 128,
        pattern: '^[A-Za-z0-9._-]+$',
        description: "one call's entries (the call id of GET /v1/calls): its story, newest first",
      }),
    ),
    result: Type.Optional(Text({ maxLength: 64 })),
    since: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch' })),
    until: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export const TokenBody = Type.Object(
  {
    user: Type.Optional(Text({ minLength: 1, maxLength: 64, description: 'default: yourself' })),
    label: Text({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
export const TokenParams = Type.Object({ hash: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'sha-256 of the token, hex' }) });

// --- policy changes: one schema per op (the domain re-checks ids, references and every rule).
const Id = Text({ minLength: 1, maxLength: 128 });
const Flags = Type.Object(
  {
    inbound: Type.Optional(Type.Boolean()),
    outbound: Type.Optional(Type.Boolean()),
    blended: Type.Optional(Type.Boolean()),
    manual: Type.Optional(Type.Boolean()),
    international: Type.Optional(Type.Boolean()),
    hangup: Type.Optional(Type.Boolean()),
    hold: Type.Optional(Type.Boolean()),
    requeue: Type.Optional(Type.Boolean()),
    crossQueueRequeue: Type.Optional(Type.Boolean()),
    transfer: Type.Optional(Type.Boolean()),
    endForAll: Type.Optional(Type.Boolean()),
    internationalTransfer: Type.Optional(Type.Boolean()),
    directTransfer: Type.Optional(Type.Union(DIRECT_TRANSFER.map((d) => Type.Literal(d)))),
    ipAllow: Type.Optional(Type.Array(Text({ maxLength: 64 }), { maxItems: 64 })),
  },
  { additionalProperties: false },
);
const Address = Type.Union([
  Text({ minLength: 1, maxLength: 128 }),
  Type.Object(
    {
      endpoint: Text({ minLength: 1, maxLength: 128 }),
      delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })),
      timeoutSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })),
    },
    { additionalProperties: false },
  ),
]);
const Ids = Type.Array(Id, { maxItems: 1000 });
export const User = Type.Object(
  {
    id: Id,
    name: Type.Optional(Text({ maxLength: 128 })),
    role: Type.Union(ROLES.map((r) => Type.Literal(r))),
    scope: Type.Union(PORTAL_SCOPES.map((s) => Type.Literal(s))),
    groups: Type.Optional(Ids),
    extensions: Type.Optional(Ids),
    addresses: Type.Optional(Type.Array(Address, { maxItems: 64 })),
    flags: Type.Optional(Flags),
    server: Type.Optional(Id),
  },
  {
    $id: 'User',
    additionalProperties: false,
    description:
      'A user of the directory (in a restricted policy view, users other than the caller come without addresses and flags.ipAllow)',
  },
);
export const Group = Type.Object(
  { id: Id, name: Type.Optional(Text({ maxLength: 128 })), members: Type.Optional(Ids), supervisors: Type.Optional(Ids) },
  { $id: 'Group', additionalProperties: false },
);
export const Extension = Type.Object(
  {
    id: Id,
    interface: Text({ minLength: 1, maxLength: 128 }),
    stateInterface: Type.Optional(Text({ minLength: 1, maxLength: 128 })),
    name: Type.Optional(Text({ maxLength: 128 })),
    server: Type.Optional(Id),
  },
  { $id: 'Extension', additionalProperties: false },
);
export const Queue = Type.Object(
  { id: Id, name: Type.Optional(Text({ maxLength: 128 })), server: Type.Optional(Id) },
  { $id: 'Queue', additionalProperties: false },
);
export const Grant = Type.Object(
  {
    id: Id,
    subject: Text({ minLength: 1, maxLength: 200 }),
    actions: Type.Array(Type.Union(QUEUE_ACTIONS.map((a) => Type.Literal(a))), { minItems: 1, maxItems: QUEUE_ACTIONS.length }),
    targets: Type.Array(Text({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000 }),
    note: Type.Optional(Text({ maxLength: 1000 })),
  },
  { $id: 'Grant', additionalProperties: false },
);
/** `add-grant` → `PolicyChangeAddGrant`: the component name a client generator makes a type of. */
const changeId = (name: string): string => `PolicyChange${name.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase())}`;
const op = <K extends string, P extends Record<string, TSchema>>(name: K, description: string, props: P) =>
  Type.Object({ op: Type.Literal(name), ...props }, { $id: changeId(name), additionalProperties: false, title: name, description });
const idOf = (what: string) => Text({ minLength: 1, maxLength: 128, description: `id of the ${what} to remove` });
/** Every policy-change `op`, one schema each (docs/api.md lists them with an example). */
export const POLICY_CHANGES = [
  op('add-grant', 'Add a grant (a new id). The actor must itself hold every action of the grant on every target (no-escalation).', {
    grant: ref<Static<typeof Grant>>('Grant'),
  }),
  op('remove-grant', 'Remove a grant by id.', { id: idOf('grant') }),
  op(
    'put-user',
    "Create or replace a user (the whole object). No role above the actor's own; putting the user into groups hands out those groups' grants, which the actor must hold.",
    { user: ref<Static<typeof User>>('User') },
  ),
  op('remove-user', "Remove a user (not one whose role is above the actor's).", { id: idOf('user') }),
  op(
    'put-group',
    "Create or replace a user group (members and supervisors are user ids). Adding members hands out the group's grants, which the actor must hold.",
    { group: ref<Static<typeof Group>>('Group') },
  ),
  op('remove-group', 'Remove a user group.', { id: idOf('group') }),
  op('put-extension', 'Create or replace an extension (`interface` as Asterisk names it, e.g. PJSIP/1001).', {
    extension: ref<Static<typeof Extension>>('Extension'),
  }),
  op('remove-extension', 'Remove an extension.', { id: idOf('extension') }),
  op('put-queue', 'Create or replace a queue (its id is the Asterisk queue name).', { queue: ref<Static<typeof Queue>>('Queue') }),
  op('remove-queue', 'Remove a queue.', { id: idOf('queue') }),
];
/**
 * `oneOf` with a discriminator on `op` (ajv's `discriminator` option): ajv checks only the branch
 * `op` selects, so an error names that branch's field (`body.change.user`), not "must match a
 * schema in anyOf". The branches are references to named schemas: OpenAPI's discriminator selects
 * only named schemas (its `mapping`, which ajv does not accept, is added to the document by the
 * HTTP server's transformObject).
 */
const Change = Type.Unsafe<PolicyChange>({
  type: 'object',
  required: ['op'],
  oneOf: POLICY_CHANGES.map((c) => ({ $ref: `${String(c.$id)}#` })),
  discriminator: { propertyName: 'op' },
});
export const ChangeBody = Type.Object(
  {
    expectedVersion: Type.Integer({
      minimum: 0,
      description:
        'the policy version the change was made against (GET /v1/policy); another one in force: 409 AGENTGATE_ERR_POLICY_VERSION',
    }),
    change: Change,
  },
  {
    additionalProperties: false,
    description:
      'One change, selected by `op`. Only administrators and owners change the policy; nobody gives a role above their own or a right they do not hold; only an owner makes, changes or removes an owner. ' +
      'The resulting document is validated as a whole (a reference to something missing is refused); each accepted change is a new version and is audited (kind policy-change).',
  },
);
export type ChangeBodyT = Static<typeof ChangeBody>;

// --- responses: what a client generator builds its types from. Closed objects: every field an answer
// carries is listed. test/http/openapi.test.ts checks real answers of a running daemon against these
// (the serializer does not enforce them).
const Closed = <P extends TProperties>(props: P, opts: ObjectOptions = {}) => Type.Object(props, { additionalProperties: false, ...opts });
const Check = Closed({
  name: Type.String({ description: 'the check: actor, scope, ip, target, extension-grant, queue-grant, role, supervision, …' }),
  passed: Type.Boolean(),
  detail: Type.String({ description: 'a sentence for people' }),
  grants: Type.Optional(Type.Array(Type.String(), { description: 'ids of the grants this check used' })),
});
export const Decision = Closed(
  {
    allowed: Type.Boolean(),
    reasons: Type.Array(Check, { description: 'every check, passed or not' }),
    matched: Type.Array(Type.String(), { description: 'ids of every grant that matched, in document order' }),
  },
  { $id: 'Decision', description: 'A policy decision with the reason for each check' },
);
export const QueueOperationResult = Closed(
  {
    ok: Type.Boolean({ description: 'always true on 200' }),
    action: Type.Union(QUEUE_ACTIONS.map((a) => Type.Literal(a))),
    extension: Type.String(),
    queue: Type.Optional(Type.String()),
    interface: Type.String({ description: 'the queue member interface, e.g. PJSIP/1001' }),
    server: Type.String({ description: 'the Asterisk server (config servers[].name) that applied it' }),
    ami: Closed({
      response: Type.String({ description: "Asterisk's Response header" }),
      message: Type.String({ description: "Asterisk's Message header" }),
      alreadyDone: Type.Optional(Type.Boolean({ description: 'logout of a member that was not there: counts as done' })),
    }),
    decision: ref<unknown>('Decision'),
    auditId: Type.Optional(Type.String({ description: 'absent when the Store refused the audit record: it waits in the audit buffer' })),
  },
  { $id: 'QueueOperationResult' },
);
export const QueueMember = Closed(
  {
    server: Type.String(),
    queue: Type.String(),
    interface: Type.String(),
    memberName: Type.String(),
    stateInterface: Type.String(),
    penalty: Type.Integer(),
    paused: Type.Boolean(),
    pausedReason: Type.String(),
    status: Type.Integer({ description: "Asterisk's device status (AST_DEVICE_*: 1 not in use, 2 in use, 5 unavailable, 6 ringing, …)" }),
    dynamic: Type.Boolean({ description: 'added by QueueAdd (agentgate can remove it), not from queues.conf' }),
    extension: Type.Optional(Type.String({ description: 'the directory extension with this interface' })),
    user: Type.Optional(Type.String({ description: 'the user owning that extension' })),
  },
  { $id: 'QueueMember' },
);
export const MembersResult = Closed({ members: Type.Array(ref<unknown>('QueueMember')) });
const ActionScope = Closed({ extensions: Type.Array(Type.String()), queues: Type.Array(Type.String()) });
export const CapabilitiesResult = Closed(
  {
    user: Type.String(),
    queueButton: Type.Boolean({ description: 'show the queue action button at all' }),
    actions: Closed(Object.fromEntries(QUEUE_ACTIONS.map((a) => [a, ActionScope])) as Record<QueueAction, typeof ActionScope>, {
      description: 'per action: the extensions and queues it may be used on',
    }),
  },
  { $id: 'Capabilities' },
);
export const ExplainResult = Closed({
  allowed: Type.Boolean(),
  reasons: Type.Array(Check),
  matched: Type.Array(Type.String()),
  text: Type.String({ description: 'the decision in sentences, as `agentgate explain` prints it' }),
});
export const AuditEntry = Closed(
  {
    id: Type.String({ description: 'the Store id (Redis stream id); ids sort in time order' }),
    kind: Type.Union([
      Type.Literal('dispatch'),
      Type.Literal('queue-op'),
      Type.Literal('policy-change'),
      Type.Literal('token'),
      Type.Literal('call-action'),
    ]),
    at: Type.Integer({ description: 'ms since the epoch' }),
    actor: Type.Optional(Type.String()),
    action: Type.Optional(Type.String()),
    extension: Type.Optional(Type.String()),
    queue: Type.Optional(Type.String()),
    call: Type.Optional(
      Type.String({ description: 'the call (dispatch id) the entry is about; absent on older entries and on entries about no call' }),
    ),
    result: Type.String(),
    detail: Type.Object(
      {},
      { additionalProperties: true, description: 'the request, the decision with its reasons, the AMI answer, the legs of a call, …' },
    ),
  },
  { $id: 'AuditEntry' },
);
export const AuditResult = Closed({ entries: Type.Array(ref<unknown>('AuditEntry')) });
export const PolicyResult = Closed(
  {
    version: Type.Integer({ minimum: 0 }),
    view: Type.Union([Type.Literal('full'), Type.Literal('restricted')]),
    doc: Closed({
      users: Type.Array(ref<unknown>('User')),
      groups: Type.Array(ref<unknown>('Group')),
      extensions: Type.Array(ref<unknown>('Extension')),
      queues: Type.Array(ref<unknown>('Queue')),
      grants: Type.Array(ref<unknown>('Grant')),
    }),
  },
  { $id: 'PolicyView' },
);
export const ChangeResult = Closed({ ok: Type.Boolean(), version: Type.Integer({ minimum: 1, description: 'the new policy version' }) });
export const TokenResult = Closed({
  token: Type.String({ description: 'shown once: agentgate keeps only its sha-256' }),
  user: Type.String(),
  tokenHash: Type.String({ description: 'sha-256 of the token, hex: what DELETE /v1/tokens/{hash} takes' }),
});
export const OkResult = Closed({ ok: Type.Boolean() });
export const ErrorCodesResult = Type.Array(Closed({ code: Type.String(), status: Type.Integer() }));

// --- calls (docs/api.md "Calls")
export const CallParams = Type.Object({
  callId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9._-]+$', description: 'the call id of GET /v1/calls' }),
});
/** A number or extension the dialplan can take as an extension (`+` first for E.164). */
const transferNumber = Type.String({
  minLength: 1,
  maxLength: 40,
  pattern: '^\\+?[0-9A-Za-z*#]+$',
  description: 'the number or extension to send the customer to (transfer context, priority 1)',
});
/**
 * One object, not a union of the two forms: a union's validation error names the first form's field
 * (`body.to`) for a mistake in the second. Which form, and that they are not mixed, the route checks.
 */
export const TransferBody = Type.Object(
  {
    to: Type.Optional(transferNumber),
    agent: Type.Optional(Text({ minLength: 1, maxLength: 64, description: 'direct transfer: the colleague (user id) to ring' })),
    mode: Type.Optional(Type.Union([Type.Literal('blind'), Type.Literal('warm')], { description: 'direct transfer: blind or warm' })),
  },
  {
    additionalProperties: false,
    description:
      '`{to}`: blind transfer to a number; `{agent, mode}`: direct transfer to a colleague, rung on every address (blind or warm)',
  },
);
export type TransferBodyT = { to?: string; agent?: string; mode?: 'blind' | 'warm' };
export const RequeueBody = Type.Object(
  { queue: Type.Optional(queue) },
  {
    additionalProperties: false,
    description: '`queue` absent: back to the queue the call came from; another queue needs crossQueueRequeue',
  },
);
const ActionCapability = Closed({ allowed: Type.Boolean(), reasons: Type.Array(Check) });
export const CallView = Closed(
  {
    id: Type.String(),
    server: Type.String({ description: 'the Asterisk server (config servers[].name)' }),
    agent: Type.String({ description: 'the agent the call is for (user id)' }),
    caller: Closed({ number: Type.String(), name: Type.String() }),
    endpoint: Type.Optional(Type.String({ description: 'the device that answered, e.g. PJSIP/1001' })),
    queue: Type.Optional(Type.String({ description: 'the queue the call came from (Stasis argument)' })),
    state: Type.Union([Type.Literal('ringing'), Type.Literal('talking'), Type.Literal('on_hold')]),
    startedAt: Type.Integer({ description: 'ms since the epoch' }),
    answeredAt: Type.Optional(Type.Integer()),
    holdSince: Type.Optional(Type.Integer()),
    holdBy: Type.Optional(Type.Union([Type.Literal('api'), Type.Literal('phone')])),
    holdTooLong: Type.Boolean({ description: 'on hold longer than calls.holdAlertSec' }),
    partner: Type.Optional(
      Closed(
        {
          agent: Type.String({ description: 'the colleague (user id)' }),
          endpoint: Type.Optional(Type.String({ description: 'the device the colleague answered on' })),
        },
        { description: 'after a warm transfer: the colleague in the call with the agent and the customer' },
      ),
    ),
    transferring: Type.Optional(
      Closed(
        {
          agent: Type.String({ description: 'the colleague being rung (user id)' }),
          mode: Type.Union([Type.Literal('blind'), Type.Literal('warm')]),
        },
        { description: "a direct transfer's round rings this colleague now" },
      ),
    ),
    capabilities: Closed(Object.fromEntries(CALL_ACTIONS.map((a) => [a, ActionCapability])), {
      description: 'per action: may the requesting user do it now, with every check',
    }),
  },
  { $id: 'CallView' },
);
export const CallsResult = Closed({ calls: Type.Array(ref<unknown>('CallView')) });
export const CallActionResult = Closed(
  {
    ok: Type.Boolean({ description: 'always true on 200' }),
    callId: Type.String(),
    action: Type.Union(
      CALL_ACTIONS.map((a) => Type.Literal(a)),
      { description: 'the action decided (requeue to another queue: crossQueueRequeue)' },
    ),
    decision: ref<unknown>('Decision'),
    call: Type.Optional(ref<unknown>('CallView')),
    result: Type.Optional(Type.String({ description: 'how the call ended, when it did: AGENT_HANGUP, ENDED, TRANSFERRED, REQUEUED, …' })),
    auditId: Type.Optional(Type.String()),
    transfer: Type.Optional(
      Closed(
        {
          target: Type.String({ description: 'the colleague (user id) being rung' }),
          mode: Type.Union([Type.Literal('blind'), Type.Literal('warm')]),
          state: Type.Literal('ringing'),
          devices: Type.Array(Type.String(), { description: "the colleague's devices rung (offline ones skipped)" }),
        },
        { description: 'direct transfer `{agent, mode}`: the round started; how it ends shows in GET /v1/calls and the audit' },
      ),
    ),
  },
  { $id: 'CallActionResult' },
);

/** Every schema with an `$id`, registered once on the fastify instance before the routes. */
export const SHARED_SCHEMAS: TSchema[] = [
  ErrorBody,
  User,
  Group,
  Extension,
  Queue,
  Grant,
  ...POLICY_CHANGES,
  Decision,
  QueueOperationResult,
  QueueMember,
  CapabilitiesResult,
  AuditEntry,
  PolicyResult,
  CallView,
  CallActionResult,
];

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
/** tsc fails here when the domain gains a policy-change op that POLICY_CHANGES does not document, or the reverse. */
export type EveryPolicyChangeDocumented = Assert<Same<Static<(typeof POLICY_CHANGES)[number]>['op'], PolicyChange['op']>>;
