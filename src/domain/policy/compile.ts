/**
 * Compiles a PolicyDoc into indexes so that `decide` is a handful of map lookups: a decision costs
 * (subjects of the actor) x (targets that stand for the extension) lookups in one numeric-key map,
 * typically 2 x 3, whatever the number of grants.
 */
import { QUEUE_ACTIONS, roleRank, type Extension, type Group, type PolicyDoc, type Queue, type QueueAction, type User } from './types.js';

export interface UserIndex {
  readonly user: User;
  readonly rank: number;
  /** `user:<id>` then `group:<id>` for every group it belongs to (membership declared on either side). */
  readonly subjects: readonly string[];
  readonly subjectIds: readonly number[];
  readonly groups: ReadonlySet<string>;
  /** Groups this user supervises, and the members of those groups. */
  readonly supervises: ReadonlySet<string>;
  readonly supervisees: ReadonlySet<string>;
  readonly ownExtensions: ReadonlySet<string>;
  /** PBXs an office_manager administers; null = every PBX. */
  readonly pbx: ReadonlySet<string> | null;
}

export interface ExtensionIndex {
  readonly ext: Extension;
  readonly owner: UserIndex | undefined;
  /** Target keys that stand for this extension: `extension:<id>`, `user:<owner>`, `group:<g>` per owner group. */
  readonly targetIds: readonly number[];
}

export interface GroupIndex {
  readonly group: Group;
  readonly members: ReadonlySet<string>;
}

export interface QueueIndex {
  readonly queue: Queue;
  readonly targetId: number;
}

export interface PolicyIndex {
  readonly users: ReadonlyMap<string, UserIndex>;
  readonly groups: ReadonlyMap<string, GroupIndex>;
  readonly extensions: ReadonlyMap<string, ExtensionIndex>;
  readonly byInterface: ReadonlyMap<string, Extension>;
  readonly queues: ReadonlyMap<string, QueueIndex>;
  readonly subjectIds: ReadonlyMap<string, number>;
  readonly targetIds: ReadonlyMap<string, number>;
  readonly nSubjects: number;
  readonly nTargets: number;
  /**
   * Slot `action * nSubjects + subject` → flat pairs `[target, grant, target, grant, ...]` of the
   * grants that give that action to that subject, in document order. Plain arrays indexed by number:
   * building them costs no hashing, which keeps a 10,000-grant policy's load well under 200 ms.
   */
  readonly pairsBySubjectAction: ReadonlyArray<readonly number[] | undefined>;
  /** Same slots → indexes into doc.grants, in document order, without duplicates. */
  readonly grantsBySubjectAction: ReadonlyArray<readonly number[] | undefined>;
  /** Queue id → users some grant lets log into it (the queue's agents, as far as the directory knows). */
  readonly queueAgents: ReadonlyMap<string, ReadonlySet<string>>;
  /** Per call_center_supervisor: users it can reach (memoised on first use; a pure function of the doc). */
  readonly reachCache: Map<string, ReadonlySet<string>>;
  /**
   * Per user (memoised on first decision): (action, target) key → grants of any of its subjects, in
   * document order without duplicates. Turns subjects x targets look-ups into targets look-ups.
   */
  readonly userGrantCache: Map<string, ReadonlyMap<number, readonly number[]>>;
}

export interface CompiledPolicy {
  readonly doc: PolicyDoc;
  readonly version: number;
  readonly index: PolicyIndex;
}

export const ACTION_INDEX: Readonly<Record<QueueAction, number>> = { login: 0, logout: 1, pause: 2, unpause: 3, penalty: 4 };

const NO_GRANTS: readonly number[] = Object.freeze([]);
/** Shared by every user with no groups / supervision (most of a call centre): one object, not thousands. */
const EMPTY: ReadonlySet<string> = new Set<string>();

/** Indexes into doc.grants (document order) of the grants that give `action` to subject `subjectId`. */
export function grantsFor(ix: PolicyIndex, subjectId: number, action: QueueAction): readonly number[] {
  return ix.grantsBySubjectAction[ACTION_INDEX[action] * ix.nSubjects + subjectId] ?? NO_GRANTS;
}

/**
 * Build the indexes of a (validated) PolicyDoc. The doc is expected to come from parsePolicyDoc or
 * applyChange: references to unknown ids are skipped here, not reported.
 */
export function compilePolicy(doc: PolicyDoc, version = 0): CompiledPolicy {
  const groupMembers = new Map<string, Set<string>>();
  for (const g of doc.groups) groupMembers.set(g.id, new Set(g.members));
  const userGroups = new Map<string, Set<string>>();
  for (const u of doc.users) {
    const s = new Set<string>();
    for (const g of u.groups) {
      const m = groupMembers.get(g);
      if (m) {
        s.add(g);
        m.add(u.id);
      }
    }
    userGroups.set(u.id, s);
  }
  for (const g of doc.groups) for (const m of g.members) userGroups.get(m)?.add(g.id);

  const supervises = new Map<string, Set<string>>();
  for (const g of doc.groups) {
    for (const s of g.supervisors) {
      let set = supervises.get(s);
      if (!set) supervises.set(s, (set = new Set()));
      set.add(g.id);
    }
  }

  const subjectIds = new Map<string, number>();
  for (const u of doc.users) subjectIds.set(`user:${u.id}`, subjectIds.size);
  for (const g of doc.groups) subjectIds.set(`group:${g.id}`, subjectIds.size);
  const targetIds = new Map<string, number>();
  for (const e of doc.extensions) targetIds.set(`extension:${e.id}`, targetIds.size);
  for (const u of doc.users) targetIds.set(`user:${u.id}`, targetIds.size);
  for (const g of doc.groups) targetIds.set(`group:${g.id}`, targetIds.size);
  for (const q of doc.queues) targetIds.set(`queue:${q.id}`, targetIds.size);

  const extById = new Map<string, Extension>();
  for (const e of doc.extensions) extById.set(e.id, e);

  const users = new Map<string, UserIndex>();
  for (const u of doc.users) {
    const groups = userGroups.get(u.id) ?? EMPTY;
    const sup = supervises.get(u.id) ?? EMPTY;
    let supervisees: Set<string> | typeof EMPTY = EMPTY;
    if (sup.size > 0) {
      const set = new Set<string>();
      for (const g of sup) for (const m of groupMembers.get(g) ?? []) set.add(m);
      supervisees = set;
    }
    const subjects = [`user:${u.id}`, ...[...groups].map((g) => `group:${g}`)];
    let pbx: Set<string> | null = null;
    if (u.server !== undefined) pbx = new Set([u.server]);
    else {
      const servers = new Set<string>();
      for (const e of u.extensions) {
        const s = extById.get(e)?.server;
        if (s !== undefined) servers.add(s);
      }
      if (servers.size > 0) pbx = servers;
    }
    users.set(u.id, {
      user: u,
      rank: roleRank(u.role),
      subjects,
      subjectIds: subjects.map((s) => subjectIds.get(s)!),
      groups,
      supervises: sup,
      supervisees,
      ownExtensions: new Set(u.extensions),
      pbx,
    });
  }

  const owners = new Map<string, UserIndex>();
  for (const ui of users.values()) for (const e of ui.user.extensions) if (!owners.has(e)) owners.set(e, ui);

  const extensions = new Map<string, ExtensionIndex>();
  const byInterface = new Map<string, Extension>();
  for (const e of doc.extensions) {
    const owner = owners.get(e.id);
    const tids = [targetIds.get(`extension:${e.id}`)!];
    if (owner) {
      tids.push(targetIds.get(`user:${owner.user.id}`)!);
      for (const g of owner.groups) tids.push(targetIds.get(`group:${g}`)!);
    }
    extensions.set(e.id, { ext: e, owner, targetIds: tids });
    if (!byInterface.has(e.interface)) byInterface.set(e.interface, e);
  }

  const queues = new Map<string, QueueIndex>();
  for (const q of doc.queues) queues.set(q.id, { queue: q, targetId: targetIds.get(`queue:${q.id}`)! });

  const groups = new Map<string, GroupIndex>();
  for (const g of doc.groups) groups.set(g.id, { group: g, members: groupMembers.get(g.id)! });

  const nSubjects = Math.max(1, subjectIds.size);
  const nTargets = Math.max(1, targetIds.size);
  const pairsBySubjectAction: (number[] | undefined)[] = new Array<number[] | undefined>(QUEUE_ACTIONS.length * nSubjects);
  const grantsBySubjectAction: (number[] | undefined)[] = new Array<number[] | undefined>(QUEUE_ACTIONS.length * nSubjects);
  const queueAgents = new Map<string, Set<string>>();
  doc.grants.forEach((g, gi) => {
    const s = subjectIds.get(g.subject);
    if (s === undefined) return;
    const tids: number[] = [];
    for (const t of g.targets) {
      const id = targetIds.get(t);
      if (id !== undefined) tids.push(id);
    }
    for (const a of g.actions) {
      const slot = ACTION_INDEX[a] * nSubjects + s;
      const list = grantsBySubjectAction[slot];
      if (list === undefined) grantsBySubjectAction[slot] = [gi];
      else if (list[list.length - 1] !== gi) list.push(gi);
      let pairs = pairsBySubjectAction[slot];
      if (pairs === undefined) pairsBySubjectAction[slot] = pairs = [];
      for (const t of tids) pairs.push(t, gi);
    }
    if (g.actions.includes('login')) {
      const subjectUsers = g.subject.startsWith('user:') ? [g.subject.slice(5)] : [...(groupMembers.get(g.subject.slice(6)) ?? [])];
      for (const t of g.targets) {
        if (!t.startsWith('queue:')) continue;
        const q = t.slice(6);
        let set = queueAgents.get(q);
        if (!set) queueAgents.set(q, (set = new Set()));
        for (const u of subjectUsers) set.add(u);
      }
    }
  });

  return {
    doc,
    version,
    index: {
      users,
      groups,
      extensions,
      byInterface,
      queues,
      subjectIds,
      targetIds,
      nSubjects,
      nTargets,
      pairsBySubjectAction,
      grantsBySubjectAction,
      queueAgents,
      reachCache: new Map(),
      userGrantCache: new Map(),
    },
  };
}

/** Every action, in a fixed order (for loops that must be deterministic). */
export const ALL_ACTIONS: readonly QueueAction[] = QUEUE_ACTIONS;
