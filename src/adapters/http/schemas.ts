/**
 * The HTTP API's request schemas (TypeBox → JSON Schema: ajv validates them, @fastify/swagger turns
 * them into the OpenAPI document). Every string refuses control characters (`NO_CONTROL`): values
 * reach AMI headers and ARI requests, where a CR/LF would split a message and NUL, ESC, VT, FF or DEL
 * are never meant; the error handler answers AGENTGATE_ERR_CRLF for it. Each queue action accepts
 * only the fields it uses, so a `penalty` sent to `/pause` is refused instead of ignored.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { DIRECT_TRANSFER, PORTAL_SCOPES, QUEUE_ACTIONS, ROLES, type PolicyChange, type QueueAction } from '../../domain/policy/index.js';

/** Every C0 control character (TAB included) and DEL. */
export const NO_CONTROL = '^[^\\u0000-\\u001f\\u007f]*$';

/** A string with no control characters; `opts` as TypeBox's. */
export const Text = (opts: { minLength?: number; maxLength?: number; description?: string } = {}) => Type.String({ maxLength: 256, ...opts, pattern: NO_CONTROL });

export const ErrorBody = Type.Object(
  {
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String({ description: 'the bad input: body.<path>, query.<name> or params.<name>' })),
    decision: Type.Optional(Type.Unknown({ description: 'the policy decision with every check, on a 403' })),
  },
  { $id: 'Error' },
);

const extension = Text({ minLength: 1, maxLength: 64, description: 'extension id from the directory' });
const queue = Text({ minLength: 1, maxLength: 128, description: 'queue id from the directory' });
const reason = Text({ maxLength: 128, description: 'pause reason (AMI Reason)' });
const penalty = Type.Integer({ minimum: 0, maximum: 1_000_000 });

/** The fields each queue action takes; anything else is refused (400 naming the field). */
export const QUEUE_BODIES: Record<QueueAction, TSchema> = {
  login: Type.Object(
    { extension, queue: Type.Optional(queue), penalty: Type.Optional(penalty), paused: Type.Optional(Type.Boolean({ description: 'log in paused (one QueueAdd)' })), reason: Type.Optional(reason) },
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

export const MembersQuery = Type.Object({ queue: Type.Optional(queue), extension: Type.Optional(extension) }, { additionalProperties: false });

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
    kind: Type.Optional(Type.Union([Type.Literal('dispatch'), Type.Literal('queue-op'), Type.Literal('policy-change'), Type.Literal('token')])),
    actor: Type.Optional(Text({ maxLength: 64 })),
    action: Type.Optional(Text({ maxLength: 64 })),
    extension: Type.Optional(Text({ maxLength: 64 })),
    queue: Type.Optional(Text({ maxLength: 128 })),
    result: Type.Optional(Text({ maxLength: 64 })),
    since: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch' })),
    until: Type.Optional(Type.Integer({ minimum: 0, description: 'ms since the epoch' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
  },
  { additionalProperties: false },
);

export const TokenBody = Type.Object(
  { user: Type.Optional(Text({ minLength: 1, maxLength: 64, description: 'default: yourself' })), label: Text({ minLength: 1, maxLength: 64 }) },
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
    directTransfer: Type.Optional(Type.Union(DIRECT_TRANSFER.map((d) => Type.Literal(d)))),
    ipAllow: Type.Optional(Type.Array(Text({ maxLength: 64 }), { maxItems: 64 })),
  },
  { additionalProperties: false },
);
const Address = Type.Union([
  Text({ minLength: 1, maxLength: 128 }),
  Type.Object(
    { endpoint: Text({ minLength: 1, maxLength: 128 }), delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })), timeoutSec: Type.Optional(Type.Integer({ minimum: 1, maximum: 3600 })) },
    { additionalProperties: false },
  ),
]);
const Ids = Type.Array(Id, { maxItems: 1000 });
const User = Type.Object(
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
  { additionalProperties: false },
);
const Group = Type.Object({ id: Id, name: Type.Optional(Text({ maxLength: 128 })), members: Type.Optional(Ids), supervisors: Type.Optional(Ids) }, { additionalProperties: false });
const Extension = Type.Object(
  { id: Id, interface: Text({ minLength: 1, maxLength: 128 }), stateInterface: Type.Optional(Text({ minLength: 1, maxLength: 128 })), name: Type.Optional(Text({ maxLength: 128 })), server: Type.Optional(Id) },
  { additionalProperties: false },
);
const Queue = Type.Object({ id: Id, name: Type.Optional(Text({ maxLength: 128 })), server: Type.Optional(Id) }, { additionalProperties: false });
const Grant = Type.Object(
  {
    id: Id,
    subject: Text({ minLength: 1, maxLength: 200 }),
    actions: Type.Array(Type.Union(QUEUE_ACTIONS.map((a) => Type.Literal(a))), { minItems: 1, maxItems: QUEUE_ACTIONS.length }),
    targets: Type.Array(Text({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: 1000 }),
    note: Type.Optional(Text({ maxLength: 1000 })),
  },
  { additionalProperties: false },
);
const op = <K extends string, P extends Record<string, TSchema>>(name: K, props: P) =>
  Type.Object({ op: Type.Literal(name), ...props }, { additionalProperties: false, title: name });
const CHANGES = [
  op('add-grant', { grant: Grant }),
  op('remove-grant', { id: Id }),
  op('put-user', { user: User }),
  op('remove-user', { id: Id }),
  op('put-group', { group: Group }),
  op('remove-group', { id: Id }),
  op('put-extension', { extension: Extension }),
  op('remove-extension', { id: Id }),
  op('put-queue', { queue: Queue }),
  op('remove-queue', { id: Id }),
];
/**
 * `oneOf` with a discriminator on `op` (ajv's `discriminator` option): ajv checks only the branch
 * `op` selects, so an error names that branch's field (`body.change.user`), not "must match a
 * schema in anyOf"; OpenAPI shows the same discriminator.
 */
const Change = Type.Unsafe<PolicyChange>({ type: 'object', required: ['op'], oneOf: CHANGES, discriminator: { propertyName: 'op' } });
export const ChangeBody = Type.Object({ expectedVersion: Type.Integer({ minimum: 0 }), change: Change }, { additionalProperties: false });
export type ChangeBodyT = Static<typeof ChangeBody>;
