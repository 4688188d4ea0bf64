/**
 * The agent's phone's own buttons obey the same flags as the API (issue #14). agentgate creates every
 * PJSIP leg with PJSIP_TRANSFER_HANDLING()=ari-only, so a REFER (Transfer button) reaches it instead
 * of Asterisk carrying it out (dispatch/phone-events.ts finds the call):
 *
 * - Transfer: decideCallAction(source phone, actor = the call's agent, transfer to the REFER's
 *   destination; an international number needs internationalTransfer). Refused → the phone gets 603
 *   Decline (channel_declined), the call goes on untouched, audited `denied` with the reasons.
 *   Allowed → 100 Trying (channel_progress), the same blind transfer as the API (the customer is
 *   continued at calls.transferContext / destination with AGENTGATE_RESULT=TRANSFERRED), then 200 OK
 *   (channel_answered) and the agent's leg is hung up; audited `ok`. Every outcome is counted
 *   (metrics callAction, action transfer).
 *   A destination that is an extension owned by another user is a direct transfer to that user, mode
 *   blind (CallControlService.directTransfer, src/app/direct-transfer.ts: policy directTransfer, the
 *   colleague claimed and rung, audited there with source phone). Refused or impossible → 603 Decline
 *   (denied, not talking) or 503 (the colleague busy, unreachable, the Store away); started → 100
 *   Trying while the colleague rings, 200 OK when the colleague answers (the agent's leg is then hung
 *   up), 503 when nobody answered (the customer is back with the agent, direct-transfer.ts).
 * - Hold (re-INVITE): Asterisk cannot refuse it, so the call's state follows the phone (on hold, by
 *   'phone', in GET /v1/calls); without the agent's hold flag it is audited as a policy violation and
 *   counted (CallControlService.phoneHold).
 *
 * Not covered: legs that are not PJSIP (Local channels, trunks), and Asterisk older than 20.13.0 /
 * 21.8.0 / 22.3.0 (no PJSIP_TRANSFER_HANDLING(): Asterisk executes the REFER; phone-events.ts only
 * audits it). `agentgate doctor` warns about the version.
 */
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock.js';
import type { Config } from '../config/load.js';
import type { AuditTrail } from './audit-trail.js';
import type { PolicyHolder } from './policy-holder.js';
import type { CallControlService } from './call-control.js';
import type { DispatchService, PhoneHoldEvent, PhoneTransferEvent } from './dispatch-service.js';
import type { TransferOutcomeEvent } from './direct-transfer.js';
import type { DialplanTarget } from '../domain/dispatch/machine.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';
import { decideCallAction, plainDecision, userOwningExtension } from '../domain/policy/index.js';

type Svc = Pick<DispatchService, 'on' | 'off' | 'liveCalls' | 'act' | 'reportTransfer'>;

export interface PhoneButtonsDeps {
  dispatch: ReadonlyMap<string, Svc>;
  /** Phone hold and direct transfer go through the call-control use case (state, audit, metrics). */
  calls: Pick<CallControlService, 'phoneHold' | 'directTransfer'>;
  policy: PolicyHolder;
  config: Config['calls'];
  clock: Clock;
  audit: AuditTrail;
  logger: Logger;
  metrics?: Metrics;
}

export interface PhoneButtons {
  /** Stops listening (on daemon stop). */
  stop(): void;
  /** Resolves when every phone event received so far has been handled (tests). */
  idle(): Promise<void>;
}

export function createPhoneButtons(deps: PhoneButtonsDeps): PhoneButtons {
  const log = deps.logger.child({ component: 'phone-buttons' });
  const metrics = deps.metrics ?? noMetrics;
  const pending = new Set<Promise<void>>();
  const track = (p: Promise<void>, what: string): void => {
    const q = p.catch((err: unknown) => log.error({ err }, `${what} failed`)).finally(() => pending.delete(q));
    pending.add(q);
  };

  /** Where the customer goes for a phone transfer to a number `destination`. */
  const transferTo = (destination: string): DialplanTarget => ({
    context: deps.config.transferContext,
    extension: destination,
    priority: 1,
  });

  async function transfer(server: string, svc: Svc, e: PhoneTransferEvent): Promise<void> {
    const c = svc.liveCalls().find((x) => x.id === e.callId);
    if (!c || c.phase !== 'talking') {
      log.warn(
        { call: e.callId, leg: e.legId, destination: e.destination },
        'phone transfer on a call that is no longer talking: declined',
      );
      await svc.reportTransfer(e.legId, 'channel_declined');
      return;
    }
    if (e.destination === undefined) return attended(svc, e, c);
    const destination = e.destination;
    const policy = deps.policy.current();
    const owner = userOwningExtension(policy, destination)?.id;
    if (owner !== undefined && owner !== c.agent) return direct(svc, e, c.id, c.agent, owner);
    const decision = plainDecision(
      decideCallAction(policy, {
        actor: c.agent,
        action: 'transfer',
        call: c.queue === undefined ? { agent: c.agent } : { agent: c.agent, queue: c.queue },
        source: 'phone',
        transferTo: destination,
        internationalPrefixes: deps.config.internationalPrefixes,
      }),
    );
    const detail = {
      call: c.id,
      agent: c.agent,
      server,
      source: 'phone',
      target: destination,
      ...(owner === undefined ? {} : { targetAgent: owner }),
      decision,
    };
    const record = (result: string, extra: Record<string, unknown> = {}): Promise<string | undefined> =>
      auditTransfer(c, result, { ...detail, ...extra });

    if (!decision.allowed) {
      const failed = decision.reasons.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
      metrics.callAction({ action: 'transfer', outcome: 'refused' });
      log.info(
        { agent: c.agent, call: c.id, destination: destination, denied: failed },
        'phone transfer refused: the phone is told 603 Decline',
      );
      const notified = await svc.reportTransfer(e.legId, 'channel_declined');
      await record('denied', notified === undefined ? {} : { notifyFailed: String(notified) });
      return;
    }
    await svc.reportTransfer(e.legId, 'channel_progress');
    const out = await svc.act(c.id, {
      type: 'PhoneTransferRequested',
      at: deps.clock.now(),
      to: destination,
      target: transferTo(destination),
    });
    if (out === undefined || (out.failed === undefined && out.result !== 'TRANSFERRED')) {
      // The call ended (the customer hung up) between the REFER and the transfer: nothing was moved.
      metrics.callAction({ action: 'transfer', outcome: 'refused' });
      await svc.reportTransfer(e.legId, 'channel_declined');
      await record('conflict', { reason: 'the call ended meanwhile' });
      log.info({ agent: c.agent, call: c.id, destination: destination }, 'phone transfer: the call ended meanwhile');
      return;
    }
    if (out.failed !== undefined) {
      metrics.callAction({ action: 'transfer', outcome: 'failed' });
      await record('failed', { error: String(out.failed), ...(out.result === undefined ? {} : { ended: out.result }) });
      log.warn({ agent: c.agent, call: c.id, destination: destination, err: out.failed }, 'phone transfer failed in Asterisk');
      return;
    }
    metrics.callAction({ action: 'transfer', outcome: 'allowed' });
    await record('ok', { ended: out.result });
    log.info({ agent: c.agent, call: c.id, destination: destination, result: out.result }, 'phone transfer applied');
  }

  /**
   * A REFER to a colleague's extension: a blind direct transfer (decided, audited and counted by
   * directTransfer). The phone hears 100 Trying while the colleague rings, then 200 OK when the
   * colleague answers (sent as the outcome is emitted, so before the agent's leg is hung up), or 503
   * when nobody answered (the customer is back with the agent).
   */
  /**
   * An attended transfer from the phone (REFER with Replaces: the agent consulted someone on another
   * call, then pressed Transfer). agentgate cannot join the customer to that consult call, which is
   * not in its application, so it declines: the phone is told 603 Decline and keeps both calls (the
   * customer stays with the agent). Blind transfers from the phone and the API's warm transfer are
   * the supported ways. Audited `denied` with the reason; counted as refused.
   */
  async function attended(svc: Svc, e: PhoneTransferEvent, c: { id: string; agent: string; queue?: string }): Promise<void> {
    const reason =
      "an attended transfer from the phone (REFER with Replaces) is not handled by agentgate: use a blind transfer, or the API's warm transfer";
    metrics.callAction({ action: 'transfer', outcome: 'refused' });
    log.info({ agent: c.agent, call: c.id, leg: e.legId }, `phone transfer declined: ${reason}`);
    const notified = await svc.reportTransfer(e.legId, 'channel_declined');
    await auditTransfer(c, 'denied', {
      call: c.id,
      agent: c.agent,
      source: 'phone',
      attended: true,
      reason,
      ...(notified === undefined ? {} : { notifyFailed: String(notified) }),
    });
  }

  /** One audit entry (kind call-action, action transfer) about a phone's transfer on call `c`, by its agent. */
  function auditTransfer(
    c: { id: string; agent: string; queue?: string },
    result: string,
    detail: Record<string, unknown>,
  ): Promise<string | undefined> {
    return deps.audit.append({
      kind: 'call-action',
      at: deps.clock.now(),
      actor: c.agent,
      action: 'transfer',
      call: c.id,
      ...(c.queue === undefined ? {} : { queue: c.queue }),
      result,
      detail,
    });
  }

  async function direct(svc: Svc, e: PhoneTransferEvent, callId: string, agent: string, target: string): Promise<void> {
    const onOutcome = (o: TransferOutcomeEvent): void => {
      if (o.callId !== callId) return;
      svc.off('transfer-outcome', onOutcome);
      const state = o.outcome === 'answered' ? 'channel_answered' : 'channel_unavailable';
      track(
        svc.reportTransfer(e.legId, state).then(() => undefined),
        'phone transfer report',
      );
    };
    svc.on('transfer-outcome', onOutcome);
    let ans: Awaited<ReturnType<CallControlService['directTransfer']>>;
    try {
      ans = await deps.calls.directTransfer({ callId, targetAgent: target, mode: 'blind', actor: agent, source: 'phone' });
    } catch (err) {
      svc.off('transfer-outcome', onOutcome);
      await svc.reportTransfer(e.legId, 'channel_unavailable');
      throw err;
    }
    if (!ans.ok) {
      svc.off('transfer-outcome', onOutcome);
      const state =
        ans.reason === 'denied' || ans.reason === 'state' || ans.reason === 'not-found' ? 'channel_declined' : 'channel_unavailable';
      log.info({ agent, call: callId, target, reason: ans.reason, detail: ans.detail }, `phone transfer to a colleague not done: ${state}`);
      await svc.reportTransfer(e.legId, state);
      return;
    }
    log.info({ agent, call: callId, target, devices: ans.devices }, 'phone transfer to a colleague: ringing');
    await svc.reportTransfer(e.legId, 'channel_progress');
  }

  const offs: Array<() => void> = [];
  for (const [server, svc] of deps.dispatch) {
    const onTransfer = (e: PhoneTransferEvent): void => track(transfer(server, svc, e), 'phone transfer');
    const onHold = (e: PhoneHoldEvent): void =>
      track(
        deps.calls.phoneHold(e.callId, e.held).then(() => undefined),
        'phone hold',
      );
    svc.on('phone-transfer', onTransfer);
    svc.on('phone-hold', onHold);
    offs.push(() => {
      svc.off('phone-transfer', onTransfer);
      svc.off('phone-hold', onHold);
    });
  }
  return {
    stop: () => offs.forEach((f) => f()),
    idle: async () => {
      while (pending.size > 0) await Promise.all([...pending]);
    },
  };
}
