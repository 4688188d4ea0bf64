/**
 * Dialplan feature codes: the same queue operations, for the user owning the calling channel's
 * extension. Two ways in:
 * - `UserEvent(AgentGate,Action: login,...)` seen on AMI. Believed only after ARI confirmed that
 *   this channel exists on that server, has that name and is executing in a feature-code context:
 *   any AMI client with the `user` write class can send a UserEvent with any headers, so the actor
 *   must be proven by Asterisk, not by the event. Handled once across instances (by Uniqueid).
 * - `Stasis(agentgate,feature,<action>,...)`: the channel is in agentgate's ARI application, so
 *   Asterisk already vouches for it (the dispatch service calls `stasis`).
 */
import type { Logger } from 'pino';
import type { AuditEntryInput, Store } from '../ports/store.js';
import type { ChannelLookup } from '../ports/channel-lookup.js';
import type { FeatureCodeRaised } from '../ports/queue-control.js';
import type { PolicyHolder } from './policy-holder.js';
import type { FeatureHandler } from './feature-call.js';
import type { QueueOpRequest, QueueOpResult } from './queue-service.js';
import { AgentgateError } from '../errors/codes.js';
import { extensionByInterface, QUEUE_ACTIONS, userOwningExtension, type QueueAction } from '../domain/policy/index.js';

const SOUNDS: Record<string, string> = {
  login: 'agent-loginok',
  logout: 'agent-loggedoff',
  pause: 'beep',
  unpause: 'beep',
  penalty: 'beep',
};
const ACTIONS: readonly string[] = QUEUE_ACTIONS;

/** The interface is the channel name without its -<sequence> suffix: PJSIP/1001-00000004 → PJSIP/1001. */
const interfaceOf = (channelName: string): string => channelName.replace(/-[0-9a-f]+(;\d)?$/, '');

export interface FeatureCodeDeps {
  execute(req: QueueOpRequest): Promise<QueueOpResult>;
  /** Audits and counts an outcome (the queue service's one recording path). */
  record(source: QueueOpRequest['source'], entry: Omit<AuditEntryInput, 'kind' | 'at'>): Promise<string | undefined>;
  store: Store;
  policy: PolicyHolder;
  logger: Logger;
  channels?: ChannelLookup;
  /** Servers whose channels `channels` can check (those with ARI configured). */
  verifiable: ReadonlySet<string>;
  featureContexts: ReadonlySet<string>;
}

export interface FeatureCodes {
  /** A feature-code UserEvent seen on `server`'s AMI; every outcome is audited, nothing throws. */
  raised(server: string, e: FeatureCodeRaised): Promise<void>;
  /** The Stasis variant: answers the result and the sound to play. */
  stasis: FeatureHandler;
}

export function createFeatureCodes(deps: FeatureCodeDeps): FeatureCodes {
  const { record } = deps;

  async function raised(server: string, e: FeatureCodeRaised): Promise<void> {
    const flog = deps.logger.child({ server, uniqueid: e.uniqueid, channel: e.channel });
    const rejected = async (reason: string): Promise<void> => {
      flog.warn({ action: e.action, queue: e.queue, reason }, 'feature-code UserEvent rejected');
      await record('dialplan', {
        action: e.action,
        queue: e.queue,
        result: 'rejected',
        detail: { source: 'dialplan', server, reason, event: { ...e } },
      });
    };
    if (e.uniqueid === undefined || e.channel === undefined)
      return rejected('no Channel or Uniqueid: not raised by a channel in the dialplan');
    const action = (e.action ?? '').toLowerCase();
    if (!ACTIONS.includes(action)) return rejected(`unknown Action '${e.action ?? ''}'`);
    if (!deps.verifiable.has(server) || deps.channels === undefined)
      return rejected(
        `server ${server} has no ARI configured: the calling channel cannot be verified (configure ari for it, or use the Stasis variant)`,
      );
    let ch;
    try {
      ch = await deps.channels.channel(server, e.uniqueid);
    } catch (err) {
      return rejected(`the channel could not be checked over ARI: ${(err as Error).message}`);
    }
    if (ch === null) return rejected(`no channel ${e.uniqueid} on ${server}`);
    if (ch.name !== e.channel) return rejected(`channel ${e.uniqueid} is ${ch.name}, not ${e.channel}`);
    if (!deps.featureContexts.has(ch.context))
      return rejected(
        `channel ${ch.name} is executing in context '${ch.context}', not a feature-code context (featureCodes.contexts: ${[...deps.featureContexts].join(', ')})`,
      );
    // Resolved before the Store is asked, so that a refusal names who was refused.
    const iface = interfaceOf(ch.name);
    const policy = deps.policy.current();
    const ext = extensionByInterface(policy, iface);
    const owner = ext ? userOwningExtension(policy, ext.id) : undefined;
    let first: boolean;
    try {
      // Checked after ARI, so a forged event naming a real Uniqueid cannot use up the real one.
      first = await deps.store.once(`userevent:${server}:${e.uniqueid}`, 3_600_000);
    } catch (err) {
      flog.error({ action, err }, 'feature code not applied: the Store does not answer');
      await record('dialplan', {
        actor: owner?.id,
        action,
        extension: ext?.id,
        queue: e.queue,
        result: 'refused',
        detail: {
          source: 'dialplan',
          server,
          channel: ch.name,
          error: { code: 'AGENTGATE_ERR_STORE', message: (err as Error).message },
          sent: false,
        },
      });
      return;
    }
    if (!first) return;
    if (!ext || !owner) return rejected(`the extension of ${iface} has no owner`);
    const req: QueueOpRequest = { actor: owner.id, action: action as QueueAction, extension: ext.id, source: 'dialplan' };
    if (e.queue) req.queue = e.queue;
    if (e.reason) req.reason = e.reason;
    if (e.penalty !== undefined) req.penalty = /^[0-9]{1,9}$/.test(e.penalty) ? Number(e.penalty) : -1;
    try {
      await deps.execute(req);
    } catch (err) {
      flog.info({ code: (err as AgentgateError).code, err }, 'feature code refused');
    }
  }

  const stasis: FeatureHandler = async ({ channelName, args }) => {
    const [action, queue, extra] = args;
    const policy = deps.policy.current();
    const ext = extensionByInterface(policy, interfaceOf(channelName));
    const owner = ext ? userOwningExtension(policy, ext.id) : undefined;
    if (!ext || !owner || !action) return { result: 'NOAGENT', sound: 'an-error-has-occurred' };
    const req: QueueOpRequest = { actor: owner.id, action: action as QueueAction, extension: ext.id, source: 'dialplan' };
    if (queue) req.queue = queue;
    if (action === 'pause' && extra) req.reason = extra;
    if (action === 'penalty' && extra) req.penalty = Number(extra);
    try {
      await deps.execute(req);
      return { result: 'OK', sound: SOUNDS[action] ?? 'beep' };
    } catch (err) {
      const code = err instanceof AgentgateError ? err.code : 'AGENTGATE_ERR_INTERNAL';
      return { result: code === 'AGENTGATE_ERR_FORBIDDEN' ? 'DENIED' : 'FAILED', sound: 'an-error-has-occurred' };
    }
  };

  return { raised, stasis };
}
