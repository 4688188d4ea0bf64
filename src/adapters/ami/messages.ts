/**
 * One schema per AMI message kind agentgate consumes, and the translation of a checked message into
 * a typed value. Everything else in an AMI message is ignored.
 *
 * Why: asterisk-manager 0.2.0 lower-cases header names and turns a repeated header into an array
 * (`Queue: a` twice → `queue: ['a', 'a']`), takes `Key : value` as `key`, and builds its objects with
 * `key in item`, so a header named `toString` or `__proto__` lands as a non-string value. A field we
 * read must therefore be checked, never assumed to be a string. A message that fails its schema is
 * malformed: the caller logs it (naming the field) and drops it; nothing of it reaches state.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { QueueMemberState } from '../../ports/queue-control.js';

/** An AMI message as received: own keys only, values not trusted (string, array, object...). */
export type RawAmiMessage = Readonly<Record<string, unknown>>;

/** Decimal digits, the way Asterisk prints counters, penalties and states. */
const Digits = Type.String({ pattern: '^[0-9]{1,9}$' });
const Text = Type.String({ maxLength: 1024 });
const Name = Type.String({ minLength: 1, maxLength: 256 });

/** QueueMemberAdded / QueueMemberPause / QueueMemberPenalty / QueueMemberStatus / QueueMemberRinginuse. */
const QueueMemberEvent = Type.Object({
  queue: Name,
  interface: Name,
  membername: Type.Optional(Text),
  stateinterface: Type.Optional(Text),
  membership: Type.Optional(Type.String({ maxLength: 32 })),
  penalty: Type.Optional(Digits),
  paused: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1')])),
  pausedreason: Type.Optional(Text),
  status: Type.Optional(Digits),
});

const QueueMemberRemovedEvent = Type.Object({ queue: Name, interface: Name });

/** A QueueStatus list item `Event: QueueMember` (Name and Location instead of MemberName and Interface). */
const QueueStatusMember = Type.Object({
  queue: Name,
  location: Name,
  name: Type.Optional(Text),
  stateinterface: Type.Optional(Text),
  membership: Type.Optional(Type.String({ maxLength: 32 })),
  penalty: Type.Optional(Digits),
  paused: Type.Optional(Type.Union([Type.Literal('0'), Type.Literal('1')])),
  pausedreason: Type.Optional(Text),
  status: Type.Optional(Digits),
});

/** `Event: UserEvent` with `UserEvent: AgentGate` (a feature code, or someone pretending to be one). */
const FeatureUserEvent = Type.Object({
  userevent: Type.String(),
  action: Type.Optional(Type.String({ maxLength: 64 })),
  channel: Type.Optional(Type.String({ maxLength: 256 })),
  uniqueid: Type.Optional(Type.String({ maxLength: 128 })),
  queue: Type.Optional(Type.String({ maxLength: 256 })),
  reason: Type.Optional(Text),
  penalty: Type.Optional(Type.String({ maxLength: 32 })),
});

/** The answer to one action: Response (Success, Error, Goodbye...) and its Message. */
const ActionResponse = Type.Object({
  response: Type.String({ maxLength: 64 }),
  message: Type.Optional(Text),
});

const EventName = Type.Object({ event: Type.String({ pattern: '^[A-Za-z][A-Za-z0-9_]{0,63}$' }) });

const checkers = new Map<TSchema, TypeCheck<TSchema>>();
function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let c = checkers.get(schema);
  if (!c) checkers.set(schema, (c = TypeCompiler.Compile(schema)));
  return c as TypeCheck<T>;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; field: string; detail: string };

/** Checks msg against schema; on failure names the first bad field (`queue`, `penalty`...). */
function check<T extends TSchema>(schema: T, msg: RawAmiMessage): Decoded<Static<T>> {
  const c = checker(schema);
  if (c.Check(msg)) return { ok: true, value: msg as Static<T> };
  const first = c.Errors(msg).First();
  const field = first ? first.path.replace(/^\//, '') || '(message)' : '(message)';
  const value = first?.value;
  const shown = Array.isArray(value)
    ? `repeated header (${value.length} values)`
    : value === undefined
      ? 'missing'
      : typeof value === 'string'
        ? 'not the expected form'
        : `not a string (${typeof value})`;
  return { ok: false, field, detail: shown };
}

/** Copies a message as asterisk-manager built it into a plain record of its own keys. */
export function ownFields(raw: object): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const k of Object.keys(raw)) out[k] = (raw as Record<string, unknown>)[k];
  return out;
}

export type { QueueMemberState };

export type AmiEvent =
  | { kind: 'member'; event: string; member: QueueMemberState }
  | { kind: 'member-removed'; queue: string; interface: string }
  | { kind: 'feature'; action?: string; channel?: string; uniqueid?: string; queue?: string; reason?: string; penalty?: string }
  | { kind: 'fully-booted' };

const MEMBER_EVENTS = new Set(['queuememberadded', 'queuememberpause', 'queuememberpenalty', 'queuememberstatus', 'queuememberringinuse']);

/** The event's name, lower-cased, or a failure when Event is missing, repeated or odd. */
export function eventName(msg: RawAmiMessage): Decoded<string> {
  const r = check(EventName, msg);
  return r.ok ? { ok: true, value: r.value.event.toLowerCase() } : r;
}

/**
 * A consumed event as a typed value; `undefined` for events agentgate does not consume (they are
 * not checked: their fields are never read).
 */
export function decodeEvent(msg: RawAmiMessage): Decoded<AmiEvent> | undefined {
  const name = eventName(msg);
  if (!name.ok) return name;
  const ev = name.value;
  if (MEMBER_EVENTS.has(ev)) {
    const r = check(QueueMemberEvent, msg);
    if (!r.ok) return r;
    const e = r.value;
    return {
      ok: true,
      value: {
        kind: 'member',
        event: ev,
        member: memberState(e.queue, e.interface, e.membername, e),
      },
    };
  }
  if (ev === 'queuememberremoved') {
    const r = check(QueueMemberRemovedEvent, msg);
    return r.ok ? { ok: true, value: { kind: 'member-removed', queue: r.value.queue, interface: r.value.interface } } : r;
  }
  if (ev === 'fullybooted') return { ok: true, value: { kind: 'fully-booted' } };
  if (ev === 'userevent') {
    const ue = msg.userevent;
    // Only AgentGate's own UserEvents are read; a repeated UserEvent header is malformed.
    if (typeof ue === 'string' && ue.toLowerCase() !== 'agentgate') return undefined;
    const r = check(FeatureUserEvent, msg);
    if (!r.ok) return r;
    const { action, channel, uniqueid, queue, reason, penalty } = r.value;
    const value: AmiEvent = { kind: 'feature' };
    if (action !== undefined) value.action = action;
    if (channel !== undefined) value.channel = channel;
    if (uniqueid !== undefined) value.uniqueid = uniqueid;
    if (queue !== undefined) value.queue = queue;
    if (reason !== undefined) value.reason = reason;
    if (penalty !== undefined) value.penalty = penalty;
    return { ok: true, value };
  }
  return undefined;
}

/** A QueueStatus `QueueMember` item; `undefined` for other items (QueueParams, QueueEntry). */
export function decodeStatusItem(msg: RawAmiMessage): Decoded<QueueMemberState> | undefined {
  const name = eventName(msg);
  if (!name.ok) return name;
  if (name.value !== 'queuemember') return undefined;
  const r = check(QueueStatusMember, msg);
  if (!r.ok) return r;
  return { ok: true, value: memberState(r.value.queue, r.value.location, r.value.name, r.value) };
}

export interface AmiResponse {
  response: string;
  message: string;
}

/** The answer to an action. */
export function decodeResponse(msg: RawAmiMessage): Decoded<AmiResponse> {
  const r = check(ActionResponse, msg);
  return r.ok ? { ok: true, value: { response: r.value.response, message: r.value.message ?? '' } } : r;
}

function memberState(
  queue: string,
  iface: string,
  memberName: string | undefined,
  e: { stateinterface?: string; membership?: string; penalty?: string; paused?: string; pausedreason?: string; status?: string },
): QueueMemberState {
  return {
    queue,
    interface: iface,
    memberName: memberName ?? iface,
    stateInterface: e.stateinterface ?? iface,
    penalty: Number(e.penalty ?? 0),
    paused: e.paused === '1',
    pausedReason: e.pausedreason ?? '',
    status: Number(e.status ?? 0),
    dynamic: (e.membership ?? 'dynamic') !== 'static',
  };
}
