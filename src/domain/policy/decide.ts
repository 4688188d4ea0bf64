/**
 * The decision: may `actor` do `action` on `extension` (in `queue`)? Deny by default. Every check
 * below runs when it can (so a denial names every reason, not just the first), and all must pass.
 *
 * | check           | passes when                                                                              |
 * |-----------------|------------------------------------------------------------------------------------------|
 * | actor           | the actor is a known user (otherwise nothing else runs)                                  |
 * | target          | the extension exists; login/logout name a queue; a named queue exists; extension and     |
 * |                 | queue are on the same PBX when both say which                                            |
 * | ip              | the source address matches the actor's flags.ipAllow (empty list = any address). No      |
 * |                 | address: passes for source 'dialplan' (the phone is the source), fails for 'http'        |
 * | scope           | no_portal: never. basic_user: never (no queue operations; its own extension settings are |
 * |                 | outside decide). call_center_agent: login/logout/pause/unpause on its OWN extensions,    |
 * |                 | never penalty. call_center_supervisor: its own extensions, extensions of members of the  |
 * |                 | groups it supervises, and of the agents of the queues it can reach (agents of a queue =  |
 * |                 | users some grant lets log into it; reachable queues = queues any of its grants names).   |
 * |                 | office_manager: any extension of its PBX (user.server, else the servers of its own       |
 * |                 | extensions, else every PBX); an extension with no server is on every PBX                |
 * | role            | the extension's owner is the actor itself or has a strictly LOWER role (equal roles are  |
 * |                 | peers: an agent acts on no other agent, a manager on no other manager); an extension     |
 * |                 | nobody owns passes (no one to protect)                                                   |
 * | supervision     | only for role supervisor: the owner is the actor or a member of a group it supervises;   |
 * |                 | an unowned extension fails                                                               |
 * | extension-grant | a grant whose subject covers the actor (`user:<actor>` or `group:<a group of the actor>`)|
 * |                 | lists the action and a target standing for the extension (`extension:<id>`,              |
 * |                 | `user:<owner>`, `group:<a group of the owner>`)                                          |
 * | queue-grant     | login/logout only: a grant whose subject covers the actor lists the action and           |
 * |                 | `queue:<queue>`. It may be another grant than the extension's. pause/unpause/penalty     |
 * |                 | need no queue permission, so this check does not run for them                            |
 *
 * A user may act on itself only within its scope and still needs a grant (deny by default).
 * `decide` is total (never throws) and deterministic (grants listed in document order).
 */
import { checkIp } from './ip.js';
import {
  ACTION_INDEX,
  grantsFor,
  type CompiledPolicy,
  type ExtensionIndex,
  type PolicyIndex,
  type QueueIndex,
  type UserIndex,
} from './compile.js';
import type { QueueAction } from './types.js';

export interface DecisionRequest {
  actor: string;
  action: QueueAction;
  extension: string;
  queue?: string;
  ip?: string;
  source?: 'http' | 'dialplan';
}

export type CheckName =
  | 'actor'
  | 'scope'
  | 'ip'
  | 'target'
  | 'role'
  | 'supervision'
  | 'extension-grant'
  | 'queue-grant'
  // used by decideCallAction (call actions: hold, hangup, transfer, requeue, ...)
  | 'source'
  | 'flag'
  | 'transfer-scope'
  // used by authorizeChange (administration of the policy itself)
  | 'admin-role'
  | 'owner'
  | 'no-escalation'
  | 'change'
  // added by call control's use case: the call's state does not allow the action now (src/app/call-control.ts)
  | 'call-state';

export interface Check {
  readonly name: CheckName;
  readonly passed: boolean;
  /** One sentence for people. Decisions render it on first read; serialise with JSON.stringify. */
  readonly detail: string;
  readonly grants?: string[];
}

export interface Decision {
  allowed: boolean;
  reasons: Check[];
  /** Ids of every grant that matched, in document order. */
  matched: string[];
}

/**
 * A check whose human text is rendered on first read: a decision costs a few map look-ups, and the
 * sentences are built only when someone reads them (explain, audit, an HTTP 403). JSON and the
 * spread-free consumers see the same fields as a plain Check.
 */
class LazyCheck implements Check {
  readonly name: CheckName;
  readonly passed: boolean;
  readonly grants?: string[];
  #render: (() => string) | undefined;
  #detail = '';

  constructor(name: CheckName, passed: boolean, render: () => string, grants?: string[]) {
    this.name = name;
    this.passed = passed;
    this.#render = render;
    if (grants !== undefined) this.grants = grants;
  }

  get detail(): string {
    if (this.#render !== undefined) {
      this.#detail = this.#render();
      this.#render = undefined;
    }
    return this.#detail;
  }

  toJSON(): Check {
    return this.grants === undefined
      ? { name: this.name, passed: this.passed, detail: this.detail }
      : { name: this.name, passed: this.passed, detail: this.detail, grants: this.grants };
  }
}

/** A check whose detail is rendered on first read (shared with call-actions.ts). */
export function check(name: CheckName, passed: boolean, render: () => string, grants?: string[]): Check {
  return new LazyCheck(name, passed, render, grants);
}

const NEEDS_QUEUE: Readonly<Record<QueueAction, boolean>> = { login: true, logout: true, pause: false, unpause: false, penalty: false };

function subjectsText(u: UserIndex): string {
  return u.subjects.join(' or ');
}

/** Users a call_center_supervisor can reach: supervisees plus agents of the queues its grants name. */
function supervisorReach(ix: PolicyIndex, u: UserIndex, doc: CompiledPolicy['doc']): ReadonlySet<string> {
  const cached = ix.reachCache.get(u.user.id);
  if (cached) return cached;
  const reach = new Set(u.supervisees);
  const queues = new Set<string>();
  for (const s of u.subjectIds) {
    for (const a of ['login', 'logout', 'pause', 'unpause', 'penalty'] as const) {
      for (const gi of grantsFor(ix, s, a)) {
        for (const t of doc.grants[gi]!.targets) if (t.startsWith('queue:')) queues.add(t.slice(6));
      }
    }
  }
  for (const q of queues) for (const m of ix.queueAgents.get(q) ?? []) reach.add(m);
  ix.reachCache.set(u.user.id, reach);
  return reach;
}

/** The scope check on one extension (exported for capabilities, which applies the same caps). */
export function scopeCheck(policy: CompiledPolicy, u: UserIndex, action: QueueAction, e: ExtensionIndex): Check {
  const scope = u.user.scope;
  switch (scope) {
    case 'no_portal':
      return check('scope', false, () => 'scope no_portal allows nothing');
    case 'basic_user':
      return check('scope', false, () => 'scope basic_user allows no queue operations');
    case 'call_center_agent':
      if (action === 'penalty') return check('scope', false, () => 'scope call_center_agent does not allow penalty');
      if (!u.ownExtensions.has(e.ext.id)) {
        return check(
          'scope',
          false,
          () => `scope call_center_agent acts only on its own extensions, and ${e.ext.id} is not ${u.user.id}'s`,
        );
      }
      return check('scope', true, () => `call_center_agent on its own extension ${e.ext.id}`);
    case 'call_center_supervisor': {
      if (u.ownExtensions.has(e.ext.id)) return check('scope', true, () => `call_center_supervisor on its own extension ${e.ext.id}`);
      const owner = e.owner?.user.id;
      if (owner !== undefined && u.supervisees.has(owner)) {
        return check('scope', true, () => `call_center_supervisor: ${owner} is in a group it supervises`);
      }
      if (owner !== undefined && supervisorReach(policy.index, u, policy.doc).has(owner)) {
        return check('scope', true, () => `call_center_supervisor: ${owner} is an agent of a queue it can reach`);
      }
      return check(
        'scope',
        false,
        () =>
          `scope call_center_supervisor reaches only agents of its groups and queues; extension ${e.ext.id} ${owner === undefined ? 'has no owner' : `belongs to ${owner}`}`,
      );
    }
    case 'office_manager': {
      const server = e.ext.server;
      if (u.pbx === null || server === undefined || u.pbx.has(server)) {
        return check('scope', true, () => `office_manager: extension ${e.ext.id} is on its PBX`);
      }
      const pbx = u.pbx;
      return check(
        'scope',
        false,
        () => `scope office_manager covers PBX ${[...pbx].join(', ')}, and extension ${e.ext.id} is on ${server}`,
      );
    }
  }
}

/** The role bound on one extension. */
export function roleCheck(u: UserIndex, e: ExtensionIndex): Check {
  const o = e.owner;
  if (!o) return check('role', true, () => `extension ${e.ext.id} has no owner`);
  if (o === u) return check('role', true, () => `${u.user.id} acts on itself`);
  if (o.rank < u.rank) return check('role', true, () => `${o.user.id} (${o.user.role}) is below ${u.user.id} (${u.user.role})`);
  return check(
    'role',
    false,
    () => `${u.user.id} (${u.user.role}) may not act on ${o.user.id} (${o.user.role}): only on itself or lower roles`,
  );
}

/** The supervision bound (role supervisor only); undefined when it does not apply. */
export function supervisionCheck(u: UserIndex, e: ExtensionIndex): Check | undefined {
  if (u.user.role !== 'supervisor') return undefined;
  const o = e.owner;
  if (o === u) return check('supervision', true, () => `${u.user.id} acts on itself`);
  if (o && u.supervisees.has(o.user.id)) return check('supervision', true, () => `${o.user.id} is in a group ${u.user.id} supervises`);
  return check(
    'supervision',
    false,
    () =>
      `supervisor ${u.user.id} acts only on members of the groups it supervises${u.supervises.size > 0 ? ` (${[...u.supervises].join(', ')})` : ''}; ${o ? `${o.user.id} is not one` : `extension ${e.ext.id} has no owner`}`,
  );
}

/** (action, target) → grants of any subject of u; built once per user and policy version. */
function userGrants(ix: PolicyIndex, u: UserIndex): ReadonlyMap<number, readonly number[]> {
  const cached = ix.userGrantCache.get(u.user.id);
  if (cached !== undefined) return cached;
  const merged = new Map<number, number[]>();
  for (let a = 0; a < 5; a++) {
    for (const s of u.subjectIds) {
      const pairs = ix.pairsBySubjectAction[a * ix.nSubjects + s];
      if (pairs === undefined) continue;
      for (let i = 0; i < pairs.length; i += 2) {
        const key = a * ix.nTargets + pairs[i]!;
        const gi = pairs[i + 1]!;
        const prev = merged.get(key);
        if (prev === undefined) merged.set(key, [gi]);
        else prev.push(gi);
      }
    }
  }
  for (const l of merged.values()) sortUnique(l);
  ix.userGrantCache.set(u.user.id, merged);
  return merged;
}

function sortUnique(out: number[]): void {
  if (out.length < 2) return;
  out.sort((x, y) => x - y);
  let w = 1;
  for (let r = 1; r < out.length; r++) if (out[r] !== out[w - 1]) out[w++] = out[r]!;
  out.length = w;
}

/** Grant indexes (document order, deduplicated) that give `action` on any of targetIds to any subject of u. */
function matchingGrants(ix: PolicyIndex, u: UserIndex, action: QueueAction, targetIds: readonly number[]): number[] {
  const byTarget = userGrants(ix, u);
  const a = ACTION_INDEX[action] * ix.nTargets;
  let out: number[] | undefined;
  let single: readonly number[] | undefined;
  for (const t of targetIds) {
    const l = byTarget.get(a + t);
    if (l === undefined) continue;
    if (single === undefined && out === undefined) single = l;
    else {
      if (out === undefined) out = single!.slice();
      for (const gi of l) out.push(gi);
    }
  }
  if (out !== undefined) {
    sortUnique(out);
    return out;
  }
  return single === undefined ? [] : single.slice();
}

function ids(policy: CompiledPolicy, gis: readonly number[]): string[] {
  return gis.map((gi) => policy.doc.grants[gi]!.id);
}

function targetText(req: DecisionRequest, e: ExtensionIndex | undefined, q: QueueIndex | undefined, needsQueue: boolean): string {
  const action = req.action;
  let text: string;
  if (e === undefined) text = `unknown extension '${req.extension}'`;
  else if (req.queue === undefined) text = needsQueue ? `${action} needs a queue` : `extension ${e.ext.id}, every queue`;
  else if (q === undefined) text = `unknown queue '${req.queue}'`;
  else if (e.ext.server !== undefined && q.queue.server !== undefined && e.ext.server !== q.queue.server) {
    text = `extension ${e.ext.id} is on ${e.ext.server} but queue ${q.queue.id} is on ${q.queue.server}`;
  } else text = `extension ${e.ext.id}, queue ${q.queue.id}`;
  if (e === undefined && req.queue !== undefined && q === undefined) text += `; unknown queue '${req.queue}'`;
  if (e === undefined && req.queue === undefined && needsQueue) text += `; ${action} needs a queue`;
  return text;
}

/** Decide one queue operation. Deterministic and total: unknown actor/extension/queue → deny with a reason. */
export function decide(policy: CompiledPolicy, req: DecisionRequest): Decision {
  const ix = policy.index;
  const u = ix.users.get(req.actor);
  if (u === undefined) {
    return { allowed: false, reasons: [check('actor', false, () => `unknown user '${req.actor}'`)], matched: [] };
  }
  const reasons: Check[] = [check('actor', true, () => `${u.user.id} (${u.user.role}, ${u.user.scope})`)];
  const action = req.action;
  const needsQueue = NEEDS_QUEUE[action];
  if (needsQueue === undefined) {
    reasons.push(check('target', false, () => `unknown action '${String(action)}'`));
    return { allowed: false, reasons, matched: [] };
  }

  const e = ix.extensions.get(req.extension);
  const q = req.queue === undefined ? undefined : ix.queues.get(req.queue);
  const targetOk =
    e !== undefined &&
    (req.queue === undefined
      ? !needsQueue
      : q !== undefined && (e.ext.server === undefined || q.queue.server === undefined || e.ext.server === q.queue.server));
  reasons.push(check('target', targetOk, () => targetText(req, e, q, needsQueue)));

  const allow = u.user.flags.ipAllow;
  if (req.ip !== undefined) {
    const ok = checkIp(allow, req.ip);
    reasons.push(
      check('ip', ok, () =>
        allow.length === 0
          ? `any address allowed`
          : ok
            ? `${req.ip} is in ${u.user.id}'s allow-list`
            : `${req.ip} is not in ${u.user.id}'s allow-list (${allow.join(', ')})`,
      ),
    );
  } else if (req.source === 'http') {
    reasons.push(check('ip', false, () => 'an http request without a source address'));
  } else {
    reasons.push(check('ip', true, () => 'no source address (dialplan or local): not checked'));
  }

  const matched: number[] = [];
  if (e !== undefined) {
    reasons.push(scopeCheck(policy, u, action, e));
    reasons.push(roleCheck(u, e));
    const sup = supervisionCheck(u, e);
    if (sup) reasons.push(sup);
    const gis = matchingGrants(ix, u, action, e.targetIds);
    if (gis.length > 0) {
      reasons.push(check('extension-grant', true, () => `${action} extension:${e.ext.id}`, ids(policy, gis)));
      for (const gi of gis) matched.push(gi);
    } else {
      reasons.push(check('extension-grant', false, () => `no grant lets ${subjectsText(u)} ${action} extension:${e.ext.id}`));
    }
  }
  if (needsQueue && q !== undefined) {
    const gis = matchingGrants(ix, u, action, [q.targetId]);
    if (gis.length > 0) {
      reasons.push(check('queue-grant', true, () => `${action} queue:${q.queue.id}`, ids(policy, gis)));
      for (const gi of gis) matched.push(gi);
    } else {
      reasons.push(check('queue-grant', false, () => `no grant lets ${subjectsText(u)} ${action} queue:${q.queue.id}`));
    }
  }

  let allowed = true;
  for (const r of reasons) if (!r.passed) allowed = false;
  if (matched.length > 1) matched.sort((x, y) => x - y);
  const matchedIds: string[] = [];
  for (let i = 0; i < matched.length; i++)
    if (i === 0 || matched[i] !== matched[i - 1]) matchedIds.push(policy.doc.grants[matched[i]!]!.id);
  return { allowed, reasons, matched: matchedIds };
}

/**
 * The decision as plain data (every detail rendered): for stores that copy with structuredClone,
 * for audit records and for HTTP bodies.
 */
export function plainDecision(d: Decision): Decision {
  return {
    allowed: d.allowed,
    reasons: d.reasons.map((r) =>
      r.grants === undefined
        ? { name: r.name, passed: r.passed, detail: r.detail }
        : { name: r.name, passed: r.passed, detail: r.detail, grants: [...r.grants] },
    ),
    matched: [...d.matched],
  };
}
