/**
 * Call control of the calls this instance drives (issue #14): list them (GET /v1/calls) and act on
 * one (hold, unhold, hangup = the agent leaves, end = everyone hung up, blind transfer, requeue).
 *
 * Sequenced like queue operations (queue-service.ts): the call is found (404 when this instance does
 * not drive it or the user may not see it), the policy decides (decideCallAction; a refusal is
 * audited and answered 403 with the decision), the call's state is checked (409, audited), then the
 * event goes into the dispatch machine (src/domain/dispatch/call-control.ts) and the answer waits
 * until Asterisk applied its requests: 200 with the call's new view, or the ARI error (502/503/504).
 * Every outcome is audited (kind call-action) with actor, call, agent, action, target and the
 * decision's reasons, and counted (metrics callAction).
 *
 * Only this instance's calls: a call driven by another agentgate instance is not listed and is 404
 * here (docs/api.md). Direct transfer to a colleague is ./direct-transfer.ts; the phone's own
 * buttons (REFER, re-INVITE hold) reach `phoneHold` and the transfers through ./phone-buttons.ts.
 */
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock.js';
import type { Config } from '../config/load.js';
import type { AuditTrail } from './audit-trail.js';
import type { PolicyHolder } from './policy-holder.js';
import type { DispatchService, LiveCall } from './dispatch-service.js';
import type { MemberView } from './queue-members.js';
import type { CallControlEvent } from '../domain/dispatch/machine.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';
import { createDirectTransfer, type DirectTransfer, type TransferDispatch } from './direct-transfer.js';
import { AgentgateError } from '../errors/codes.js';
import {
  callCapabilities,
  canSeeCall,
  decideCallAction,
  plainDecision,
  type CallAction,
  type CallFacts,
  type Decision,
} from '../domain/policy/index.js';

/** What a client may ask for here (a transfer to a colleague, `{agent, mode}`, goes to ./direct-transfer.ts). */
export type CallActionName = 'hold' | 'unhold' | 'hangup' | 'end' | 'transfer' | 'requeue';

export interface CallActionInput {
  actor: string;
  ip?: string;
  callId: string;
  action: CallActionName;
  /** transfer: the number or extension to send the customer to. */
  to?: string;
  /** requeue: the destination queue; absent = the queue the call came from. Another queue is a crossQueueRequeue. */
  queue?: string;
}

export type CallState = 'ringing' | 'talking' | 'on_hold';

export interface CallView {
  id: string;
  server: string;
  agent: string;
  caller: { number: string; name: string };
  /** The device that answered. */
  endpoint?: string;
  queue?: string;
  state: CallState;
  startedAt: number;
  answeredAt?: number;
  holdSince?: number;
  holdBy?: 'api' | 'phone';
  /** On hold longer than calls.holdAlertSec. */
  holdTooLong: boolean;
  /** After a warm transfer: the colleague in the call with the agent, and the device that answered. */
  partner?: { agent: string; endpoint?: string };
  /** What the requesting user may do to this call now (per action: allowed, and the policy's reasons). */
  capabilities: Record<CallAction, { allowed: boolean; reasons: Decision['reasons'] }>;
}

export interface CallActionResult {
  ok: true;
  callId: string;
  /** The policy action decided (requeue to another queue is crossQueueRequeue). */
  action: CallAction;
  decision: Decision;
  /** The call after the action; absent once it left this instance (hangup, end, transfer, requeue, or the caller hung up meanwhile). */
  call?: CallView;
  /** How the dispatch ended, when it did (AGENT_HANGUP, ENDED, TRANSFERRED, REQUEUED...). */
  result?: string;
  auditId?: string;
}

export interface CallControlService {
  list(actor: string, ip?: string): CallView[];
  act(req: CallActionInput): Promise<CallActionResult>;
  /**
   * The agent's phone put the call on hold (held) or took it off (re-INVITE; fed by
   * ./phone-buttons.ts). The phone did it already, so the state follows whatever the policy
   * says; a hold without the agent's hold flag is audited as a violation and counted
   * (agentgate_phone_hold_without_flag_total). False when this instance does not drive the call.
   */
  phoneHold(callId: string, held: boolean): Promise<boolean>;
  /** Direct transfer to a colleague, blind or warm (src/app/direct-transfer.ts): http and the phone's REFER. */
  directTransfer: DirectTransfer;
  /** Stops the metric readers. */
  stop(): void;
}

export interface CallControlDeps {
  dispatch: ReadonlyMap<string, Pick<DispatchService, 'liveCalls' | 'act'> & TransferDispatch>;
  policy: PolicyHolder;
  /** Live queue members (AMI): which queues the call's agent is logged into, for crossQueueRequeue. */
  members: () => MemberView[];
  calls: Config['calls'];
  clock: Clock;
  audit: AuditTrail;
  logger: Logger;
  metrics?: Metrics;
}

const stateOf = (c: LiveCall): CallState => (c.phase !== 'talking' ? 'ringing' : c.hold ? 'on_hold' : 'talking');

export function createCallControl(deps: CallControlDeps): CallControlService {
  const log = deps.logger.child({ component: 'calls' });
  const metrics = deps.metrics ?? noMetrics;
  const holdAlertMs = deps.calls.holdAlertSec * 1000;

  const all = (): LiveCall[] => [...deps.dispatch.values()].flatMap((d) => d.liveCalls());
  const factsOf = (c: LiveCall, agent: string): CallFacts => (c.queue === undefined ? { agent } : { agent, queue: c.queue });
  const facts = (c: LiveCall): CallFacts => factsOf(c, c.agent);
  /**
   * Whose side of the call `actor` acts on: with two agents in it (warm transfer) the partner sees
   * the call and acts as its agent (its `hangup` releases only itself), and so does whoever may see
   * the partner's calls but not the agent's. Undefined: `actor` may not see the call.
   */
  function sideOf(c: LiveCall, actor: string): CallFacts | undefined {
    const policy = deps.policy.current();
    const partner = c.partner === undefined ? undefined : factsOf(c, c.partner.agent);
    if (partner && actor === partner.agent) return partner;
    if (canSeeCall(policy, actor, facts(c)).passed) return facts(c);
    return partner && canSeeCall(policy, actor, partner).passed ? partner : undefined;
  }
  const loggedInQueues = (agent: string): string[] => [
    ...new Set(
      deps
        .members()
        .filter((m) => m.user === agent)
        .map((m) => m.queue),
    ),
  ];
  const tooLong = (c: LiveCall, now: number): boolean => c.hold !== undefined && now - c.hold.since > holdAlertMs;

  const unwatch = metrics.watchCalls({
    onHold: () => all().filter((c) => c.hold !== undefined).length,
    holdTooLong: () => {
      const now = deps.clock.now();
      return all().filter((c) => tooLong(c, now)).length;
    },
  });

  function view(c: LiveCall, actor: string, ip: string | undefined, now: number): CallView {
    const side = sideOf(c, actor) ?? facts(c);
    const caps = callCapabilities(deps.policy.current(), actor, side, {
      ...(ip === undefined ? {} : { ip }),
      agentLoggedInQueues: loggedInQueues(side.agent),
    });
    const capabilities = {} as CallView['capabilities'];
    for (const [a, d] of Object.entries(caps) as Array<[CallAction, Decision]>) {
      // "May press now": the policy's answer, and the call's state (the 409s of act and directTransfer).
      const why = stateConflict(c, a);
      const reasons = plainDecision(d).reasons;
      capabilities[a] =
        why === undefined
          ? { allowed: d.allowed, reasons }
          : { allowed: false, reasons: [...reasons, { name: 'call-state', passed: false, detail: `the call ${why}` }] };
    }
    return {
      id: c.id,
      server: c.server,
      agent: c.agent,
      caller: { ...c.caller },
      ...(c.endpoint === undefined ? {} : { endpoint: c.endpoint }),
      ...(c.queue === undefined ? {} : { queue: c.queue }),
      state: stateOf(c),
      startedAt: c.startedAt,
      ...(c.answeredAt === undefined ? {} : { answeredAt: c.answeredAt }),
      ...(c.hold === undefined ? {} : { holdSince: c.hold.since, holdBy: c.hold.by }),
      holdTooLong: tooLong(c, now),
      ...(c.partner === undefined ? {} : { partner: { ...c.partner } }),
      ...(c.transferring === undefined ? {} : { transferring: { ...c.transferring } }),
      capabilities,
    };
  }

  /** Why the call's state does not allow `action` now (409; a failed `call-state` check in its capabilities), or undefined. */
  function stateConflict(c: LiveCall, action: CallAction): string | undefined {
    if (c.phase !== 'talking') return 'is not answered yet (ringing)';
    if (action === 'hold' && c.hold) return 'is already on hold';
    if (action === 'unhold' && !c.hold) return 'is not on hold';
    if (action === 'directTransfer' && c.transferring) return `rings ${c.transferring.agent} already (a direct transfer is running)`;
    if (action === 'directTransfer' && c.partner) return `has a colleague in it already (${c.partner.agent})`;
    return undefined;
  }

  function conflict(c: LiveCall, action: CallActionName): string | undefined {
    const why = stateConflict(c, action);
    return why === undefined ? undefined : `it ${why}`;
  }

  /** The machine event that performs an allowed action. */
  function eventFor(req: CallActionInput, c: LiveCall, side: CallFacts, now: number): CallControlEvent {
    switch (req.action) {
      case 'hold':
        return { type: 'HoldRequested', at: now, mohClass: deps.calls.mohClass };
      case 'unhold':
        return { type: 'UnholdRequested', at: now };
      case 'hangup':
        // The partner's side of a warm transfer: only the partner leaves.
        return side.agent === c.agent
          ? { type: 'AgentReleaseRequested', at: now }
          : { type: 'AgentReleaseRequested', at: now, agent: side.agent };
      case 'end':
        return { type: 'EndRequested', at: now };
      case 'transfer': {
        const to = req.to!;
        return { type: 'TransferRequested', at: now, to, target: { context: deps.calls.transferContext, extension: to, priority: 1 } };
      }
      case 'requeue': {
        const queue = req.queue ?? c.queue!;
        const target = deps.calls.requeue[queue] ?? { context: 'agentgate-requeue', extension: queue, priority: 1 };
        return { type: 'RequeueRequested', at: now, queue, target };
      }
    }
  }

  async function act(req: CallActionInput): Promise<CallActionResult> {
    const policy = deps.policy.current();
    const now = deps.clock.now();
    const found = all().find((c) => c.id === req.callId);
    const side = found && sideOf(found, req.actor);
    // A call the user may not see is as unknown as one that does not exist: its id tells nothing.
    if (!found || !side) throw new AgentgateError('AGENTGATE_ERR_CALL_NOT_FOUND', { id: req.callId }, { field: 'params.callId' });
    const c = found;
    const action: CallAction =
      req.action === 'requeue' && req.queue !== undefined && req.queue !== c.queue ? 'crossQueueRequeue' : req.action;
    const decision = plainDecision(
      decideCallAction(policy, {
        actor: req.actor,
        action,
        call: side,
        source: 'http',
        ...(req.ip === undefined ? {} : { ip: req.ip }),
        ...(req.to === undefined ? {} : { transferTo: req.to }),
        internationalPrefixes: deps.calls.internationalPrefixes,
        ...(req.queue === undefined ? {} : { queue: req.queue }),
        agentLoggedInQueues: loggedInQueues(side.agent),
      }),
    );
    const target = req.action === 'transfer' ? req.to : req.action === 'requeue' ? (req.queue ?? c.queue) : undefined;
    const base = { actor: req.actor, action, call: c.id, ...(c.queue === undefined ? {} : { queue: c.queue }) };
    const detail = { call: req.callId, agent: side.agent, server: c.server, ...(target === undefined ? {} : { target }), decision };
    const record = (result: string, extra: Record<string, unknown> = {}): Promise<string | undefined> =>
      deps.audit.append({ kind: 'call-action', at: deps.clock.now(), ...base, result, detail: { ...detail, ...extra } });
    const failedChecks = decision.reasons.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);

    if (!decision.allowed) {
      metrics.callAction({ action, outcome: 'refused' });
      await record('denied');
      log.info({ actor: req.actor, action, call: req.callId, agent: c.agent, denied: failedChecks }, 'call action denied');
      throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: failedChecks.join('; '), decision });
    }
    const why = conflict(c, req.action);
    if (why !== undefined) {
      metrics.callAction({ action, outcome: 'refused' });
      await record('conflict', { reason: why });
      throw new AgentgateError('AGENTGATE_ERR_CALL_STATE', { id: req.callId, action: req.action, detail: why });
    }

    const svc = deps.dispatch.get(c.server)!;
    const out = await svc.act(c.id, eventFor(req, c, side, now));
    if (out === undefined) {
      // Finished between the look-up and the event (the caller hung up): nothing was sent.
      metrics.callAction({ action, outcome: 'refused' });
      await record('conflict', { reason: 'the call ended meanwhile' });
      throw new AgentgateError('AGENTGATE_ERR_CALL_STATE', { id: req.callId, action: req.action, detail: 'the call ended meanwhile' });
    }
    if (out.failed !== undefined) {
      const err =
        out.failed instanceof AgentgateError
          ? out.failed
          : new AgentgateError('AGENTGATE_ERR_ARI_FAILED', { operation: req.action, detail: String(out.failed) }, { cause: out.failed });
      metrics.callAction({ action, outcome: 'failed' });
      await record('failed', {
        error: { code: err.code, message: err.message },
        ...(out.result === undefined ? {} : { ended: out.result }),
      });
      log.warn({ actor: req.actor, action, call: req.callId, agent: c.agent, err }, 'call action failed in Asterisk');
      // A hold whose music did not start is no hold: the state goes back (the stop is harmless).
      if (req.action === 'hold') await svc.act(c.id, { type: 'UnholdRequested', at: deps.clock.now() });
      throw err;
    }
    metrics.callAction({ action, outcome: 'allowed' });
    const auditId = await record('ok', out.result === undefined ? {} : { ended: out.result });
    log.info({ actor: req.actor, action, call: req.callId, agent: c.agent, target, result: out.result }, 'call action applied');
    const res: CallActionResult = { ok: true, callId: c.id, action, decision };
    if (out.call !== undefined) res.call = view(out.call, req.actor, req.ip, deps.clock.now());
    if (out.result !== undefined) res.result = out.result;
    if (auditId !== undefined) res.auditId = auditId;
    return res;
  }

  async function phoneHold(callId: string, held: boolean): Promise<boolean> {
    const c = all().find((x) => x.id === callId);
    if (!c) return false;
    const action: CallAction = held ? 'hold' : 'unhold';
    const decision = plainDecision(decideCallAction(deps.policy.current(), { actor: c.agent, action, call: facts(c), source: 'phone' }));
    if (held && !decision.allowed) {
      metrics.phoneHoldWithoutFlag();
      log.warn({ call: callId, agent: c.agent }, 'the phone put a call on hold without the hold flag');
    }
    await deps.dispatch.get(c.server)!.act(callId, { type: held ? 'PhoneHeld' : 'PhoneUnheld', at: deps.clock.now() });
    await deps.audit.append({
      kind: 'call-action',
      at: deps.clock.now(),
      actor: c.agent,
      action,
      call: callId,
      ...(c.queue === undefined ? {} : { queue: c.queue }),
      result: decision.allowed ? 'ok' : 'violation',
      detail: { call: callId, agent: c.agent, server: c.server, source: 'phone', decision },
    });
    return true;
  }

  return {
    phoneHold,
    directTransfer: createDirectTransfer({ ...deps, mohClass: deps.calls.mohClass }),
    list(actor, ip) {
      const now = deps.clock.now();
      return all()
        .filter((c) => sideOf(c, actor) !== undefined)
        .map((c) => view(c, actor, ip, now));
    },
    act,
    stop: unwatch,
  };
}
