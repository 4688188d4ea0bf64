/** fast-check generator of small, valid random policies and requests over them (for property tests). */
import fc from 'fast-check';
import {
  PORTAL_SCOPES,
  QUEUE_ACTIONS,
  ROLES,
  parsePolicyDoc,
  type DecisionRequest,
  type PolicyDoc,
} from '../../../src/domain/policy/index.js';

const SERVERS = [undefined, 'p1', 'p2'] as const;
const IP_PATTERNS = ['10.0.%.%', '10.0.0.1', '::1', '192.168.%'];
const IPS = ['10.0.0.1', '10.0.5.5', '192.168.1.1', '::1', '::ffff:10.0.0.1', '172.16.0.1'];

/** A random valid PolicyDoc (parsePolicyDoc accepts it; the generator asserts so). */
export const policyDocArb: fc.Arbitrary<PolicyDoc> = fc
  .record({
    nUsers: fc.integer({ min: 1, max: 6 }),
    nGroups: fc.integer({ min: 0, max: 3 }),
    nExt: fc.integer({ min: 1, max: 7 }),
    nQueues: fc.integer({ min: 1, max: 3 }),
    seed: fc.array(fc.nat(1000), { minLength: 400, maxLength: 400 }),
    nGrants: fc.integer({ min: 0, max: 12 }),
  })
  .map(({ nUsers, nGroups, nExt, nQueues, seed, nGrants }) => {
    let i = 0;
    const next = (n: number): number => (n <= 0 ? 0 : seed[i++ % seed.length]! % n);
    const chance = (): boolean => next(3) === 0;
    const users = Array.from({ length: nUsers }, (_, u) => `u${u}`);
    const groups = Array.from({ length: nGroups }, (_, g) => `g${g}`);
    const exts = Array.from({ length: nExt }, (_, e) => `${100 + e}`);
    const queues = Array.from({ length: nQueues }, (_, q) => `q${q}`);
    // each extension gets at most one owner (or none)
    const ownerOf = exts.map(() => (next(nUsers + 1) === nUsers ? undefined : next(nUsers)));
    const raw = {
      users: users.map((id, ui) => ({
        id,
        name: id,
        role: ROLES[next(ROLES.length)]!,
        // biased towards the scopes that allow the most, so that allows are common
        scope: next(2) === 0 ? PORTAL_SCOPES[3 + next(2)]! : PORTAL_SCOPES[next(PORTAL_SCOPES.length)]!,
        groups: groups.filter(() => chance()),
        extensions: exts.filter((_, ei) => ownerOf[ei] === ui),
        ...(next(4) === 0 ? { server: SERVERS[1 + next(2)] } : {}),
        flags: { ipAllow: next(5) === 0 ? IP_PATTERNS.filter(() => chance()) : [] },
      })),
      groups: groups.map((id) => ({ id, members: users.filter(() => chance()), supervisors: users.filter(() => chance()) })),
      extensions: exts.map((id) => {
        const server = SERVERS[next(4) % 3];
        return server === undefined ? { id, interface: `PJSIP/${id}` } : { id, interface: `PJSIP/${id}`, server };
      }),
      queues: queues.map((id) => {
        const server = SERVERS[next(4) % 3];
        return server === undefined ? { id } : { id, server };
      }),
      grants: Array.from({ length: nGrants }, (_, gi) => {
        const subjects = [...users.map((u) => `user:${u}`), ...groups.map((g) => `group:${g}`)];
        const targetPool = [
          ...exts.map((e) => `extension:${e}`),
          ...users.map((u) => `user:${u}`),
          ...groups.map((g) => `group:${g}`),
          ...queues.map((q) => `queue:${q}`),
        ];
        const actions = QUEUE_ACTIONS.filter(() => next(2) === 0);
        const targets = targetPool.filter(() => next(5) < 2);
        return {
          id: `grant${gi}`,
          subject: subjects[next(subjects.length)]!,
          actions: actions.length > 0 ? actions : [QUEUE_ACTIONS[next(5)]!],
          targets: targets.length > 0 ? targets : [targetPool[next(targetPool.length)]!],
        };
      }),
    };
    const parsed = parsePolicyDoc(raw);
    if (!parsed.ok) throw new Error(`generator made an invalid doc: ${JSON.stringify(parsed.errors)}`);
    return parsed.value;
  });

/** A request over a doc's ids, with occasional unknown ids and random sources. */
function requestArb(doc: PolicyDoc): fc.Arbitrary<DecisionRequest> {
  // Unknown ids now and then (1 in 10), known ones mostly, so that many requests get far enough to be allowed.
  const ids = <T>(xs: T[], extra: T): fc.Arbitrary<T> =>
    fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...xs) }, { weight: 1, arbitrary: fc.constant(extra) });
  return fc
    .record({
      actor: ids(
        doc.users.map((u) => u.id),
        'nobody',
      ),
      action: fc.constantFrom(...QUEUE_ACTIONS),
      extension: ids(
        doc.extensions.map((e) => e.id),
        '999',
      ),
      queue: fc.option(
        ids(
          doc.queues.map((q) => q.id),
          'noq',
        ),
        { nil: undefined, freq: 8 },
      ),
      ip: fc.option(fc.constantFrom(...IPS), { nil: undefined }),
      source: fc.option(fc.constantFrom('http' as const, 'dialplan' as const), { nil: undefined }),
    })
    .map((r) => {
      const req: DecisionRequest = { actor: r.actor, action: r.action, extension: r.extension };
      if (r.queue !== undefined) req.queue = r.queue;
      if (r.ip !== undefined) req.ip = r.ip;
      if (r.source !== undefined) req.source = r.source;
      return req;
    });
}

/** A doc together with a batch of requests over it. */
export const docWithRequests = policyDocArb.chain((doc) =>
  fc.tuple(fc.constant(doc), fc.array(requestArb(doc), { minLength: 1, maxLength: 25 })),
);
