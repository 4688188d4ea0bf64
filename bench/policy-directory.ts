/**
 * The policy benchmark's directory and requests, generated deterministically (seeded PRNG) so that
 * every run and every engine sees the same ones: 2,000 users (each owns one of 2,000 extensions),
 * 500 groups, 200 queues, 10,000 grants.
 */
import {
  DEFAULT_FLAGS,
  QUEUE_ACTIONS,
  ROLES,
  type DecisionRequest,
  type Grant,
  type PolicyDoc,
  type PortalScope,
  type QueueAction,
  type Role,
  type User,
} from '../src/domain/policy/index.js';

export const SIZE = { users: 2000, groups: 500, queues: 200, extensions: 2000, grants: 10_000 };

/** mulberry32: small deterministic PRNG so every run benchmarks the same policy. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The benchmark directory: deterministic for a given seed. */
export function generatePolicy(seed = 42): PolicyDoc {
  const rnd = prng(seed);
  const int = (n: number): number => Math.floor(rnd() * n);
  const ext = (i: number): string => String(10000 + i);
  const roleOf = (i: number): [Role, PortalScope] =>
    i < 1700
      ? ['agent', 'call_center_agent']
      : i < 1900
        ? ['supervisor', 'call_center_supervisor']
        : i < 1960
          ? ['manager', 'office_manager']
          : i < 1990
            ? ['administrator', 'office_manager']
            : ['owner', 'office_manager'];
  const users: User[] = [];
  for (let i = 0; i < SIZE.users; i++) {
    const [role, scope] = roleOf(i);
    users.push({
      id: `u${i}`,
      name: `User ${i}`,
      role,
      scope,
      groups: role === 'agent' ? [`g${i % SIZE.groups}`] : [],
      extensions: [ext(i)],
      addresses: [{ endpoint: `PJSIP/${ext(i)}`, delayMs: 0 }],
      flags: { ...DEFAULT_FLAGS, inbound: true, ipAllow: i % 10 === 0 ? ['10.0.%.%'] : [] },
    });
  }
  const groups = Array.from({ length: SIZE.groups }, (_, g) => ({
    id: `g${g}`,
    members: [] as string[],
    // supervisors u1700..u1899: supervisor j supervises groups j, j+200, j+400
    supervisors: [`u${1700 + (g % 200)}`],
  }));
  const extensions = Array.from({ length: SIZE.extensions }, (_, i) => ({ id: ext(i), interface: `PJSIP/${ext(i)}`, server: 'pbx1' }));
  const queues = Array.from({ length: SIZE.queues }, (_, q) => ({ id: `q${q}`, server: 'pbx1' }));
  const grants: Grant[] = [];
  for (let g = 0; g < SIZE.groups; g++) {
    grants.push({
      id: `grp-${g}`,
      subject: `group:g${g}`,
      actions: ['login', 'logout', 'pause', 'unpause'],
      targets: [`group:g${g}`, `queue:q${g % 200}`, `queue:q${(g + 7) % 200}`],
    });
  }
  for (let s = 0; s < 200; s++) {
    const sg = [s, s + 200, s + 400].filter((g) => g < SIZE.groups);
    grants.push({
      id: `sup-${s}`,
      subject: `user:u${1700 + s}`,
      actions: [...QUEUE_ACTIONS],
      targets: [...sg.map((g) => `group:g${g}`), `queue:q${s}`, `queue:q${(s + 7) % 200}`],
    });
  }
  for (let m = 1900; m < SIZE.users; m++) {
    const targets = new Set<string>();
    for (let k = 0; k < 20; k++) targets.add(`group:g${int(SIZE.groups)}`);
    for (let k = 0; k < 10; k++) targets.add(`queue:q${int(SIZE.queues)}`);
    grants.push({ id: `mgr-${m}`, subject: `user:u${m}`, actions: [...QUEUE_ACTIONS], targets: [...targets] });
  }
  while (grants.length < SIZE.grants) {
    const u = int(1700);
    const actions = QUEUE_ACTIONS.filter(() => rnd() < 0.5);
    const q1 = int(SIZE.queues);
    const q2 = (q1 + 1 + int(SIZE.queues - 1)) % SIZE.queues;
    grants.push({
      id: `ind-${grants.length}`,
      subject: `user:u${u}`,
      actions: actions.length > 0 ? actions : ['login'],
      targets: rnd() < 0.5 ? [`extension:${ext(u)}`, `queue:q${q1}`] : [`user:u${u}`, `queue:q${q1}`, `queue:q${q2}`],
    });
  }
  return { users, groups, extensions, queues, grants };
}

/** Requests: half on the actor's own extension (often allowed), half elsewhere (mostly denied). */
export function generateRequests(doc: PolicyDoc, n: number, seed = 7): DecisionRequest[] {
  const rnd = prng(seed);
  const int = (k: number): number => Math.floor(rnd() * k);
  const out: DecisionRequest[] = [];
  // First queue named by a grant of each subject (document order).
  const firstQueue = new Map<string, string>();
  for (const g of doc.grants) {
    const t = g.targets.find((x) => x.startsWith('queue:'));
    if (t !== undefined && !firstQueue.has(g.subject)) firstQueue.set(g.subject, t);
  }
  for (let i = 0; i < n; i++) {
    const u = doc.users[int(doc.users.length)]!;
    const action: QueueAction = QUEUE_ACTIONS[int(QUEUE_ACTIONS.length)]!;
    const extension = rnd() < 0.5 ? u.extensions[0]! : doc.extensions[int(doc.extensions.length)]!.id;
    const req: DecisionRequest = { actor: u.id, action, extension };
    if (action === 'login' || action === 'logout') {
      // mostly a queue the actor's grants name, so that the queue half is often satisfied
      const named = firstQueue.get(`user:${u.id}`) ?? u.groups.map((gr) => firstQueue.get(`group:${gr}`)).find((x) => x !== undefined);
      req.queue = named !== undefined && rnd() < 0.7 ? named.slice(6) : doc.queues[int(doc.queues.length)]!.id;
    }
    if (i % 4 === 0) {
      req.ip = i % 8 === 0 ? '10.0.3.4' : '192.168.0.9';
      req.source = 'http';
    }
    out.push(req);
  }
  return out;
}

/**
 * Requests for the agreement check: every role equally often (the uniform draw above is 85% agents),
 * each on an extension picked to reach every branch of decide.ts — its own, a random one, one of a
 * member of a group it belongs to or supervises, one of an agent of a queue its grants name, one of
 * a user one role below or above — and a source that is an allowed address, a refused one, http
 * without an address, or the dialplan. About half come out denied.
 */
export function generateMixedRequests(doc: PolicyDoc, n: number, seed = 13): DecisionRequest[] {
  const rnd = prng(seed);
  const int = (k: number): number => Math.floor(rnd() * k);
  const pick = <T>(xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[int(xs.length)]);
  const byRole = new Map<Role, User[]>(ROLES.map((r) => [r, doc.users.filter((u) => u.role === r)]));
  const members = new Map<string, string[]>();
  for (const u of doc.users) for (const g of u.groups) members.set(g, [...(members.get(g) ?? []), u.id]);
  for (const g of doc.groups) for (const m of g.members) members.set(g.id, [...(members.get(g.id) ?? []), m]);
  const supervised = new Map<string, string[]>();
  for (const g of doc.groups) for (const s of g.supervisors) supervised.set(s, [...(supervised.get(s) ?? []), g.id]);
  const grantsOf = new Map<string, Grant[]>();
  for (const g of doc.grants) grantsOf.set(g.subject, [...(grantsOf.get(g.subject) ?? []), g]);
  const queuesOf = new Map<string, string[]>(); // subject → queues its grants name
  const loginUsers = new Map<string, string[]>(); // queue → user subjects of login grants naming it
  for (const g of doc.grants) {
    for (const t of g.targets) {
      if (!t.startsWith('queue:')) continue;
      queuesOf.set(g.subject, [...(queuesOf.get(g.subject) ?? []), t.slice(6)]);
      if (g.actions.includes('login') && g.subject.startsWith('user:'))
        loginUsers.set(t.slice(6), [...(loginUsers.get(t.slice(6)) ?? []), g.subject.slice(5)]);
    }
  }
  const userById = new Map(doc.users.map((u) => [u.id, u]));
  const extOf = (id: string | undefined): string | undefined => (id === undefined ? undefined : userById.get(id)?.extensions[0]);
  const out: DecisionRequest[] = [];
  for (let i = 0; i < n; i++) {
    const role = ROLES[i % ROLES.length]!;
    const u = pick(byRole.get(role)!)!;
    const named = [`user:${u.id}`, ...u.groups.map((g) => `group:${g}`)].flatMap((s) => queuesOf.get(s) ?? []);
    const near = [...u.groups, ...(supervised.get(u.id) ?? [])].flatMap((g) => members.get(g) ?? []);
    const rank = ROLES.indexOf(role);
    const other = (d: number): string | undefined => pick(byRole.get(ROLES[Math.max(0, Math.min(ROLES.length - 1, rank + d))]!)!)?.id;
    // Half the time, a target and an action one of the actor's grants names (mostly allowed if the
    // checks pass); otherwise one of the branches above.
    const grant =
      rnd() < 0.5 ? pick([`user:${u.id}`, ...u.groups.map((g) => `group:${g}`)].flatMap((s) => grantsOf.get(s) ?? [])) : undefined;
    const target = grant === undefined ? undefined : pick(grant.targets.filter((t) => !t.startsWith('queue:')));
    const fromGrant =
      target === undefined
        ? undefined
        : target.startsWith('extension:')
          ? target.slice(10)
          : target.startsWith('user:')
            ? extOf(target.slice(5))
            : extOf(pick(members.get(target.slice(6)) ?? []));
    const choice = int(6);
    const extension =
      fromGrant ??
      (choice === 0 ? u.extensions[0] : undefined) ??
      (choice === 1 ? extOf(pick(near)) : undefined) ??
      (choice === 2 ? extOf(pick(loginUsers.get(pick(named) ?? '') ?? [])) : undefined) ??
      (choice === 3 ? extOf(other(-1)) : undefined) ??
      (choice === 4 ? extOf(other(+1)) : undefined) ??
      doc.extensions[int(doc.extensions.length)]!.id;
    const action: QueueAction = (fromGrant !== undefined ? pick(grant!.actions) : undefined) ?? QUEUE_ACTIONS[int(QUEUE_ACTIONS.length)]!;
    const req: DecisionRequest = { actor: u.id, action, extension };
    if (action === 'login' || action === 'logout' || rnd() < 0.2)
      req.queue = (rnd() < 0.7 ? pick(named) : undefined) ?? doc.queues[int(doc.queues.length)]!.id;
    const source = int(8);
    if (source === 0)
      req.source = 'http'; // no address: refused
    else if (source === 1) req.source = 'dialplan';
    else if (source <= 3) Object.assign(req, { source: 'http', ip: '10.0.3.4' });
    else if (source === 4) Object.assign(req, { source: 'http', ip: '192.168.0.9' });
    out.push(req);
  }
  return out;
}
