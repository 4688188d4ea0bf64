/**
 * Reads a policy document (the `directory` section of the config, or a document from the Store or
 * the API) into a PolicyDoc. Every problem is reported with its path (`users[3].flags.blended`),
 * all at once: shape, unknown keys (typos), CR/LF anywhere (values reach AMI), duplicate ids,
 * references to unknown users/groups/extensions/queues, an extension owned twice, and blended
 * without both inbound and outbound.
 *
 * Longer than 400 lines on purpose: one reader per section of the document, together so that every error path is built the same way.
 */
import { isValidIpPattern } from './ip.js';
import {
  DEFAULT_FLAGS,
  DIRECT_TRANSFER,
  PORTAL_SCOPES,
  QUEUE_ACTIONS,
  ROLES,
  type Address,
  type CallFlags,
  type Extension,
  type Grant,
  type Group,
  type PolicyDoc,
  type PolicyIssue,
  type PolicyResult,
  type Queue,
  type User,
} from './types.js';
import type { PolicyChange } from './admin.js';

const USER_ID = /^[a-z0-9._-]{1,64}$/;
const GROUP_ID = /^[A-Za-z0-9._-]{1,64}$/;
const EXTENSION_ID = /^[A-Za-z0-9._+#*-]{1,64}$/;
const QUEUE_ID = /^[A-Za-z0-9._-]{1,128}$/;
const GRANT_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const SERVER_NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** `Tech/resource`: what AMI and ARI take as an interface or endpoint. */
const INTERFACE = /^[A-Za-z0-9_-]+\/[^\s,|;]+$/;

const BOOL_FLAGS = [
  'inbound',
  'outbound',
  'blended',
  'manual',
  'international',
  'hangup',
  'hold',
  'requeue',
  'crossQueueRequeue',
  'transfer',
  'endForAll',
  'internationalTransfer',
] as const;
const FLAG_KEYS: readonly string[] = [...BOOL_FLAGS, 'directTransfer', 'ipAllow'];

type Obj = Record<string, unknown>;

// eslint-disable-next-line no-control-regex -- control characters are exactly what it finds
const CONTROL = /[\u0000-\u001f\u007f]/;

class Reader {
  readonly errors: PolicyIssue[] = [];

  err(path: string, message: string): void {
    this.errors.push({ path, message });
  }

  obj(v: unknown, path: string, allowed: readonly string[]): Obj | undefined {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.err(path, 'must be a mapping');
      return undefined;
    }
    for (const k of Object.keys(v)) if (!allowed.includes(k)) this.err(`${path}.${k}`, `unknown key (allowed: ${allowed.join(', ')})`);
    return v as Obj;
  }

  arr(v: unknown, path: string, optional = true): unknown[] {
    if (v === undefined && optional) return [];
    if (!Array.isArray(v)) {
      this.err(path, 'must be a list');
      return [];
    }
    return v;
  }

  /** A string with no control characters (CR/LF would split an AMI message). */
  str(v: unknown, path: string, pattern?: RegExp, what?: string): string | undefined {
    if (typeof v === 'number' && pattern !== undefined) v = String(v); // `1001` unquoted in YAML
    if (typeof v !== 'string') {
      this.err(path, 'must be a string');
      return undefined;
    }
    if (CONTROL.test(v)) {
      this.err(path, /[\r\n]/.test(v) ? 'must not contain CR or LF' : 'must not contain control characters');
      return undefined;
    }
    if (pattern && !pattern.test(v)) {
      this.err(path, `must be ${what ?? `a string matching ${pattern.source}`}`);
      return undefined;
    }
    return v;
  }

  optStr(v: unknown, path: string, pattern?: RegExp, what?: string): string | undefined {
    return v === undefined ? undefined : this.str(v, path, pattern, what);
  }

  oneOf<T extends string>(v: unknown, path: string, values: readonly T[], dflt?: T): T | undefined {
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.err(path, `must be one of ${values.join(' | ')}`);
      return undefined;
    }
    return v as T;
  }

  bool(v: unknown, path: string): boolean {
    if (v === undefined) return false;
    if (typeof v !== 'boolean') {
      this.err(path, 'must be true or false');
      return false;
    }
    return v;
  }

  int(v: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.err(path, `must be an integer from ${min} to ${max}`);
      return undefined;
    }
    return v;
  }

  ids(v: unknown, path: string, pattern: RegExp, what: string): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    this.arr(v, path).forEach((x, i) => {
      // Valid items (nearly all) take the fast path: their path text is built only for an error.
      const s = typeof x === 'string' && pattern.test(x) && !CONTROL.test(x) ? x : this.str(x, `${path}[${i}]`, pattern, what);
      if (s === undefined) return;
      if (seen.has(s)) this.err(`${path}[${i}]`, `'${s}' is listed twice`);
      seen.add(s);
      out.push(s);
    });
    return out;
  }
}

function readFlags(r: Reader, v: unknown, path: string): CallFlags {
  const flags: CallFlags = { ...DEFAULT_FLAGS, ipAllow: [] };
  if (v === undefined) return flags;
  const o = r.obj(v, path, FLAG_KEYS);
  if (!o) return flags;
  for (const k of BOOL_FLAGS) {
    const b = o[k];
    flags[k] = b === undefined ? false : typeof b === 'boolean' ? b : r.bool(b, `${path}.${k}`);
  }
  flags.directTransfer = r.oneOf(o.directTransfer, `${path}.directTransfer`, DIRECT_TRANSFER, 'disabled') ?? 'disabled';
  r.arr(o.ipAllow, `${path}.ipAllow`).forEach((x, i) => {
    const s = r.str(x, `${path}.ipAllow[${i}]`);
    if (s === undefined) return;
    if (!isValidIpPattern(s)) r.err(`${path}.ipAllow[${i}]`, `'${s}' is not an IPv4 address, IPv4 pattern with % octets, or IPv6 literal`);
    else flags.ipAllow.push(s);
  });
  if (flags.blended && !(flags.inbound && flags.outbound)) {
    r.err(`${path}.blended`, 'blended requires both inbound and outbound to be true');
  }
  return flags;
}

function readAddress(r: Reader, v: unknown, path: string): Address | undefined {
  if (typeof v === 'string') {
    const endpoint = r.str(v, path, INTERFACE, 'an endpoint like PJSIP/1001');
    return endpoint === undefined ? undefined : { endpoint, delayMs: 0 };
  }
  const o = r.obj(v, path, ['endpoint', 'delayMs', 'timeoutSec']);
  if (!o) return undefined;
  const endpoint = r.str(o.endpoint, `${path}.endpoint`, INTERFACE, 'an endpoint like PJSIP/1001');
  const delayMs = o.delayMs === undefined ? 0 : r.int(o.delayMs, `${path}.delayMs`, 0, 3_600_000);
  const timeoutSec = o.timeoutSec === undefined ? undefined : r.int(o.timeoutSec, `${path}.timeoutSec`, 1, 3600);
  if (endpoint === undefined || delayMs === undefined) return undefined;
  return timeoutSec === undefined ? { endpoint, delayMs } : { endpoint, delayMs, timeoutSec };
}

function readUser(r: Reader, v: unknown, path: string): User | undefined {
  const o = r.obj(v, path, ['id', 'name', 'role', 'scope', 'groups', 'extensions', 'addresses', 'flags', 'server']);
  if (!o) return undefined;
  const id = r.str(o.id, `${path}.id`, USER_ID, 'a user id of a-z 0-9 . _ -');
  const name = o.name === undefined ? id : r.str(o.name, `${path}.name`);
  const role = r.oneOf(o.role, `${path}.role`, ROLES);
  const scope = r.oneOf(o.scope, `${path}.scope`, PORTAL_SCOPES);
  const groups = r.ids(o.groups, `${path}.groups`, GROUP_ID, 'a group id');
  const extensions = r.ids(o.extensions, `${path}.extensions`, EXTENSION_ID, 'an extension id');
  const addresses: Address[] = [];
  r.arr(o.addresses, `${path}.addresses`).forEach((a, i) => {
    const addr = readAddress(r, a, `${path}.addresses[${i}]`);
    if (addr) addresses.push(addr);
  });
  const flags = readFlags(r, o.flags, `${path}.flags`);
  const server = r.optStr(o.server, `${path}.server`, SERVER_NAME, 'a server name');
  if (id === undefined || name === undefined || role === undefined || scope === undefined) return undefined;
  const user: User = { id, name, role, scope, groups, extensions, addresses, flags };
  if (server !== undefined) user.server = server;
  return user;
}

function readGroup(r: Reader, v: unknown, path: string): Group | undefined {
  const o = r.obj(v, path, ['id', 'name', 'members', 'supervisors']);
  if (!o) return undefined;
  const id = r.str(o.id, `${path}.id`, GROUP_ID, 'a group id of A-Z a-z 0-9 . _ -');
  const name = r.optStr(o.name, `${path}.name`);
  const members = r.ids(o.members, `${path}.members`, USER_ID, 'a user id');
  const supervisors = r.ids(o.supervisors, `${path}.supervisors`, USER_ID, 'a user id');
  if (id === undefined) return undefined;
  const g: Group = { id, members, supervisors };
  if (name !== undefined) g.name = name;
  return g;
}

function readExtension(r: Reader, v: unknown, path: string): Extension | undefined {
  const o = r.obj(v, path, ['id', 'interface', 'stateInterface', 'name', 'server']);
  if (!o) return undefined;
  const id = r.str(o.id, `${path}.id`, EXTENSION_ID, 'an extension id of A-Z a-z 0-9 . _ + # * -');
  const iface = r.str(o.interface, `${path}.interface`, INTERFACE, 'an interface like PJSIP/1001');
  const stateInterface = r.optStr(o.stateInterface, `${path}.stateInterface`, INTERFACE, 'an interface like PJSIP/1001');
  const name = r.optStr(o.name, `${path}.name`);
  const server = r.optStr(o.server, `${path}.server`, SERVER_NAME, 'a server name');
  if (id === undefined || iface === undefined) return undefined;
  const e: Extension = { id, interface: iface };
  if (stateInterface !== undefined) e.stateInterface = stateInterface;
  if (name !== undefined) e.name = name;
  if (server !== undefined) e.server = server;
  return e;
}

function readQueue(r: Reader, v: unknown, path: string): Queue | undefined {
  const o = r.obj(v, path, ['id', 'name', 'server']);
  if (!o) return undefined;
  const id = r.str(o.id, `${path}.id`, QUEUE_ID, 'a queue name of A-Z a-z 0-9 . _ -');
  const name = r.optStr(o.name, `${path}.name`);
  const server = r.optStr(o.server, `${path}.server`, SERVER_NAME, 'a server name');
  if (id === undefined) return undefined;
  const q: Queue = { id };
  if (name !== undefined) q.name = name;
  if (server !== undefined) q.server = server;
  return q;
}

function readGrant(r: Reader, v: unknown, path: string): Grant | undefined {
  const o = r.obj(v, path, ['id', 'subject', 'actions', 'targets', 'note']);
  if (!o) return undefined;
  const id = r.str(o.id, `${path}.id`, GRANT_ID, 'a grant id');
  const subject = r.str(o.subject, `${path}.subject`, /^(user|group):.+$/, "'user:<id>' or 'group:<id>'");
  const actions: Grant['actions'] = [];
  const actionList = r.arr(o.actions, `${path}.actions`, false);
  if (Array.isArray(o.actions) && actionList.length === 0) r.err(`${path}.actions`, 'must list at least one action');
  actionList.forEach((a, i) => {
    const act =
      typeof a === 'string' && (QUEUE_ACTIONS as readonly string[]).includes(a)
        ? (a as Grant['actions'][number])
        : r.oneOf(a, `${path}.actions[${i}]`, QUEUE_ACTIONS);
    if (act === undefined) return;
    if (actions.includes(act)) r.err(`${path}.actions[${i}]`, `'${act}' is listed twice`);
    else actions.push(act);
  });
  const targets = r.ids(
    o.targets,
    `${path}.targets`,
    /^(extension|user|group|queue):.+$/,
    "'extension:<id>', 'user:<id>', 'group:<id>' or 'queue:<id>'",
  );
  if (Array.isArray(o.targets) && o.targets.length === 0) r.err(`${path}.targets`, 'must list at least one target');
  if (o.targets === undefined) r.err(`${path}.targets`, 'is required');
  const note = r.optStr(o.note, `${path}.note`);
  if (id === undefined || subject === undefined) return undefined;
  const g: Grant = { id, subject, actions, targets };
  if (note !== undefined) g.note = note;
  return g;
}

function section<T>(r: Reader, raw: Obj, key: string, read: (r: Reader, v: unknown, path: string) => T | undefined): T[] {
  const out: T[] = [];
  r.arr(raw[key], key).forEach((v, i) => {
    const x = read(r, v, `${key}[${i}]`);
    if (x !== undefined) out.push(x);
  });
  return out;
}

function listOf(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** Paths of items by id, for reference errors (index in the raw list, even if some items were invalid). */
function duplicateIds(r: Reader, raw: Obj, key: string): void {
  const seen = new Map<string, number>();
  // A section that is not a list was reported by section(): nothing to add here.
  listOf(raw[key]).forEach((v, i) => {
    const idv = v && typeof v === 'object' ? (v as Obj).id : undefined;
    const id = typeof idv === 'number' ? String(idv) : idv;
    if (typeof id !== 'string') return;
    const first = seen.get(id);
    if (first !== undefined) r.err(`${key}[${i}].id`, `duplicate id '${id}' (first at ${key}[${first}])`);
    else seen.set(id, i);
  });
}

function checkReferences(r: Reader, raw: Obj, doc: PolicyDoc): void {
  const users = new Set(doc.users.map((u) => u.id));
  const groups = new Set(doc.groups.map((g) => g.id));
  const exts = new Set(doc.extensions.map((e) => e.id));
  const queues = new Set(doc.queues.map((q) => q.id));
  const positions = new Map<string, Map<string, number>>();
  const rawIndex = (key: string, id: string): number => {
    let m = positions.get(key);
    if (!m) {
      const built = new Map<string, number>();
      listOf(raw[key]).forEach((v, i) => {
        const x = v && typeof v === 'object' ? (v as Obj).id : undefined;
        const s = typeof x === 'number' ? String(x) : x;
        if (typeof s === 'string' && !built.has(s)) built.set(s, i);
      });
      positions.set(key, built);
      m = built;
    }
    return m.get(id) ?? -1;
  };
  const owner = new Map<string, string>();
  for (const u of doc.users) {
    const p = (): string => `users[${rawIndex('users', u.id)}]`;
    u.groups.forEach((g, i) => {
      if (!groups.has(g)) r.err(`${p()}.groups[${i}]`, `unknown group '${g}'`);
    });
    u.extensions.forEach((e, i) => {
      if (!exts.has(e)) r.err(`${p()}.extensions[${i}]`, `unknown extension '${e}'`);
      const prev = owner.get(e);
      if (prev !== undefined && prev !== u.id) r.err(`${p()}.extensions[${i}]`, `extension '${e}' is already owned by user '${prev}'`);
      else owner.set(e, u.id);
    });
  }
  for (const g of doc.groups) {
    const p = (): string => `groups[${rawIndex('groups', g.id)}]`;
    g.members.forEach((m, i) => {
      if (!users.has(m)) r.err(`${p()}.members[${i}]`, `unknown user '${m}'`);
    });
    g.supervisors.forEach((m, i) => {
      if (!users.has(m)) r.err(`${p()}.supervisors[${i}]`, `unknown user '${m}'`);
    });
  }
  // Every valid reference as written (`user:alice`, `queue:support`...): one look-up per reference,
  // and the reference is taken apart only to word an error.
  const refs = new Set<string>();
  for (const id of users) refs.add(`user:${id}`);
  for (const id of groups) refs.add(`group:${id}`);
  for (const id of exts) refs.add(`extension:${id}`);
  for (const id of queues) refs.add(`queue:${id}`);
  const unknown = (ref: string): string => {
    const c = ref.indexOf(':');
    return `unknown ${ref.slice(0, c)} '${ref.slice(c + 1)}'`;
  };
  for (const g of doc.grants) {
    const p = (): string => `grants[${rawIndex('grants', g.id)}]`;
    if (!refs.has(g.subject)) r.err(`${p()}.subject`, unknown(g.subject)); // the shape check admits only user:/group:
    g.targets.forEach((t, i) => {
      if (!refs.has(t)) r.err(`${p()}.targets[${i}]`, unknown(t));
    });
  }
}

/**
 * Validate and normalise a raw policy document. Sections may be absent (empty). Returns every
 * problem found, each with its path, or the document with defaults filled in (flags all false,
 * directTransfer 'disabled', ipAllow [] = any address, address delayMs 0).
 */
export function parsePolicyDoc(raw: unknown): PolicyResult<PolicyDoc> {
  const r = new Reader();
  const o = r.obj(raw ?? {}, '(root)', ['users', 'groups', 'extensions', 'queues', 'grants']);
  if (!o) return { ok: false, errors: r.errors.map((e) => ({ ...e, path: e.path.replace(/^\(root\)\./, '') })) };
  const doc: PolicyDoc = {
    users: section(r, o, 'users', readUser),
    groups: section(r, o, 'groups', readGroup),
    extensions: section(r, o, 'extensions', readExtension),
    queues: section(r, o, 'queues', readQueue),
    grants: section(r, o, 'grants', readGrant),
  };
  for (const k of ['users', 'groups', 'extensions', 'queues', 'grants']) duplicateIds(r, o, k);
  checkReferences(r, o, doc);
  const errors = r.errors.map((e) => ({ ...e, path: e.path.replace(/^\(root\)\./, '') }));
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: doc };
}

const CHANGE_ITEMS = {
  'add-grant': 'grant',
  'put-user': 'user',
  'put-group': 'group',
  'put-extension': 'extension',
  'put-queue': 'queue',
} as const;
const CHANGE_REMOVALS = ['remove-grant', 'remove-user', 'remove-group', 'remove-extension', 'remove-queue'] as const;
const CHANGE_OPS: readonly string[] = [...Object.keys(CHANGE_ITEMS), ...CHANGE_REMOVALS];

/**
 * Validate and normalise one policy change from plain data (an API body): the shape its `op` needs,
 * with the same rules and defaults as the document (a `put-user` without `flags` gets the default
 * flags). Paths name the change's own fields (`op`, `id`, `user.flags.blended`, `grant.actions[0]`).
 * References to other items (groups, extensions) are checked later, against the whole document.
 */
export function parsePolicyChange(raw: unknown): PolicyResult<PolicyChange> {
  const r = new Reader();
  const fail = (): PolicyResult<PolicyChange> => ({ ok: false, errors: r.errors });
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    r.err('(root)', 'must be a mapping with op');
    return fail();
  }
  const op = (raw as Obj).op;
  if (typeof op !== 'string' || !CHANGE_OPS.includes(op)) {
    r.err('op', `must be one of ${CHANGE_OPS.join(' | ')}`);
    return fail();
  }
  const done = (value: () => PolicyChange): PolicyResult<PolicyChange> => {
    const errors = r.errors.map((e) => ({ ...e, path: e.path.replace(/^\(root\)\./, '') }));
    return errors.length > 0 ? { ok: false, errors } : { ok: true, value: value() };
  };
  if ((CHANGE_REMOVALS as readonly string[]).includes(op)) {
    const o = r.obj(raw, '(root)', ['op', 'id'])!;
    let id: string | undefined;
    if (o.id === undefined) r.err('id', 'is required');
    else id = r.str(o.id, 'id', /^.{1,128}$/s, 'an id of 1 to 128 characters');
    return done(() => ({ op: op as (typeof CHANGE_REMOVALS)[number], id: id! }));
  }
  const key = CHANGE_ITEMS[op as keyof typeof CHANGE_ITEMS];
  const o = r.obj(raw, '(root)', ['op', key])!;
  const read = { grant: readGrant, user: readUser, group: readGroup, extension: readExtension, queue: readQueue }[key] as (
    r: Reader,
    v: unknown,
    path: string,
  ) => unknown;
  let item: unknown;
  if (o[key] === undefined) r.err(key, 'is required');
  else item = read(r, o[key], key);
  if (item === undefined && r.errors.length === 0) r.err(key, 'is invalid');
  return done(() => ({ op, [key]: item }) as unknown as PolicyChange);
}
