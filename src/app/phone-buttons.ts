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
 *   A destination that is an extension owned by a user would be a direct transfer to that user (mode
 *   blind); until that use case exists it is a dialplan transfer like any number, and the audit names
 *   the owner (`targetAgent`). Seam: `transferTo` below.
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
import type { DialplanTarget } from '../domain/dispatch/machine.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';
import { decideCallAction, plainDecision, userOwningExtension } from '../domain/policy/index.js';

type Svc = Pick<DispatchService, 'on' | 'off' | 'liveCalls' | 'act' | 'reportTransfer'>;

export interface PhoneButtonsDeps {
  dispatch: ReadonlyMap<string, Svc>;
  /** Phone hold goes through the call-control use case (state, audit, violation metric). */
  calls: Pick<CallControlService, 'phoneHold'>;
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

  /** Where the customer goes for a phone transfer to `destination`. Seam: a direct transfer to the owning agent goes here. */
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
    const policy = deps.policy.current();
    const owner = userOwningExtension(policy, e.destination)?.id;
    const decision = plainDecision(
      decideCallAction(policy, {
        actor: c.agent,
        action: 'transfer',
        call: c.queue === undefined ? { agent: c.agent } : { agent: c.agent, queue: c.queue },
        source: 'phone',
        transferTo: e.destination,
        internationalPrefixes: deps.config.internationalPrefixes,
      }),
    );
    const detail = {
      call: c.id,
      agent: c.agent,
      server,
      source: 'phone',
      target: e.destination,
      ...(owner === undefined ? {} : { targetAgent: owner }),
      decision,
    };
    const record = (result: string, extra: Record<string, unknown> = {}): Promise<string | undefined> =>
      deps.audit.append({
        kind: 'call-action',
        at: deps.clock.now(),
        actor: c.agent,
        action: 'transfer',
        ...(c.queue === undefined ? {} : { queue: c.queue }),
        result,
        detail: { ...detail, ...extra },
      });

    if (!decision.allowed) {
      const failed = decision.reasons.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
      metrics.callAction({ action: 'transfer', outcome: 'refused' });
      log.info(
        { agent: c.agent, call: c.id, destination: e.destination, denied: failed },
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
      to: e.destination,
      target: transferTo(e.destination),
    });
    if (out === undefined || (out.failed === undefined && out.result !== 'TRANSFERRED')) {
      // The call ended (the customer hung up) between the REFER and the transfer: nothing was moved.
      metrics.callAction({ action: 'transfer', outcome: 'refused' });
      await svc.reportTransfer(e.legId, 'channel_declined');
      await record('conflict', { reason: 'the call ended meanwhile' });
      log.info({ agent: c.agent, call: c.id, destination: e.destination }, 'phone transfer: the call ended meanwhile');
      return;
    }
    if (out.failed !== undefined) {
      metrics.callAction({ action: 'transfer', outcome: 'failed' });
      await record('failed', { error: String(out.failed), ...(out.result === undefined ? {} : { ended: out.result }) });
      log.warn({ agent: c.agent, call: c.id, destination: e.destination, err: out.failed }, 'phone transfer failed in Asterisk');
      return;
    }
    metrics.callAction({ action: 'transfer', outcome: 'allowed' });
    await record('ok', { ended: out.result });
    log.info({ agent: c.agent, call: c.id, destination: e.destination, result: out.result }, 'phone transfer applied');
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
