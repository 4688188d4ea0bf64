/**
 * The policy benchmark's directory translated to Cedar (@cedar-policy/cedar-wasm, the engine AWS
 * Verified Permissions runs on; its `nodejs` entry point, since the default one imports the .wasm as
 * an ES module, which Node 20 refuses), so that the same decisions can be asked of both engines.
 *
 * Written from the rules in src/domain/policy/decide.ts and computed from the raw PolicyDoc on its
 * own (not from agentgate's compiled index), so that the agreement check also cross-checks compile.ts:
 * - Entities. `User` (attrs role, scope, rank, supervises: Set<Group>, reachQueues, optional
 *   pbx: Set<String>, optional ip0..ipN ranges), parents = its groups (membership declared on either
 *   side). `Group`. `Extension` (optional server, optional owner), parent = its owner, so that
 *   `resource in User::"u"` is "owned by u" and `resource in Group::"g"` "owned by a member of g":
 *   exactly the `user:` and `group:` targets of a grant. `Queue` (optional server).
 * - Every check of decide.ts but the grants (target, ip, scope, role, supervision) is one `forbid`.
 * - The grants, two ways (CedarMode below). As data: "subject may A on T" is the hierarchy edge
 *   subject → `Perm::"A T"`; an Extension carries, per action, the Perms that stand for it (its
 *   own, its owner's, its owner's groups'), a Queue those of login/logout on it; five permits ask
 *   `principal in resource.A` (and `principal in context.queue.A` for login/logout). As policies: one
 *   `permit` per grant with an extension-like target; its queue targets go into one `forbid` per
 *   queue (login/logout there are forbidden unless a grant gives them to the principal): agentgate
 *   lets the extension part and the queue part come from different grants, and Cedar ORs permits,
 *   so the queue part must be a forbid to keep that AND of two ORs exact.
 * - A call_center_supervisor reaches the agents of the queues its grants name. Cedar cannot read its
 *   own policies, so the translator derives `reachQueues` from the grants (as supervisorReach does)
 *   and "agent of q" is being below `Perm::"login queue:q"` (as data) or a `Queue::"q"` parent of
 *   the users and groups some login grant lets into q (as policies).
 * - ipAllow entries become Cedar ip ranges: `10.0.%.%` is 10.0.0.0/16, `10.%` 10.0.0.0/8, a plain
 *   address a /32 (/128). A `%` before a number (`10.%.3.%`) is no CIDR range: the translator
 *   refuses such a directory. Requests must carry plain addresses (agentgate also matches the IPv4
 *   inside `::ffff:a.b.c.d`; Cedar compares address families as given).
 * - Unknown actors, extensions, queues or actions are not translated (the call throws): every
 *   sampled request names known ones. Cedar would answer an error, agentgate a denial with reasons.
 * Per request Cedar gets only the entities the decision can touch (the actor and its groups, the
 * extension, its owner and the owner's groups, the queue), as Cedar's documentation advises: handing
 * it all the entities on every call would measure JSON conversion, not authorization.
 */
import {
  preparsePolicySet,
  statefulIsAuthorized,
  type Context,
  type EntityJson,
  type StatefulAuthorizationCall,
} from '@cedar-policy/cedar-wasm/nodejs';
import { QUEUE_ACTIONS, ROLES, type DecisionRequest, type PolicyDoc, type QueueAction } from '../src/domain/policy/index.js';

export interface CedarModel {
  readonly mode: CedarMode;
  /** Number of Cedar policies (permits + forbids). */
  readonly policies: number;
  readonly entities: number;
  /** The Cedar request for one agentgate request (entities sliced as above). */
  call(req: DecisionRequest): StatefulAuthorizationCall;
}

const q = (s: string): string => JSON.stringify(s);
const uid = (type: string, id: string): { type: string; id: string } => ({ type, id });
const ref = (type: string, id: string): { __entity: { type: string; id: string } } => ({ __entity: { type, id } });
const ipValue = (arg: string): { __extn: { fn: string; arg: string } } => ({ __extn: { fn: 'ip', arg } });

/** An ipAllow entry as a CIDR range, or an error naming it when it has none. */
export function ipRange(entry: string): string {
  if (entry.includes(':')) return `${entry}/128`;
  const parts = entry.split('.');
  const fixed: string[] = [];
  for (const p of parts) {
    if (p === '%') break;
    fixed.push(p);
  }
  if (parts.slice(fixed.length).some((p) => p !== '%'))
    throw new Error(`ipAllow entry '${entry}' is not a CIDR range: Cedar cannot express it`);
  return `${[...fixed, ...Array<string>(4 - fixed.length).fill('0')].join('.')}/${fixed.length * 8}`;
}

function setAdd<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (s === undefined) m.set(k, (s = new Set()));
  s.add(v);
}

const policyCounter = { n: 0 };

/**
 * How the grants reach Cedar. `grants-as-policies`: one permit per grant (plus one forbid per queue),
 * the literal reading; Cedar evaluates every policy on every request. `grants-as-data`: a grant
 * "subject may A on T" is the hierarchy edge subject → `Perm::"A T"`, and five fixed permits ask
 * `principal in resource.<action>` (the Perms that stand for the extension: its own, its owner's,
 * its owner's groups') and, for login/logout, `principal in context.queue.<action>`. The second is
 * how Cedar's guides model large relationship sets, and by far the faster: it is the anchor.
 */
export type CedarMode = 'grants-as-data' | 'grants-as-policies';

export function buildCedar(doc: PolicyDoc, mode: CedarMode): CedarModel {
  const asData = mode === 'grants-as-data';
  // Directory relations, as decide.ts defines them.
  const groupsOf = new Map<string, Set<string>>();
  const knownGroups = new Set(doc.groups.map((g) => g.id));
  for (const u of doc.users) {
    for (const g of u.groups) {
      if (knownGroups.has(g)) setAdd(groupsOf, u.id, g);
    }
  }
  for (const g of doc.groups) {
    for (const m of g.members) setAdd(groupsOf, m, g.id);
  }
  const supervises = new Map<string, Set<string>>();
  for (const g of doc.groups) for (const s of g.supervisors) setAdd(supervises, s, g.id);
  const owner = new Map<string, string>();
  for (const u of doc.users) for (const e of u.extensions) if (!owner.has(e)) owner.set(e, u.id);
  const extServer = new Map(doc.extensions.map((e) => [e.id, e.server]));

  // From the grants: each subject's parents (grants-as-data: its Perms; grants-as-policies: the
  // queues it is an agent of, i.e. whose login a grant gives it) and the queues its grants name.
  const perm = (a: QueueAction, target: string): { type: string; id: string } => uid('Perm', `${a} ${target}`);
  const grantParents = new Map<string, Map<string, { type: string; id: string }>>();
  const namedQueues = new Map<string, Set<string>>();
  const addParent = (subject: string, p: { type: string; id: string }): void => {
    let m = grantParents.get(subject);
    if (m === undefined) grantParents.set(subject, (m = new Map()));
    m.set(`${p.type}::${p.id}`, p);
  };
  for (const g of doc.grants) {
    for (const t of g.targets) {
      if (t.startsWith('queue:')) setAdd(namedQueues, g.subject, t.slice(6));
      if (asData) for (const a of g.actions) addParent(g.subject, perm(a, t));
      else if (t.startsWith('queue:') && g.actions.includes('login')) addParent(g.subject, uid('Queue', t.slice(6)));
    }
  }
  const parentsOf = (subject: string): Array<{ type: string; id: string }> => [...(grantParents.get(subject)?.values() ?? [])];
  const agentsOf = (queue: string): EntityJson['attrs'][string] => (asData ? ref('Perm', `login queue:${queue}`) : ref('Queue', queue));

  const entities = new Map<string, EntityJson>();
  const key = (type: string, id: string): string => `${type}::${id}`;
  let ipSlots = 0;
  for (const u of doc.users) {
    const groups = [...(groupsOf.get(u.id) ?? [])];
    const attrs: Record<string, EntityJson['attrs'][string]> = {
      role: u.role,
      scope: u.scope,
      rank: ROLES.indexOf(u.role),
      supervises: [...(supervises.get(u.id) ?? [])].map((g) => ref('Group', g)),
      reachQueues: [],
    };
    if (u.scope === 'call_center_supervisor') {
      const reach = new Set<string>();
      for (const s of [`user:${u.id}`, ...groups.map((g) => `group:${g}`)]) for (const x of namedQueues.get(s) ?? []) reach.add(x);
      attrs.reachQueues = [...reach].map(agentsOf);
    }
    const pbx =
      u.server !== undefined ? [u.server] : [...new Set(u.extensions.map((e) => extServer.get(e)).filter((s) => s !== undefined))];
    if (pbx.length > 0) attrs.pbx = pbx;
    u.flags.ipAllow.forEach((entry, i) => (attrs[`ip${i}`] = ipValue(ipRange(entry))));
    ipSlots = Math.max(ipSlots, u.flags.ipAllow.length);
    entities.set(key('User', u.id), {
      uid: uid('User', u.id),
      attrs,
      parents: [...groups.map((g) => uid('Group', g)), ...parentsOf(`user:${u.id}`)],
    });
  }
  for (const g of doc.groups) entities.set(key('Group', g.id), { uid: uid('Group', g.id), attrs: {}, parents: parentsOf(`group:${g.id}`) });
  for (const e of doc.extensions) {
    const attrs: Record<string, EntityJson['attrs'][string]> = {};
    if (e.server !== undefined) attrs.server = e.server;
    const o = owner.get(e.id);
    if (o !== undefined) attrs.owner = ref('User', o);
    if (asData) {
      const standsFor = [
        `extension:${e.id}`,
        ...(o === undefined ? [] : [`user:${o}`, ...[...(groupsOf.get(o) ?? [])].map((g) => `group:${g}`)]),
      ];
      for (const a of QUEUE_ACTIONS) attrs[a] = standsFor.map((t) => ref('Perm', `${a} ${t}`));
    }
    entities.set(key('Extension', e.id), { uid: uid('Extension', e.id), attrs, parents: o === undefined ? [] : [uid('User', o)] });
  }
  for (const x of doc.queues) {
    const attrs: Record<string, EntityJson['attrs'][string]> = x.server === undefined ? {} : { server: x.server };
    if (asData) for (const a of ['login', 'logout'] as const) attrs[a] = [ref('Perm', `${a} queue:${x.id}`)];
    entities.set(key('Queue', x.id), { uid: uid('Queue', x.id), attrs, parents: [] });
  }

  // Policies: the checks of decide.ts as forbids, then the grants.
  const actions = (as: readonly QueueAction[]): string => `[${as.map((a) => `Action::${q(a)}`).join(', ')}]`;
  const subject = (s: string): string => (s.startsWith('user:') ? `User::${q(s.slice(5))}` : `Group::${q(s.slice(6))}`);
  const ipAny = Array.from({ length: ipSlots }, (_, i) => `(principal has ip${i} && context.ip.isInRange(principal.ip${i}))`).join(' || ');
  const text: string[] = [
    '@id("target-queue") forbid (principal, action in [Action::"login", Action::"logout"], resource) unless { context has queue };',
    '@id("target-server") forbid (principal, action, resource) when { context has queue && resource has server && context.queue has server && resource.server != context.queue.server };',
    '@id("ip-http") forbid (principal, action, resource) when { !(context has ip) && context has source && context.source == "http" };',
    ...(ipSlots > 0
      ? [`@id("ip-allow") forbid (principal, action, resource) when { context has ip && principal has ip0 } unless { ${ipAny} };`]
      : []),
    '@id("scope-none") forbid (principal, action, resource) when { principal.scope == "no_portal" || principal.scope == "basic_user" };',
    '@id("scope-agent") forbid (principal, action, resource) when { principal.scope == "call_center_agent" } unless { action != Action::"penalty" && resource in principal };',
    '@id("scope-supervisor") forbid (principal, action, resource) when { principal.scope == "call_center_supervisor" } unless { resource in principal || resource in principal.supervises || resource in principal.reachQueues };',
    '@id("scope-office-manager") forbid (principal, action, resource) when { principal.scope == "office_manager" && principal has pbx && resource has server } unless { principal.pbx.contains(resource.server) };',
    '@id("role") forbid (principal, action, resource) when { resource has owner && resource.owner != principal && resource.owner.rank >= principal.rank };',
    '@id("supervision") forbid (principal, action, resource) when { principal.role == "supervisor" } unless { resource in principal || resource in principal.supervises };',
  ];
  if (asData) {
    for (const a of QUEUE_ACTIONS) {
      const queuePart = a === 'login' || a === 'logout' ? ` && context has queue && principal in context.queue.${a}` : '';
      text.push(
        `@id(${q(`grant-${a}`)}) permit (principal, action == Action::${q(a)}, resource) when { principal in resource.${a}${queuePart} };`,
      );
    }
  } else {
    const byQueue = new Map<string, Map<QueueAction, Set<string>>>(); // queue → action → subjects
    for (const g of doc.grants) {
      const extTargets: string[] = [];
      for (const t of g.targets) {
        const [type, id] = [t.slice(0, t.indexOf(':')), t.slice(t.indexOf(':') + 1)];
        if (type === 'extension') extTargets.push(`Extension::${q(id)}`);
        else if (type === 'user') extTargets.push(`User::${q(id)}`);
        else if (type === 'group') extTargets.push(`Group::${q(id)}`);
        else if (type === 'queue') {
          let m = byQueue.get(id);
          if (m === undefined) byQueue.set(id, (m = new Map()));
          for (const a of g.actions) if (a === 'login' || a === 'logout') setAdd(m, a, subject(g.subject));
        }
      }
      if (extTargets.length === 0) continue;
      const scope = g.subject.startsWith('user:') ? `principal == ${subject(g.subject)}` : `principal in ${subject(g.subject)}`;
      text.push(
        `@id(${q(`grant-${g.id}`)}) permit (${scope}, action in ${actions(g.actions)}, resource) when { resource in [${extTargets.join(', ')}] };`,
      );
    }
    for (const x of doc.queues) {
      const m = byQueue.get(x.id);
      const allowed = (['login', 'logout'] as const)
        .filter((a) => (m?.get(a)?.size ?? 0) > 0)
        .map((a) => `(action == Action::${q(a)} && principal in [${[...m!.get(a)!].join(', ')}])`);
      const unless = allowed.length > 0 ? ` unless { ${allowed.join(' || ')} }` : '';
      text.push(
        `@id(${q(`queue-${x.id}`)}) forbid (principal, action in [Action::"login", Action::"logout"], resource) when { context has queue && context.queue == Queue::${q(x.id)} }${unless};`,
      );
    }
  }

  const id = `agentgate-bench-${mode}-${++policyCounter.n}`;
  const parsed = preparsePolicySet(id, { staticPolicies: text.join('\n') });
  if (parsed.type !== 'success') throw new Error(`Cedar refused the translated policies: ${JSON.stringify(parsed.errors.slice(0, 3))}`);

  const entity = (type: string, idv: string): EntityJson => {
    const e = entities.get(key(type, idv));
    if (e === undefined)
      throw new Error(`request names an unknown ${type} '${idv}': not translated (see the header of bench/policy-cedar.ts)`);
    return e;
  };
  // grants-as-data: an entity's Perms are cut to the requested action's, plus the `login queue:`
  // ones (agent of a queue, which a supervisor's reach asks of the owner whatever the action), as an
  // application fetching "the principal's permissions for this action" would; it halves what Cedar
  // converts per call. Cached per (action, entity).
  const forAction = new Map<string, EntityJson>();
  const cut = (e: EntityJson, action: QueueAction): EntityJson => {
    if (!asData) return e;
    const k = `${action}|${JSON.stringify(e.uid)}`;
    let c = forAction.get(k);
    if (c === undefined) {
      const keep = (p: EntityJson['parents'][number]): boolean =>
        !('type' in p) || p.type !== 'Perm' || p.id.startsWith(`${action} `) || p.id.startsWith('login queue:');
      forAction.set(k, (c = { ...e, parents: e.parents.filter(keep) }));
    }
    return c;
  };
  const withGroups = (out: Map<string, EntityJson>, user: string, action: QueueAction): void => {
    const u = entity('User', user);
    out.set(key('User', user), cut(u, action));
    for (const p of u.parents) if ('type' in p && p.type === 'Group') out.set(key('Group', p.id), cut(entity('Group', p.id), action));
  };
  return {
    mode,
    policies: text.length,
    entities: entities.size,
    call(req: DecisionRequest): StatefulAuthorizationCall {
      if (!(QUEUE_ACTIONS as readonly string[]).includes(req.action)) throw new Error(`unknown action '${req.action}': not translated`);
      const slice = new Map<string, EntityJson>();
      withGroups(slice, req.actor, req.action);
      slice.set(key('Extension', req.extension), entity('Extension', req.extension));
      const o = owner.get(req.extension);
      if (o !== undefined) withGroups(slice, o, req.action);
      const context: Context = {};
      if (req.queue !== undefined) {
        slice.set(key('Queue', req.queue), entity('Queue', req.queue));
        context.queue = ref('Queue', req.queue);
      }
      if (req.ip !== undefined) context.ip = ipValue(req.ip);
      if (req.source !== undefined) context.source = req.source;
      return {
        principal: uid('User', req.actor),
        action: uid('Action', req.action),
        resource: uid('Extension', req.extension),
        context,
        preparsedPolicySetId: id,
        entities: [...slice.values()],
      };
    },
  };
}

/** Cedar's answer to one prepared call; an evaluation error (which Cedar would skip) fails loudly. */
export function cedarAllows(call: StatefulAuthorizationCall): boolean {
  const a = statefulIsAuthorized(call);
  if (a.type !== 'success') throw new Error(`Cedar failed: ${JSON.stringify(a.errors.slice(0, 3))}`);
  if (a.response.diagnostics.errors.length > 0)
    throw new Error(`Cedar policy errors: ${JSON.stringify(a.response.diagnostics.errors.slice(0, 3))}`);
  return a.response.decision === 'allow';
}
