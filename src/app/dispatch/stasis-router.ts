/**
 * The Stasis router: which PBX event goes where.
 * - a watched call's side leaving → `endWatched`;
 * - StasisStart `dispatch,...` → start-call (a repeated StasisStart for a caller already served is
 *   ignored); `feature,...` → the feature call (a queue operation, src/app/feature-call.ts); `leg,...`
 *   of a dispatch this process no longer drives → hung up; arguments with a control character →
 *   refused, caller continued with AGENTGATE_RESULT=NOAGENT;
 * - Dial progress, ChannelDestroyed, hang-up requests and StasisEnd of a leg or caller → its
 *   dispatch's machine; a stray leg answering → hung up. Channels it does not own are ignored (the
 *   app also sees the `;2` halves of Local legs).
 * - The agent's phone's own buttons (REFER, re-INVITE hold) and Asterisk's own transfers → phone-events.ts;
 *   a StasisStart with `replace_channel` (Asterisk's Local channel of a transfer it executed) is no call.
 */
import type { CallChannel, CallEvent, DialplanTarget } from '../../ports/call-control.js';
import { refuseControlChars } from '../../errors/control-chars.js';
import { fire } from './command-executor.js';
import { chanKey } from './channel-order.js';
import type { DispatchContext } from './context.js';
import { endWatched, hangupStray } from './reconcile.js';
import { startCall } from './start-call.js';
import { createPhoneEvents } from './phone-events.js';

/** Runs a `Stasis(agentgate,feature,...)` channel to its end (answer, queue operation, feedback, continue). */
export type FeatureCall = (ch: CallChannel, args: readonly string[]) => Promise<void>;

/** The first Stasis argument with a control character, as an error message; undefined when all are clean. */
export function badArgument(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    try {
      refuseControlChars(`dialplan argument ${i + 1}`, args[i]!);
    } catch (err) {
      return (err as Error).message;
    }
  }
  return undefined;
}

export function createStasisRouter(ctx: DispatchContext, feature: FeatureCall): (e: CallEvent) => Promise<void> {
  /** Callers between their StasisStart and the dispatch taking them: a repeated StasisStart is ignored. */
  const starting = new Set<string>();
  const phone = createPhoneEvents(ctx);

  /** Sends a caller agentgate will not serve back to the dialplan: AGENTGATE_RESULT first, then /continue. */
  function sendBack(c: CallChannel, result: string, fallback?: DialplanTarget): void {
    const key = [chanKey(c.id)];
    fire(ctx, ctx.log, 'set var', key, () => ctx.calls.setVar(c.id, 'AGENTGATE_RESULT', result));
    fire(ctx, ctx.log, 'continue', key, () => ctx.calls.continueInDialplan(c.id, fallback));
  }

  return async (e) => {
    if (phone.handle(e)) return;
    const ch = e.type === 'Dial' ? e.peer : e.channel;
    if ((e.type === 'ChannelDestroyed' || e.type === 'StasisEnd') && phone.left(ch.id)) return;
    const watchedOf = ctx.byWatched.get(ch.id);
    if (watchedOf !== undefined && (e.type === 'ChannelDestroyed' || e.type === 'StasisEnd')) return endWatched(ctx, watchedOf, ch.id);
    const legOf = ctx.byLeg.get(ch.id);
    const callerOf = ctx.byCaller.get(ch.id);
    switch (e.type) {
      case 'StasisStart': {
        const args = e.args;
        if (legOf && ctx.running.has(legOf)) return ctx.feed(legOf, { type: 'LegStasisStarted', legId: ch.id });
        if (callerOf || starting.has(ch.id)) return; // a repeated StasisStart for a caller already being served
        if (e.replace_channel !== undefined) {
          // Asterisk's own transfer made it (phone-events.ts): part of that call, never a new one.
          ctx.log.debug({ channel: ch.id, name: ch.name, replaces: e.replace_channel.id }, 'channel of a transfer Asterisk executed');
          return;
        }
        if (args[0] === 'dispatch' || args[0] === 'feature') {
          // Refused before anything reads them: they would reach logs, the audit and AMI as they are.
          const bad = badArgument(args);
          if (bad) {
            ctx.log.warn(
              { callerChannel: ch.id, channel: ch.name, reason: bad },
              'Stasis arguments refused (control character); caller continued with AGENTGATE_RESULT=NOAGENT',
            );
            return sendBack(ch, 'NOAGENT', args[0] === 'dispatch' ? ctx.dispatch.fallback : undefined);
          }
        }
        if (args[0] === 'dispatch') {
          starting.add(ch.id);
          try {
            return await startCall(ctx, ch, args);
          } catch (err) {
            // Failed before a dispatch took the caller (the Store down, say): never leave it in Stasis.
            if (!ctx.byCaller.has(ch.id)) {
              ctx.log.error({ callerChannel: ch.id, err }, 'dispatch could not start; caller continued with AGENTGATE_RESULT=NOAGENT');
              sendBack(ch, 'NOAGENT', ctx.dispatch.fallback);
              return;
            }
            throw err;
          } finally {
            starting.delete(ch.id);
          }
        }
        if (args[0] === 'feature') return feature(ch, args);
        // A leg of a dispatch this process no longer drives (late, or from before a restart): never leave it up.
        if (args[0] === 'leg') await hangupStray(ctx, ch.id, 'normal');
        return;
      }
      case 'Dial': {
        if (!legOf) return;
        const status = e.dialstatus;
        const lr = ctx.running.get(legOf);
        if (!lr) {
          // A leg answering after its dispatch ended: the call is gone, never leave it up.
          if (status === 'ANSWER') await hangupStray(ctx, ch.id, 'answered_elsewhere');
          return;
        }
        if (status !== '') lr.log.debug({ leg: ch.id, endpoint: lr.legEndpoint.get(ch.id), dialStatus: status }, 'leg dial status');
        if (status === 'RINGING') return ctx.feed(legOf, { type: 'LegRinging', legId: ch.id });
        if (status === 'ANSWER') return ctx.feed(legOf, { type: 'LegAnswered', legId: ch.id, at: ctx.clock.now() });
        if (status !== '') return ctx.feed(legOf, { type: 'LegDialStatus', legId: ch.id, dialStatus: status });
        return;
      }
      case 'ChannelDestroyed': {
        if (legOf) {
          const lr = ctx.running.get(legOf);
          if (!lr) {
            ctx.byLeg.delete(ch.id);
            return;
          }
          lr.log.debug({ leg: ch.id, endpoint: lr.legEndpoint.get(ch.id), cause: e.cause }, 'leg ended');
          return ctx.feed(legOf, { type: 'LegEnded', legId: ch.id, cause: e.cause, at: ctx.clock.now() });
        }
        if (callerOf) return ctx.feed(callerOf, { type: 'CallerHungUp', at: ctx.clock.now() });
        return;
      }
      case 'ChannelHangupRequest':
      case 'StasisEnd': {
        // The caller leaving Stasis without agentgate sending it on: it hung up.
        if (callerOf) {
          const r = ctx.running.get(callerOf);
          if (r && r.state.phase !== 'done' && (e.type === 'StasisEnd' || e.soft !== true)) {
            ctx.timeline(callerOf, 'caller-gone', 'the caller hung up');
            ctx.feed(callerOf, { type: 'CallerHungUp', at: ctx.clock.now() });
          }
        }
        return;
      }
    }
  };
}
