/**
 * Executes the dispatch machine's commands through the CallControl port, the Store and the clock,
 * each PBX request in its channel's order (channel-order.ts, issue 15).
 *
 * The critical path (issue 13): on the winner's answer the machine asks for the caller's answer
 * (answer: late) and the join. The join (`addChannel` of caller and winner, one request) goes out at
 * once, and the caller's answer right after it without waiting for either answer: once the agent has
 * answered, the caller's answer and its join need not wait on each other, and in either order the
 * caller is answered only after the agent (billing). The losers are hung up as soon as the join
 * answered. AGENTGATE_ANSWERED_BY (set once bridged) still waits for both on the caller's order, so
 * it is on the caller before any hang-up or continue.
 */
import type { DispatchCommand } from '../../domain/dispatch/machine.js';
import type { Logger } from 'pino';
import { bridgeKey, chanKey } from './channel-order.js';
import { claimKey, type DispatchContext, type Running } from './context.js';
import { executeTransferCommand } from './direct-transfer.js';
import { legVariables } from './transfer-handling.js';

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * Sends a request in its channels' order; its failure only needs a log line (gone = already done).
 * With `applied`, the request's outcome is added to it: resolves with the error when it failed (not
 * gone), undefined when Asterisk applied it (never rejects).
 */
export function fire(
  ctx: DispatchContext,
  log: Logger,
  what: string,
  keys: readonly string[],
  send: () => Promise<unknown>,
  applied?: Array<Promise<unknown>>,
): void {
  const outcome = ctx.order.run(keys, send).then(
    () => undefined,
    (err: unknown) => {
      if (ctx.calls.isGone(err)) return undefined;
      log.warn({ err, what }, 'ARI command failed');
      return err;
    },
  );
  applied?.push(outcome);
}

/**
 * Runs a step's commands. `applied` (call control, which answers only once Asterisk applied them)
 * collects the outcome of every PBX request sent here (see `fire`).
 */
export function executeCommands(
  ctx: DispatchContext,
  r: Running,
  commands: readonly DispatchCommand[],
  applied?: Array<Promise<unknown>>,
): void {
  const s = r.state;
  const { calls } = ctx;
  const request = (log: Logger, what: string, keys: readonly string[], send: () => Promise<unknown>): void =>
    fire(ctx, log, what, keys, send, applied);
  /** The outcome of this step's ContinueCaller (undefined: applied), for ReportTransfer. */
  let continued: Promise<unknown> = Promise.resolve(undefined);
  for (let i = 0; i < commands.length; i++) {
    const c = commands[i]!;
    switch (c.type) {
      case 'RingCaller':
        request(r.log, 'ring', [chanKey(s.callerId)], () => calls.ring(s.callerId));
        break;
      case 'AnswerCaller':
        // Right before a join: sent beside it (below), not before it.
        if (commands[i + 1]?.type === 'BridgeCallerWith') break;
        request(r.log, 'answer', [chanKey(s.callerId)], () => calls.answer(s.callerId));
        break;
      case 'CreateLeg': {
        ctx.byLeg.set(c.legId, s.id);
        r.legEndpoint.set(c.legId, c.endpoint);
        ctx.timeline(s.id, 'leg-ringing', `ringing ${c.endpoint}`);
        r.log.debug({ leg: c.legId, endpoint: c.endpoint }, 'leg created');
        ctx.order
          .run([chanKey(c.legId)], async () => {
            // A PJSIP phone's REFER (Transfer button) must reach agentgate, not be executed by Asterisk:
            // in the create body, so there is no moment when the leg exists without it (transfer-handling.ts).
            const variables = await legVariables(ctx, c.endpoint);
            return calls.createChannel({
              endpoint: c.endpoint,
              appArgs: `leg,${s.id}`,
              channelId: c.legId,
              originator: s.callerId,
              ...(variables === undefined ? {} : { variables }),
            });
          })
          .catch((err: unknown) => {
            r.log.info({ leg: c.legId, endpoint: c.endpoint, err: { message: message(err) } }, 'leg could not be created');
            ctx.timeline(s.id, 'leg-failed', `${c.endpoint} unavailable (${message(err)})`);
            ctx.feed(s.id, { type: 'LegCreateFailed', legId: c.legId, detail: message(err), at: ctx.clock.now() });
          });
        break;
      }
      case 'DialLeg':
        ctx.order
          .run([chanKey(c.legId)], () => calls.dial(c.legId, { caller: s.callerId, timeout: c.timeoutSec }))
          .catch((err: unknown) => {
            if (calls.isGone(err)) return;
            r.log.warn({ leg: c.legId, err }, 'dial failed');
            request(r.log, 'hangup', [chanKey(c.legId)], () => calls.hangup(c.legId, 'normal'));
          });
        break;
      case 'HangupLeg':
        ctx.timeline(
          s.id,
          'leg-hangup',
          `${r.legEndpoint.get(c.legId) ?? c.legId} hung up (${c.reason === 'answered_elsewhere' ? 'answered elsewhere' : 'normal clearing'})`,
        );
        r.log.debug({ leg: c.legId, endpoint: r.legEndpoint.get(c.legId), reason: c.reason }, 'leg hung up by agentgate');
        request(r.log, 'hangup leg', [chanKey(c.legId)], () => calls.hangup(c.legId, c.reason));
        break;
      case 'PrepareBridge':
        r.bridgeRequested = true;
        request(r.log, 'create bridge', [bridgeKey(c.bridgeId)], () => calls.createBridge(c.bridgeId, `dispatch-${s.id}`));
        break;
      case 'BridgeCallerWith':
        join(ctx, r, c.legId, c.bridgeId, commands[i - 1]?.type === 'AnswerCaller');
        break;
      case 'DestroyBridge':
        request(r.log, 'destroy bridge', [bridgeKey(c.bridgeId)], () => calls.destroyBridge(c.bridgeId));
        break;
      case 'HangupCaller':
        // After AGENTGATE_ANSWERED_BY (ordered on the caller): the hang-up handler and CDR see it.
        ctx.timeline(s.id, 'caller-hangup', 'caller hung up by agentgate (agent left)');
        request(r.log, 'hangup caller', [chanKey(s.callerId)], () => calls.hangup(s.callerId, 'normal'));
        break;
      case 'SetCallerVar':
        request(r.log, 'set var', [chanKey(s.callerId)], () => calls.setVar(s.callerId, c.name, c.value));
        break;
      case 'ContinueCaller': {
        // Sent once the variables before it answered: the dialplan reads them as it resumes.
        const outcome: Array<Promise<unknown>> = [];
        fire(ctx, r.log, 'continue', [chanKey(s.callerId)], () => calls.continueInDialplan(s.callerId, c.to ?? c.fallback), outcome);
        continued = outcome[0]!;
        applied?.push(continued);
        break;
      }
      case 'StartCallerMoh':
        ctx.timeline(s.id, 'hold', 'caller on hold (music on hold)');
        request(r.log, 'start moh', [chanKey(s.callerId)], () => calls.startMoh(s.callerId, c.mohClass));
        break;
      case 'StopCallerMoh':
        ctx.timeline(s.id, 'unhold', 'caller off hold');
        request(r.log, 'stop moh', [chanKey(s.callerId)], () => calls.stopMoh(s.callerId));
        break;
      case 'ReportTransfer':
        // Behind the caller's continue (its key) and before the leg's hang-up (next command, same key).
        // A continue Asterisk refused moved no one: the phone is told 503 instead of 200 OK.
        request(r.log, 'transfer progress', [chanKey(c.legId), chanKey(s.callerId)], async () =>
          calls.transferProgress(c.legId, (await continued) === undefined ? c.state : 'channel_unavailable'),
        );
        break;
      case 'StartTimer': {
        const name = c.name;
        const id = s.id;
        r.timers.set(
          name,
          ctx.clock.setTimer(c.ms, () => ctx.feed(id, { type: 'TimerFired', name, at: ctx.clock.now() })),
        );
        break;
      }
      case 'CancelTimer': {
        const h = r.timers.get(c.name);
        if (h) ctx.clock.cancelTimer(h);
        r.timers.delete(c.name);
        break;
      }
      case 'ReleaseAgent':
        ctx.store.releaseLease(claimKey(s.agentId), s.id).catch((err: unknown) => {
          r.log.warn({ err }, 'agent claim release failed; retried at the next beat');
          ctx.leftovers.set(s.id, { agentId: s.agentId, release: true });
        });
        break;
      case 'Finished':
        finished(ctx, r, c.result);
        break;
      case 'JoinBridge':
      case 'ReleaseClaim':
      case 'TransferOutcome':
        executeTransferCommand(ctx, r, c);
        break;
    }
  }
}

/**
 * The winner's join: `addChannel` of caller and winner in one request (after the bridge exists),
 * the caller's answer beside it when asked for. Bridged or BridgeFailed goes back to the machine.
 */
function join(ctx: DispatchContext, r: Running, legId: string, bridgeId: string, answerCaller: boolean): void {
  const s = r.state;
  const { calls } = ctx;
  ctx.timeline(s.id, 'answered', `${r.legEndpoint.get(legId) ?? legId} answered`);
  if (!r.bridgeRequested) {
    r.bridgeRequested = true;
    fire(ctx, r.log, 'create bridge', [bridgeKey(bridgeId)], () => calls.createBridge(bridgeId, `dispatch-${s.id}`));
  }
  const answer = answerCaller
    ? () =>
        calls.answer(s.callerId).catch((err: unknown) => {
          if (!calls.isGone(err)) r.log.warn({ err, what: 'answer' }, 'ARI command failed');
        })
    : undefined;
  ctx.order
    .run([chanKey(s.callerId), chanKey(legId), bridgeKey(bridgeId)], () => calls.addChannels(bridgeId, [s.callerId, legId]), answer)
    .then(() => {
      // The call may have ended while joining (caller hung up): then nothing more to record.
      if (ctx.running.get(s.id) !== r || r.state.winner !== legId) return;
      ctx.timeline(s.id, 'bridged', `caller bridged with ${r.legEndpoint.get(legId) ?? legId}`);
      const now = ctx.clock.now();
      // The call's story opens here (GET /v1/audit?call=): who answered, on which device, after how long.
      // The dispatch's end writes the summary entry (action 'dispatch') when the call is over. Written before the
      // machine hears Bridged, so it precedes anything the call does once talking.
      ctx.audit.enqueue({
        kind: 'dispatch',
        at: now,
        actor: s.agentId,
        action: 'answer',
        call: s.id,
        ...(s.queue === undefined ? {} : { queue: s.queue }),
        result: 'answered',
        detail: {
          server: ctx.server,
          caller: { channel: s.callerId, name: r.callerName },
          endpoint: r.legEndpoint.get(legId),
          channel: legId,
          ringMs: (r.state.answeredAt ?? now) - s.startedAt,
        },
      });
      // Losers are hung up by this step, before anything else is awaited.
      ctx.feed(s.id, { type: 'Bridged', at: now });
      if (r.state.answeredAt !== undefined) ctx.metrics.dispatchBridged({ server: ctx.server, ms: now - r.state.answeredAt });
      r.log.debug({ leg: legId, endpoint: r.legEndpoint.get(legId) }, 'caller bridged with the answering leg');
      ctx.record(r).catch(() => undefined);
    })
    .catch((err: unknown) => {
      if (r.state.winner !== legId) return;
      r.log.warn({ err: { message: message(err) } }, 'bridging failed');
      ctx.feed(s.id, { type: 'BridgeFailed', detail: message(err), at: ctx.clock.now() });
    });
}

/** A dispatch reached `done`: forgotten, logged once ('call ended'), counted, audited, its record deleted. */
export function finished(ctx: DispatchContext, r: Running, result: string): void {
  const s = r.state;
  ctx.running.delete(s.id);
  ctx.byCaller.delete(s.callerId);
  // Legs still up stay routable until Asterisk destroys them (a late answer is then hung up);
  // the others are forgotten now, so memory follows live channels, not call history.
  for (const l of s.legs) if (l.status === 'ended' || l.status === 'waiting') ctx.byLeg.delete(l.id);
  for (const h of r.timers.values()) ctx.clock.cancelTimer(h);
  const now = ctx.clock.now();
  const detail = {
    server: ctx.server,
    caller: { channel: s.callerId, name: r.callerName },
    legs: s.legs.map((l) => ({
      endpoint: l.endpoint,
      channel: l.id,
      dialStatus: l.dialStatus,
      outcome: l.outcome ?? 'cancelled',
      cause: l.cause,
      hangupReason: l.hangupReason,
    })),
    winner: s.winner ? s.legs.find((l) => l.id === s.winner)?.endpoint : undefined,
    ringMs: (s.answeredAt ?? s.endedAt ?? now) - s.startedAt,
    talkMs: s.answeredAt !== undefined ? now - s.answeredAt : 0,
    hungUpBy: s.hungUpBy,
    // Where call control sent the caller (TRANSFERRED to a number, REQUEUED to a queue) and the queue it came from.
    ...(s.queue === undefined ? {} : { queue: s.queue }),
    ...(s.transferTo === undefined ? {} : { transferTo: s.transferTo }),
    ...(s.requeueTo === undefined ? {} : { requeueTo: s.requeueTo }),
  };
  const how =
    result === 'TRANSFERRED'
      ? `TRANSFERRED to ${s.transferTo}`
      : result === 'REQUEUED'
        ? `REQUEUED to ${s.requeueTo}`
        : result === 'AGENT_HANGUP'
          ? 'AGENT_HANGUP (the agent left, the caller went on in the dialplan)'
          : result;
  ctx.timeline(
    s.id,
    'finished',
    `call ${result === 'ANSWERED' ? 'ended' : `ended: ${how}`}${detail.talkMs ? ` after ${(detail.talkMs / 1000).toFixed(1)} s of talk` : ''}`,
  );
  // Not the audit detail spread out: the logger already binds server and callerChannel, and a
  // `caller` key is pino-pretty's own (it would print it as the line's source).
  r.log.info(
    {
      result,
      agent: s.agentId,
      callerNumber: r.callerName,
      winner: detail.winner,
      ringMs: detail.ringMs,
      talkMs: detail.talkMs,
      hungUpBy: s.hungUpBy,
      legs: detail.legs.map((l) => ({ endpoint: l.endpoint, outcome: l.outcome, dialStatus: l.dialStatus, cause: l.cause })),
    },
    'call ended',
  );
  // Ring time only for calls that rang a phone: a NOAGENT answered at once is not a 0 s ring.
  ctx.metrics.dispatchFinished({
    server: ctx.server,
    result,
    ringMs: s.legs.length > 0 ? detail.ringMs : undefined,
    legOutcomes: detail.legs.map((l) => l.outcome),
  });
  ctx.emitter.emit('finished', { callId: s.id, agentId: s.agentId, result });
  ctx.audit.enqueue({ kind: 'dispatch', at: now, actor: s.agentId, action: 'dispatch', call: s.id, result, detail });
  ctx.store.deleteDispatch(s.id).catch(() => {
    ctx.leftovers.set(s.id, { agentId: s.agentId, release: ctx.leftovers.get(s.id)?.release ?? false });
  });
}
