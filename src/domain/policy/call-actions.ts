/**
 * Call actions: may `actor` hold, hang up, end, transfer or requeue a call the agent `call.agent`
 * answered? Same Decision/Check shape as decide.ts. Deny by default; every check below runs when it
 * can (so a denial names every reason), and all must pass.
 *
 * | check          | passes when                                                                               |
 * |----------------|-------------------------------------------------------------------------------------------|
 * | actor          | the actor is a known user (otherwise nothing else runs)                                   |
 * | source         | phone only (the agent's own desk phone: REFER, re-INVITE): the actor is the call's agent. |
 * |                | A phone request has no ip and no scope check                                             |
 * | ip             | http only: the source address matches the actor's flags.ipAllow (empty = any address); an |
 * |                | http request without an address fails                                                    |
 * | scope          | http only. no_portal: never. basic_user, call_center_agent: its own calls only.           |
 * |                | call_center_supervisor: its own calls and those of members of groups it supervises.       |
 * |                | office_manager: any call on its PBX (user.server, else its own extensions' servers, else  |
 * |                | every PBX); the call is on the servers of its agent's extensions, and an agent with no    |
 * |                | extensions, or an extension with no server, is on every PBX                              |
 * | target         | the call's agent is in the directory, and the facts the action needs are there and valid: |
 * |                | transfer: transferTo, a number or extension. directTransfer: targetAgent, a known user,   |
 * |                | not the call's agent, with at least one address and flag inbound. requeue: the call came |
 * |                | from a queue, and the destination (if named) is that queue. crossQueueRequeue: queue, a   |
 * |                | known queue, not the call's queue, one the call's agent is logged into                    |
 * | role           | the call is the actor's own, or its agent has a strictly LOWER role (no one acts upward   |
 * |                | or on a peer). Runs when the agent is known                                               |
 * | supervision    | role supervisor only: the call is its own or its agent is a member of a group it          |
 * |                | supervises. Runs when the agent is known                                                  |
 * | flag           | the ACTOR's own flags (the person pressing the button): hold/unhold → hold; hangup →      |
 * |                | hangup; end → endForAll; transfer → transfer, plus a second flag check internationalTransfer |
 * |                | when transferTo starts with a configured international prefix; directTransfer → its       |
 * |                | directTransfer is not disabled; requeue → requeue; crossQueueRequeue → crossQueueRequeue  |
 * | transfer-scope | directTransfer with a known targetAgent and a scope other than disabled: own_group → the  |
 * |                | target shares a group with the call's agent; any_logged_in → targetLoggedIn is true (a    |
 * |                | live fact the use case reads from AMI)                                                    |
 *
 * The target's own claim of the call (it answers) is a live fact the use case checks, not this file.
 * Everything here is total (never throws, whatever the request holds) and deterministic.
 */
import { checkIp } from './ip.js';
import type { CompiledPolicy, UserIndex } from './compile.js';
import { check, type Check, type Decision } from './decide.js';
import type { CallFlags } from './types.js';

export const CALL_ACTIONS = ['hold', 'unhold', 'hangup', 'end', 'transfer', 'directTransfer', 'requeue', 'crossQueueRequeue'] as const;
export type CallAction = (typeof CALL_ACTIONS)[number];

/** The agent who answered; the queue the call came from. */
export interface CallFacts {
  agent: string;
  queue?: string;
}

export interface CallActionRequest {
  actor: string;
  action: CallAction;
  call: CallFacts;
  /** phone = the agent's own desk phone (REFER, re-INVITE): the actor must be the agent; no portal scope needed; no ip check. */
  source: 'http' | 'phone';
  /** http: the source address, checked against the actor's ipAllow as decide does. */
  ip?: string;
  /** transfer: the dialled number/extension. */
  transferTo?: string;
  /** From config; a transferTo starting with one needs flag internationalTransfer. */
  internationalPrefixes?: readonly string[];
  /** directTransfer: the colleague. */
  targetAgent?: string;
  /** directTransfer any_logged_in: the target is logged into at least one queue (live AMI state, given by the use case). */
  targetLoggedIn?: boolean;
  /** requeue/crossQueueRequeue: the destination queue (requeue: absent or = call.queue). */
  queue?: string;
  /** crossQueueRequeue: queues the call's agent is logged into (live). */
  agentLoggedInQueues?: readonly string[];
}

/** The flag each action needs (transfer may need internationalTransfer as well; directTransfer is a scope, not a boolean). */
const ACTION_FLAG: Readonly<Record<CallAction, keyof CallFlags>> = {
  hold: 'hold',
  unhold: 'hold',
  hangup: 'hangup',
  end: 'endForAll',
  transfer: 'transfer',
  directTransfer: 'directTransfer',
  requeue: 'requeue',
  crossQueueRequeue: 'crossQueueRequeue',
};

/** A number or extension a PBX can dial: no spaces, no control characters, no dial-string separators. */
const DIALLABLE = /^[A-Za-z0-9*#+._-]{1,64}$/;

/** A value from a request as text: strings as they are, other values by kind (an object may not even convert). */
function shown(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) return Array.isArray(v) ? '(a list)' : '(an object)';
  if (typeof v === 'symbol' || typeof v === 'function') return `(a ${typeof v})`;
  return String(v);
}

/** The queue the call came from, when the facts name one. */
function queueOf(call: CallFacts | undefined): string | undefined {
  const q = call?.queue;
  return typeof q === 'string' ? q : undefined;
}

function finish(reasons: Check[]): Decision {
  let allowed = true;
  for (const r of reasons) if (!r.passed) allowed = false;
  return { allowed, reasons, matched: [] };
}

function isAction(a: unknown): a is CallAction {
  return typeof a === 'string' && Object.hasOwn(ACTION_FLAG, a);
}

function ipCheck(u: UserIndex, ip: unknown): Check {
  const allow = u.user.flags.ipAllow;
  if (ip === undefined) return check('ip', false, () => 'an http request without a source address');
  if (typeof ip !== 'string') return check('ip', false, () => `the source address ${shown(ip)} is not an address`);
  const ok = checkIp(allow, ip);
  return check('ip', ok, () =>
    allow.length === 0
      ? 'any address allowed'
      : ok
        ? `${ip} is in ${u.user.id}'s allow-list`
        : `${ip} is not in ${u.user.id}'s allow-list (${allow.join(', ')})`,
  );
}

/** PBXs a call of `agent` is on: null = every PBX (no extensions, or one without a server). */
function callServers(agent: UserIndex | undefined, policy: CompiledPolicy): Set<string> | null {
  if (agent === undefined) return null;
  const out = new Set<string>();
  for (const id of agent.user.extensions) {
    const server = policy.index.extensions.get(id)?.ext.server;
    if (server === undefined) return null;
    out.add(server);
  }
  return out.size === 0 ? null : out;
}

/** The http scope check on a call of `agentId` (agent = its directory entry, if any). */
function callScopeCheck(policy: CompiledPolicy, u: UserIndex, agentId: string, agent: UserIndex | undefined): Check {
  const me = u.user.id;
  const scope = u.user.scope;
  const own = agentId === me;
  switch (scope) {
    case 'no_portal':
      return check('scope', false, () => 'scope no_portal allows nothing');
    case 'basic_user':
    case 'call_center_agent':
      return own
        ? check('scope', true, () => `${scope} on its own call`)
        : check('scope', false, () => `scope ${scope} acts only on its own calls, and this call is ${agentId}'s`);
    case 'call_center_supervisor':
      if (own) return check('scope', true, () => 'call_center_supervisor on its own call');
      if (u.supervisees.has(agentId))
        return check('scope', true, () => `call_center_supervisor: ${agentId} is in a group ${me} supervises`);
      return check(
        'scope',
        false,
        () => `scope call_center_supervisor reaches only its own calls and those of the groups it supervises; this call is ${agentId}'s`,
      );
    case 'office_manager': {
      const pbx = u.pbx;
      const servers = callServers(agent, policy);
      if (pbx === null || servers === null) return check('scope', true, () => `office_manager: ${agentId}'s call is on its PBX`);
      for (const s of servers) if (pbx.has(s)) return check('scope', true, () => `office_manager: ${agentId}'s call is on ${s}`);
      return check(
        'scope',
        false,
        () => `scope office_manager covers PBX ${[...pbx].join(', ')}, and ${agentId}'s calls are on ${[...servers].join(', ')}`,
      );
    }
    default:
      return check('scope', false, () => `unknown scope '${shown(scope)}'`);
  }
}

function roleCheck(u: UserIndex, agent: UserIndex): Check {
  if (agent === u) return check('role', true, () => `${u.user.id} acts on its own call`);
  if (agent.rank < u.rank) return check('role', true, () => `${agent.user.id} (${agent.user.role}) is below ${u.user.id} (${u.user.role})`);
  return check(
    'role',
    false,
    () =>
      `${u.user.id} (${u.user.role}) may not act on a call of ${agent.user.id} (${agent.user.role}): only on its own calls or those of lower roles`,
  );
}

function supervisionCheck(u: UserIndex, agent: UserIndex): Check | undefined {
  if (u.user.role !== 'supervisor') return undefined;
  if (agent === u) return check('supervision', true, () => `${u.user.id} acts on its own call`);
  if (u.supervisees.has(agent.user.id)) return check('supervision', true, () => `${agent.user.id} is in a group ${u.user.id} supervises`);
  return check(
    'supervision',
    false,
    () =>
      `supervisor ${u.user.id} acts only on calls of members of the groups it supervises${u.supervises.size > 0 ? ` (${[...u.supervises].join(', ')})` : ''}; ${agent.user.id} is not one`,
  );
}

/** The flag check of `action` for the actor (directTransfer: its scope is not disabled). */
function flagCheck(u: UserIndex, action: CallAction): Check {
  const id = u.user.id;
  if (action === 'directTransfer') {
    const dt = u.user.flags.directTransfer;
    return dt === 'own_group' || dt === 'any_logged_in'
      ? check('flag', true, () => `${id} may transfer directly (${dt})`)
      : check('flag', false, () => `${id}'s directTransfer is disabled`);
  }
  const flag = ACTION_FLAG[action];
  return u.user.flags[flag] === true
    ? check('flag', true, () => `${id} has the ${flag} flag`)
    : check('flag', false, () => `${id} has no ${flag} flag`);
}

/** The checks that do not depend on the per-target facts (actor known; agent may be unknown). */
function baseChecks(
  policy: CompiledPolicy,
  u: UserIndex,
  call: CallFacts | undefined,
  agent: UserIndex | undefined,
  source: unknown,
  ip: unknown,
): Check[] {
  const reasons: Check[] = [check('actor', true, () => `${u.user.id} (${u.user.role}, ${u.user.scope})`)];
  const agentId = typeof call?.agent === 'string' ? call.agent : '';
  if (source === 'phone') {
    reasons.push(
      agentId === u.user.id
        ? check('source', true, () => `${u.user.id}'s own desk phone`)
        : check(
            'source',
            false,
            () => `a desk phone acts only on its own calls, and this call is ${agentId || 'nobody'}'s, not ${u.user.id}'s`,
          ),
    );
  } else {
    reasons.push(ipCheck(u, ip));
    reasons.push(callScopeCheck(policy, u, agentId, agent));
  }
  if (agent !== undefined) {
    reasons.push(roleCheck(u, agent));
    const sup = supervisionCheck(u, agent);
    if (sup) reasons.push(sup);
  }
  return reasons;
}

function agentOf(policy: CompiledPolicy, call: CallFacts | undefined): UserIndex | undefined {
  const id = call?.agent;
  return typeof id === 'string' ? policy.index.users.get(id) : undefined;
}

function unknownAgentText(call: CallFacts | undefined): string {
  const id = call?.agent;
  return typeof id === 'string' ? `the call's agent '${id}' is not in the directory` : 'the call names no agent';
}

function sharedGroup(a: UserIndex, b: UserIndex): string | undefined {
  for (const g of a.groups) if (b.groups.has(g)) return g;
  return undefined;
}

/** Why `t` cannot take a direct transfer of `agent`'s call, or undefined when it can. */
function colleagueProblem(t: UserIndex, agent: UserIndex | undefined): string | undefined {
  const id = t.user.id;
  if (t === agent) return `${id} is the call's agent already`;
  if (t.user.addresses.length === 0) return `${id} has no address to ring`;
  if (!t.user.flags.inbound) return `${id} takes no inbound calls (no inbound flag)`;
  return undefined;
}

function internationalPrefix(to: string, prefixes: readonly string[] | undefined): string | undefined {
  if (!Array.isArray(prefixes)) return undefined;
  for (const p of prefixes as readonly unknown[]) if (typeof p === 'string' && to.startsWith(p)) return p;
  return undefined;
}

/** Decide one call action. Total: unknown actor/action/agent/target → deny with a reason. */
export function decideCallAction(policy: CompiledPolicy, req: CallActionRequest): Decision {
  const ix = policy.index;
  const u = typeof req?.actor === 'string' ? ix.users.get(req.actor) : undefined;
  if (u === undefined) return finish([check('actor', false, () => `unknown user '${shown(req?.actor)}'`)]);
  const call = (typeof req.call === 'object' && req.call !== null ? req.call : {}) as CallFacts;
  const aid = typeof call.agent === 'string' ? call.agent : '';
  const agent = agentOf(policy, call);
  const reasons = baseChecks(policy, u, call, agent, req.source, req.ip);
  const action = req.action;
  if (!isAction(action)) {
    reasons.push(check('target', false, () => `unknown call action '${shown(action)}'`));
    return finish(reasons);
  }

  const problems: string[] = [];
  if (agent === undefined) problems.push(unknownAgentText(call));
  let ok = ''; // what the target is, when it passes
  const extra: Check[] = [];
  switch (action) {
    case 'hold':
    case 'unhold':
    case 'hangup':
    case 'end':
      ok = `${aid}'s call`;
      break;
    case 'transfer': {
      const to = req.transferTo;
      if (to === undefined || to === '') problems.push('transfer needs a destination number (transferTo)');
      else if (typeof to !== 'string' || !DIALLABLE.test(to)) problems.push(`'${shown(to)}' is not a number or extension`);
      else {
        ok = `${aid}'s call to ${to}`;
        const prefix = internationalPrefix(to, req.internationalPrefixes);
        if (prefix !== undefined) {
          extra.push(
            u.user.flags.internationalTransfer
              ? check('flag', true, () => `${u.user.id} has the internationalTransfer flag (${to} starts with ${prefix})`)
              : check(
                  'flag',
                  false,
                  () => `${u.user.id} has no internationalTransfer flag, and ${to} starts with the international prefix ${prefix}`,
                ),
          );
        }
      }
      break;
    }
    case 'directTransfer': {
      const tid = req.targetAgent;
      const t = typeof tid === 'string' ? ix.users.get(tid) : undefined;
      if (tid === undefined || tid === '') problems.push('directTransfer needs a colleague (targetAgent)');
      else if (t === undefined) problems.push(`unknown user '${shown(tid)}'`);
      else {
        const p = colleagueProblem(t, agent);
        if (p !== undefined) problems.push(p);
        else ok = `${aid}'s call to ${t.user.id}`;
        const dt = u.user.flags.directTransfer;
        if (dt === 'own_group') {
          const g = agent === undefined ? undefined : sharedGroup(t, agent);
          extra.push(
            g !== undefined
              ? check('transfer-scope', true, () => `${t.user.id} and ${aid} are both in ${g}`)
              : check(
                  'transfer-scope',
                  false,
                  () => `${u.user.id} transfers only within the call's agent's groups, and ${t.user.id} shares no group with ${aid}`,
                ),
          );
        } else if (dt === 'any_logged_in') {
          extra.push(
            req.targetLoggedIn === true
              ? check('transfer-scope', true, () => `${t.user.id} is logged into a queue`)
              : check(
                  'transfer-scope',
                  false,
                  () => `${u.user.id} transfers only to colleagues logged into a queue, and ${t.user.id} is not`,
                ),
          );
        }
      }
      break;
    }
    case 'requeue': {
      const from = queueOf(call);
      if (from === undefined) problems.push('the call came from no queue, so it cannot be requeued');
      else if (req.queue !== undefined && req.queue !== from) {
        problems.push(`requeue returns the call to its own queue ${from}, not to ${shown(req.queue)} (that is a cross-queue requeue)`);
      } else ok = `${aid}'s call back to queue ${from}`;
      break;
    }
    case 'crossQueueRequeue': {
      const to = req.queue;
      const loggedIn = Array.isArray(req.agentLoggedInQueues) ? req.agentLoggedInQueues : [];
      if (to === undefined || to === '') problems.push('crossQueueRequeue needs a destination queue (queue)');
      else if (typeof to !== 'string' || !ix.queues.has(to)) problems.push(`unknown queue '${shown(to)}'`);
      else if (to === queueOf(call)) problems.push(`${to} is the call's own queue (that is a requeue)`);
      else if (!loggedIn.includes(to)) problems.push(`${aid} is not logged into queue ${to}`);
      else ok = `${aid}'s call to queue ${to}`;
      break;
    }
  }
  reasons.push(problems.length === 0 ? check('target', true, () => ok) : check('target', false, () => problems.join('; ')));
  reasons.push(flagCheck(u, action));
  for (const c of extra) reasons.push(c);
  return finish(reasons);
}

/** Is there a colleague `u`'s directTransfer scope lets take `agent`'s call (live facts assumed true)? */
function someColleague(policy: CompiledPolicy, u: UserIndex, agent: UserIndex): UserIndex | undefined {
  const ix = policy.index;
  if (u.user.flags.directTransfer === 'own_group') {
    for (const g of agent.groups) {
      for (const m of ix.groups.get(g)?.members ?? []) {
        const t = ix.users.get(m);
        if (t !== undefined && colleagueProblem(t, agent) === undefined) return t;
      }
    }
    return undefined;
  }
  for (const t of ix.users.values()) if (colleagueProblem(t, agent) === undefined) return t;
  return undefined;
}

/**
 * For GET /v1/calls: every action with allowed + reasons, for this actor on this call over http (no
 * per-target facts: transfer is allowed if some destination could be, i.e. a national one;
 * directTransfer if its scope is not disabled and some colleague could take the call (own_group: one
 * sharing a group with the agent; any_logged_in: any, if logged in); requeue if the call has a queue;
 * crossQueueRequeue if the agent is logged into another queue of the directory). An action is
 * allowed here exactly when decideCallAction allows it for some choice of those facts.
 */
export function callCapabilities(
  policy: CompiledPolicy,
  actor: string,
  call: CallFacts,
  ctx: { ip?: string; agentLoggedInQueues?: readonly string[] },
): Record<CallAction, Decision> {
  const u = policy.index.users.get(actor);
  const out = {} as Record<CallAction, Decision>;
  if (u === undefined) {
    for (const a of CALL_ACTIONS) out[a] = finish([check('actor', false, () => `unknown user '${shown(actor)}'`)]);
    return out;
  }
  const agent = agentOf(policy, call);
  const callQueue = queueOf(call);
  const base = baseChecks(policy, u, call, agent, 'http', ctx?.ip);
  for (const action of CALL_ACTIONS) {
    const reasons = base.slice();
    let target: Check;
    if (agent === undefined) target = check('target', false, () => unknownAgentText(call));
    else {
      const aid = agent.user.id;
      switch (action) {
        case 'directTransfer': {
          const t = u.user.flags.directTransfer === 'disabled' ? undefined : someColleague(policy, u, agent);
          target =
            t !== undefined
              ? check('target', true, () => `${t.user.id} could take ${aid}'s call`)
              : check('target', false, () => `no colleague ${u.user.id} may transfer to could take ${aid}'s call`);
          break;
        }
        case 'requeue':
          target =
            callQueue !== undefined
              ? check('target', true, () => `${aid}'s call back to queue ${callQueue}`)
              : check('target', false, () => 'the call came from no queue, so it cannot be requeued');
          break;
        case 'crossQueueRequeue': {
          const logged = Array.isArray(ctx?.agentLoggedInQueues) ? ctx.agentLoggedInQueues : [];
          const q = logged.find((x) => x !== callQueue && policy.index.queues.has(x));
          target =
            q !== undefined
              ? check('target', true, () => `${aid} is logged into queue ${q} as well`)
              : check('target', false, () => `${aid} is logged into no other queue`);
          break;
        }
        default:
          target = check('target', true, () => `${aid}'s call`);
      }
    }
    reasons.push(target);
    reasons.push(flagCheck(u, action));
    out[action] = finish(reasons);
  }
  return out;
}

/**
 * Who may SEE a call in GET /v1/calls, by portal scope (the same server rules as the call actions'
 * scope check): no_portal nobody's; basic_user and call_center_agent their own; call_center_supervisor
 * its own and its supervised groups' members'; office_manager every call on its PBX.
 */
export function canSeeCall(policy: CompiledPolicy, actor: string, call: CallFacts): Check {
  const u = policy.index.users.get(actor);
  if (u === undefined) return check('actor', false, () => `unknown user '${shown(actor)}'`);
  const agentId = typeof call?.agent === 'string' ? call.agent : '';
  return callScopeCheck(policy, u, agentId, agentOf(policy, call));
}
