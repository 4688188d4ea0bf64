/**
 * A feature code run from the dialplan as `Stasis(agentgate,feature,<action>[,<queue>[,<extra>]])`:
 * a queue operation with audible feedback. The Stasis router hands the channel here; the queue
 * service's `featureHandler` decides and runs the operation (src/app/queue-service.ts).
 *
 * Each step is sent after the previous one answered: the channel is up before the handler's sound
 * plays, and AGENTGATE_RESULT is set before /continue lets the dialplan read it. Whatever happens,
 * the channel is sent on (FAILED when the handler or the PBX failed).
 */
import type { Logger } from 'pino';
import type { CallChannel, CallControl } from '../ports/call-control.js';

export interface FeatureRequest {
  channelId: string;
  channelName: string;
  callerNumber: string;
  args: string[];
}
export type FeatureHandler = (req: FeatureRequest) => Promise<{ result: string; sound?: string }>;

export function createFeatureCall(deps: {
  calls: CallControl;
  handler?: FeatureHandler;
  logger: Logger;
}): (ch: CallChannel, args: readonly string[]) => Promise<void> {
  /** Channels in the feature branch now: a repeated StasisStart for one of them is not run twice. */
  const inFeature = new Set<string>();
  const { calls } = deps;
  return async (ch, args) => {
    if (inFeature.has(ch.id)) return;
    inFeature.add(ch.id);
    const flog = deps.logger.child({ callerChannel: ch.id, feature: args.slice(1) });
    let result = 'FAILED';
    let sound: string | undefined = 'an-error-has-occurred';
    try {
      await calls.answer(ch.id);
      if (deps.handler) {
        const out = await deps.handler({
          channelId: ch.id,
          channelName: ch.name,
          callerNumber: ch.caller?.number ?? '',
          args: args.slice(1),
        });
        result = out.result;
        sound = out.sound;
      }
    } catch (err) {
      flog.warn({ err: { message: (err as Error).message } }, 'feature code failed');
    }
    try {
      if (sound) await calls.play(ch.id, `sound:${sound}`);
      await calls.setVar(ch.id, 'AGENTGATE_RESULT', result);
      await calls.continueInDialplan(ch.id);
    } catch (err) {
      if (!calls.isGone(err)) flog.warn({ err: { message: (err as Error).message } }, 'feature feedback failed');
    } finally {
      inFeature.delete(ch.id);
    }
  };
}
