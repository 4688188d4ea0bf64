/**
 * Direct transfer of a talking call to a colleague, blind or warm (issue #14 part 5): the use case
 * behind `POST /v1/calls/{callId}/transfer {agent, mode}` and the agent's phone (a REFER to a
 * colleague's extension, wired by the phone-event handler).
 *
 * Sequence: find the call (by id, or by one of its channels for the phone; 404 / not-found), decide
 * with decideCallAction (directTransfer; targetLoggedIn from the live AMI member state; refused →
 * audited, 403 / denied), then the dispatch service claims the target (`agent:<id>`; held by another
 * call → 409 "agent busy", nothing rings) and rings it (src/app/dispatch/direct-transfer.ts; the
 * machine is src/domain/dispatch/direct-transfer.ts). The answer comes once the round started; how
 * it ended comes later as `outcome` (answered on a device, or failed with a result) and is audited.
 *
 * Audit (kind call-action, action directTransfer), in order: `ringing` (round started), then
 * `answered` (device) or `failed` (why), then `released` (the original agent left: blind at once,
 * warm when they hang up — that last one is the dispatch's own record).
 */
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock.js';
import type { AuditTrail } from './audit-trail.js';
import type { PolicyHolder } from './policy-holder.js';
import type { DispatchService, LiveCall } from './dispatch-service.js';
import type { MemberView } from './queue-members.js';
import type { TransferMode } from '../domain/dispatch/machine.js';
import type { TransferOutcomeEvent } from './dispatch/direct-transfer.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';
import { canSeeCall, decideCallAction, plainDecision, type Decision } from '../domain/policy/index.js';

export type { TransferOutcomeEvent } from './dispatch/direct-transfer.js';

export interface DirectTransferInput {
  /** The call (http), or one of its channels (the phone: the agent's leg that sent the REFER). */
  callId?: string;
  legId?: string;
  targetAgent: string;
  mode: TransferMode;
  /** Who asks: the user (http). For the phone it may be left out: the call's agent (whose phone sent the REFER). */
  actor?: string;
  source: 'http' | 'phone';
  ip?: string;
  /** Music class for the customer while a blind transfer rings (default: calls.mohClass). */
  mohClass?: string;
}

export type DirectTransferAnswer =
  | {
      ok: true;
      callId: string;
      target: string;
      mode: TransferMode;
      /** The target's devices being rung (offline ones skipped; empty = every one offline: the round fails at once). */
      devices: string[];
      decision: Decision;
      auditId?: string;
      /** Resolves once the round ended: answered (on which device) or failed (NOANSWER, BUSY, UNAVAILABLE, TIMEOUT, CALLER_HANGUP, ENDED). Never rejects. */
      outcome: Promise<TransferOutcomeEvent>;
    }
  | {
      ok: false;
      /** not-found: no such call here (or not visible); denied: the policy refused; busy: the target is on another call; state: not talking, or a round runs already. */
      reason: 'not-found' | 'denied' | 'busy' | 'state' | 'no-agent' | 'store';
      detail: string;
      callId?: string;
      decision?: Decision;
    };

export type TransferDispatch = Pick<DispatchService, 'liveCalls' | 'startTransfer' | 'callOfChannel' | 'on' | 'off'>;

export interface DirectTransferDeps {
  dispatch: ReadonlyMap<string, TransferDispatch>;
  policy: PolicyHolder;
  members: () => MemberView[];
  mohClass?: string;
  clock: Clock;
  audit: AuditTrail;
  logger: Logger;
  metrics?: Metrics;
}

export type DirectTransfer = (req: DirectTransferInput) => Promise<DirectTransferAnswer>;

export function createDirectTransfer(deps: DirectTransferDeps): DirectTransfer {
  const log = deps.logger.child({ component: 'calls' });
  const metrics = deps.metrics ?? noMetrics;

  function find(req: DirectTransferInput): LiveCall | undefined {
    let id = req.callId;
    if (id === undefined && req.legId !== undefined) {
      for (const d of deps.dispatch.values()) id ??= d.callOfChannel(req.legId);
    }
    if (id === undefined) return undefined;
    for (const d of deps.dispatch.values()) {
      const c = d.liveCalls().find((x) => x.id === id);
      if (c) return c;
    }
    return undefined;
  }

  return async function directTransfer(req) {
    const policy = deps.policy.current();
    const c = find(req);
    const facts = c === undefined ? undefined : c.queue === undefined ? { agent: c.agent } : { agent: c.agent, queue: c.queue };
    // A call the user may not see is as unknown as one that does not exist.
    if (!c || !facts || (req.source === 'http' && !canSeeCall(policy, req.actor ?? '', facts).passed))
      return { ok: false, reason: 'not-found', detail: `no call ${req.callId ?? req.legId ?? ''} on this agentgate instance` };
    const actor = req.actor ?? (req.source === 'phone' ? c.agent : '');
    const targetLoggedIn = deps.members().some((m) => m.user === req.targetAgent);
    const decision = plainDecision(
      decideCallAction(policy, {
        actor,
        action: 'directTransfer',
        call: facts,
        source: req.source,
        ...(req.ip === undefined ? {} : { ip: req.ip }),
        targetAgent: req.targetAgent,
        targetLoggedIn,
      }),
    );
    const record = (result: string, extra: Record<string, unknown> = {}): Promise<string | undefined> =>
      deps.audit.append({
        kind: 'call-action',
        at: deps.clock.now(),
        actor,
        action: 'directTransfer',
        call: c.id,
        ...(c.queue === undefined ? {} : { queue: c.queue }),
        result,
        detail: {
          call: c.id,
          agent: c.agent,
          server: c.server,
          target: req.targetAgent,
          mode: req.mode,
          source: req.source,
          decision,
          ...extra,
        },
      });
    if (!decision.allowed) {
      const failedChecks = decision.reasons.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
      metrics.callAction({ action: 'directTransfer', outcome: 'refused' });
      await record('denied');
      log.info({ actor, call: c.id, target: req.targetAgent, denied: failedChecks }, 'direct transfer denied');
      return { ok: false, reason: 'denied', detail: failedChecks.join('; '), callId: c.id, decision };
    }
    const svc = deps.dispatch.get(c.server)!;
    // Listening before the round starts: a round that fails at once (every address offline) is not missed.
    let settle: (e: TransferOutcomeEvent) => void = () => undefined;
    const outcome = new Promise<TransferOutcomeEvent>((resolve) => (settle = resolve));
    const onOutcome = (e: TransferOutcomeEvent): void => {
      if (e.callId !== c.id) return;
      svc.off('transfer-outcome', onOutcome);
      settle(e);
    };
    svc.on('transfer-outcome', onOutcome);
    const started = await svc.startTransfer(c.id, {
      target: req.targetAgent,
      mode: req.mode,
      ...((req.mohClass ?? deps.mohClass) === undefined ? {} : { mohClass: (req.mohClass ?? deps.mohClass)! }),
    });
    if (!started.started) {
      svc.off('transfer-outcome', onOutcome);
      metrics.callAction({ action: 'directTransfer', outcome: 'refused' });
      await record(started.reason === 'busy' ? 'busy' : 'conflict', { reason: started.detail });
      const reason = started.reason === 'not-running' ? 'state' : started.reason;
      return { ok: false, reason, detail: started.detail, callId: c.id, decision };
    }
    metrics.callAction({ action: 'directTransfer', outcome: 'allowed' });
    const auditId = await record('ringing', { devices: started.devices });
    log.info({ actor, call: c.id, target: started.target, mode: req.mode, devices: started.devices }, 'direct transfer started');
    const told = outcome.then(async (e) => {
      // Both issued in this tick, in order: the Store takes them in issue order, so a customer hanging
      // up right after the answer cannot end the call's audit story before them.
      const written = [record(e.outcome, e.outcome === 'answered' ? { device: e.endpoint } : { why: e.result })];
      if (e.outcome === 'answered' && req.mode === 'blind') written.push(record('released', { released: c.agent }));
      await Promise.all(written.map((w) => w.catch(() => undefined)));
      return e;
    });
    return {
      ok: true,
      callId: c.id,
      target: started.target,
      mode: req.mode,
      devices: started.devices,
      decision,
      ...(auditId === undefined ? {} : { auditId }),
      outcome: told,
    };
  };
}
