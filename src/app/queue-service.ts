/**
 * Queue agent operations: login, logout, pause, unpause, penalty. Every request goes through the
 * policy first (a denied request never reaches AMI), then one AMI action on the extension's server,
 * then an audit record with the request, the decision and its reasons, and Asterisk's answer.
 *
 * Login with a pause is one QueueAdd with Paused + Reason (never add-then-pause: the agent could be
 * rung in between). Logout of a member that is "Not there" counts as done. Member state follows
 * Asterisk's QueueMember* events and is re-read with QueueStatus after every (re)connect and
 * FullyBooted. Dialplan feature codes (`UserEvent(AgentGate,Action: login,...)`) run the same
 * operations for the user owning the calling channel's extension, once across every instance, after
 * ARI confirmed that this channel exists on that server, has that name and is executing in a
 * feature-code context (any AMI client with the `user` write class can send a UserEvent with any
 * headers: the actor must be proven by Asterisk, not by the event).
 *
 * Outcomes are truthful when the Store fails: an operation is refused before AMI when the Store does
 * not answer (AGENTGATE_ERR_STORE, nothing sent); once Asterisk confirmed it, it is reported as done
 * and its audit record, if the Store refuses it, waits in the audit trail's buffer (audit-trail.ts).
 * Every outcome is audited: applied, denied, refused, failed, rejected feature codes.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { Clock } from '../ports/clock.js';
import type { AuditEntryInput, Store } from '../ports/store.js';
import type { ChannelLookup } from '../ports/channel-lookup.js';
import type { PolicyHolder } from './policy-holder.js';
import { AgentgateError } from '../errors/codes.js';
import { decide, extensionById, extensionByInterface, plainDecision, userOwningExtension, type Decision, type QueueAction } from '../domain/policy/index.js';
import { AmiClient, type AmiEvent, type AmiResponse, type QueueMemberState } from '../adapters/ami/client.js';
import type { FeatureHandler } from './feature-call.js';
import { createAuditTrail, type AuditTrail } from './audit-trail.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';

export interface QueueOpRequest {
  actor: string;
  action: QueueAction;
  extension: string;
  queue?: string;
  reason?: string;
  penalty?: number;
  /** login only: log in already paused (one QueueAdd with Paused and Reason). */
  paused?: boolean;
  source: 'http' | 'dialplan';
  ip?: string;
}

export interface QueueOpResult {
  ok: true;
  action: QueueAction;
  extension: string;
  queue?: string;
  interface: string;
  server: string;
  decision: Decision;
  ami: { response: string; message: string; alreadyDone?: boolean };
  /** The audit record's id; absent when the Store refused it and it waits in the audit buffer. */
  auditId?: string;
}

export interface MemberView {
  server: string;
  queue: string;
  interface: string;
  memberName: string;
  stateInterface: string;
  penalty: number;
  paused: boolean;
  pausedReason: string;
  status: number;
  dynamic: boolean;
  extension?: string;
  user?: string;
}

export interface QueueService {
  execute(req: QueueOpRequest): Promise<QueueOpResult>;
  members(filter?: { queue?: string; extension?: string; server?: string }): MemberView[];
  connections(): { server: string; connected: boolean; since: number }[];
  featureHandler: FeatureHandler;
  stop(): Promise<void>;
}

export interface QueueServiceDeps {
  servers: Config['servers'];
  store: Store;
  policy: PolicyHolder;
  clock: Clock;
  logger: Logger;
  instanceId: string;
  /**
   * Asks Asterisk (ARI) about the channel that raised a feature-code UserEvent. Without it, or for a
   * server without ARI, feature-code UserEvents are refused (the Stasis variant still works).
   */
  channels?: ChannelLookup;
  /** Dialplan contexts a feature-code channel must be executing in (config featureCodes.contexts). */
  featureContexts?: readonly string[];
  /** Shared audit trail (buffers records while the Store is down); one is made when absent. */
  audit?: AuditTrail;
  /** Queue operations by outcome, policy decisions, AMI connection state. Default: none. */
  metrics?: Metrics;
}

/** How long the pre-AMI Store check may take before the operation is refused. */
const STORE_CHECK_MS = 2000;
const ACTIONS: readonly string[] = ['login', 'logout', 'pause', 'unpause', 'penalty'];

/** Asterisk's error texts (recordings/ami/queue-member-lifecycle.jsonl) → agentgate's codes. */
function amiError(action: string, message: string, iface: string, queue: string | undefined): AgentgateError {
  const p = { interface: iface, queue: queue ?? '(all queues)', action, detail: message };
  if (/No such queue/i.test(message)) return new AgentgateError('AGENTGATE_ERR_QUEUE_NO_SUCH_QUEUE', p, { field: 'queue' });
  if (/Already there/i.test(message)) return new AgentgateError('AGENTGATE_ERR_QUEUE_ALREADY_MEMBER', p);
  if (/Not there/i.test(message)) return new AgentgateError('AGENTGATE_ERR_QUEUE_NOT_MEMBER', p);
  if (/not dynamic/i.test(message)) return new AgentgateError('AGENTGATE_ERR_QUEUE_MEMBER_NOT_DYNAMIC', p);
  if (/Interface not found/i.test(message)) return new AgentgateError('AGENTGATE_ERR_QUEUE_INTERFACE_NOT_FOUND', p);
  if (/Invalid interface, queuename or penalty/i.test(message)) return new AgentgateError('AGENTGATE_ERR_QUEUE_INVALID_PENALTY', p, { field: 'penalty' });
  return new AgentgateError('AGENTGATE_ERR_AMI_FAILED', p);
}

const SOUNDS: Record<string, string> = { login: 'agent-loginok', logout: 'agent-loggedoff', pause: 'beep', unpause: 'beep', penalty: 'beep' };

export async function startQueueService(deps: QueueServiceDeps): Promise<QueueService> {
  const log = deps.logger.child({ component: 'queue' });
  const metrics = deps.metrics ?? noMetrics;
  const ownAudit = deps.audit === undefined;
  const audit = deps.audit ?? createAuditTrail({ store: deps.store, logger: deps.logger, metrics });
  const featureContexts = new Set(deps.featureContexts ?? ['agentgate-features']);
  const hasAri = new Set(deps.servers.filter((s) => s.ari !== undefined).map((s) => s.name));
  const clients = new Map<string, AmiClient>();
  /** The QueueStatus re-read in flight per server (start-up waits for the first one). */
  const syncing = new Map<string, Promise<void>>();
  /** server → queue → interface → member */
  const state = new Map<string, Map<string, Map<string, MemberView>>>();

  const memberFrom = (server: string, s: QueueMemberState): MemberView => {
    const ext = extensionByInterface(deps.policy.current(), s.interface);
    const owner = ext ? userOwningExtension(deps.policy.current(), ext.id) : undefined;
    const m: MemberView = { server, ...s };
    if (ext) m.extension = ext.id;
    if (owner) m.user = owner.id;
    return m;
  };

  const queuesOf = (server: string): Map<string, Map<string, MemberView>> => {
    let q = state.get(server);
    if (!q) state.set(server, (q = new Map()));
    return q;
  };

  const resync = async (server: string, client: AmiClient): Promise<void> => {
    try {
      const items = await client.queueStatus();
      const fresh = new Map<string, Map<string, MemberView>>();
      for (const it of items) {
        const m = memberFrom(server, it);
        let q = fresh.get(m.queue);
        if (!q) fresh.set(m.queue, (q = new Map()));
        q.set(m.interface, m);
      }
      state.set(server, fresh);
      log.info({ server, members: items.length }, 'queue members re-read with QueueStatus');
    } catch (err) {
      log.warn({ server, err: { message: (err as Error).message } }, 'QueueStatus failed');
    }
  };

  const onEvent = (server: string, e: AmiEvent): void => {
    if (e.kind === 'member') {
      const m = memberFrom(server, e.member);
      const qs = queuesOf(server);
      let q = qs.get(m.queue);
      if (!q) qs.set(m.queue, (q = new Map()));
      q.set(m.interface, m);
    } else if (e.kind === 'member-removed') {
      queuesOf(server).get(e.queue)?.delete(e.interface);
    } else if (e.kind === 'feature') {
      onFeatureEvent(server, e).catch((err: unknown) => log.error({ server, err }, 'feature code could not be handled'));
    }
  };

  for (const s of deps.servers) {
    if (!s.ami) continue;
    const client: AmiClient = new AmiClient({
      server: s.name,
      host: s.ami.host,
      port: s.ami.port,
      username: s.ami.username,
      secret: s.ami.secret,
      actionTimeoutMs: s.ami.actionTimeoutMs,
      pingIntervalMs: s.ami.pingIntervalMs,
      instanceId: deps.instanceId,
      logger: log,
      onEvent: (e) => onEvent(s.name, e),
      onState: (up) => metrics.connection({ system: 'ami', server: s.name, up }),
      onConnected: () => {
        const p = resync(s.name, client);
        syncing.set(s.name, p);
        p.catch((err: unknown) => log.error({ server: s.name, err }, 'QueueStatus resync threw'));
      },
    });
    clients.set(s.name, client);
    metrics.connection({ system: 'ami', server: s.name, up: false });
    client.start();
    if (s.ari === undefined || deps.channels === undefined) {
      log.warn({ server: s.name }, 'no ARI for this server: feature-code UserEvents from it will be refused (the calling channel cannot be verified); the Stasis variant (*51-*54) needs ARI too');
    }
  }
  // Started = connected and member state read (or 10 s passed: reconnecting goes on meanwhile).
  await Promise.all(
    [...clients].map(async ([name, c]) => {
      const up = await c.waitConnected(10_000).then(
        () => true,
        () => false,
      );
      if (up) await syncing.get(name)?.catch(() => undefined);
    }),
  );

  const serverFor = (extServer: string | undefined): string | undefined => extServer ?? [...clients.keys()][0];

  /** Every outcome of a queue operation goes through here: audited and counted. */
  const record = (source: QueueOpRequest['source'], entry: Omit<AuditEntryInput, 'kind' | 'at'>): Promise<string | undefined> => {
    metrics.queueOperation({ action: entry.action ?? '', result: entry.result, source });
    return audit.append({ kind: 'queue-op', at: deps.clock.now(), ...entry });
  };

  /**
   * The Store answers now (a one-key read, bounded in time). Checked before AMI, so that an operation
   * is never applied on the PBX by an instance that cannot record it or enforce its claims.
   */
  const storeAnswers = async (): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        deps.store.leaseHolder('queue-op-store-check'),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${STORE_CHECK_MS} ms`)), STORE_CHECK_MS);
        }),
      ]);
    } catch (err) {
      throw err instanceof AgentgateError && err.code === 'AGENTGATE_ERR_STORE' ? err : new AgentgateError('AGENTGATE_ERR_STORE', { detail: (err as Error).message }, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  };

  async function execute(req: QueueOpRequest): Promise<QueueOpResult> {
    const policy = deps.policy.current();
    // Control characters in what reaches AMI are refused by the AMI adapter, in one place.
    if (req.penalty !== undefined && (!Number.isInteger(req.penalty) || req.penalty < 0)) {
      throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'penalty', detail: 'must be an integer >= 0' }, { field: 'penalty' });
    }
    if (req.action === 'penalty' && req.penalty === undefined) throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'penalty', detail: 'is required for penalty' }, { field: 'penalty' });
    const decision = decide(policy, { actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, ip: req.ip, source: req.source });
    const base = { actor: req.actor, action: req.action, extension: req.extension, queue: req.queue };
    const plain = plainDecision(decision); // rendered once: the audit and the caller get the same sentences
    metrics.policyDecision({ action: req.action, allowed: decision.allowed });
    if (!decision.allowed) {
      await record(req.source, { ...base, result: 'denied', detail: { request: req, decision: plain } });
      const failed = plain.reasons.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
      log.info({ actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, source: req.source, denied: failed }, 'queue operation denied');
      const unknownExt = plain.reasons.find((r) => r.name === 'target' && !r.passed && /unknown extension/.test(r.detail));
      if (unknownExt && !extensionById(policy, req.extension)) throw new AgentgateError('AGENTGATE_ERR_UNKNOWN_EXTENSION', { id: req.extension, decision: plain }, { field: 'extension' });
      if (req.queue !== undefined && !policy.index.queues.has(req.queue)) throw new AgentgateError('AGENTGATE_ERR_UNKNOWN_QUEUE', { id: req.queue, decision: plain }, { field: 'queue' });
      throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: failed.join('; '), decision: plain });
    }
    const ext = extensionById(policy, req.extension)!;
    const server = serverFor(ext.server);
    const client = server === undefined ? undefined : clients.get(server);
    if (!client || server === undefined) throw new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: ext.server ?? '(none configured)' });
    const owner = userOwningExtension(policy, ext.id);
    let action: Record<string, string | undefined>;
    switch (req.action) {
      case 'login':
        action = {
          action: 'QueueAdd',
          queue: req.queue,
          interface: ext.interface,
          membername: owner?.name ?? ext.name ?? ext.interface,
          stateinterface: ext.stateInterface ?? ext.interface,
          penalty: req.penalty === undefined ? undefined : String(req.penalty),
          paused: req.paused ? 'true' : undefined,
          reason: req.paused ? req.reason : undefined,
        };
        break;
      case 'logout':
        action = { action: 'QueueRemove', queue: req.queue, interface: ext.interface };
        break;
      case 'pause':
      case 'unpause':
        action = { action: 'QueuePause', interface: ext.interface, paused: req.action === 'pause' ? 'true' : 'false', queue: req.queue, reason: req.action === 'pause' ? req.reason : undefined };
        break;
      case 'penalty':
        action = { action: 'QueuePenalty', interface: ext.interface, penalty: String(req.penalty), queue: req.queue };
        break;
    }
    try {
      AmiClient.checkValues(action);
      await storeAnswers();
    } catch (err) {
      await record(req.source, { ...base, result: 'refused', detail: { request: req, decision: plain, error: { code: (err as AgentgateError).code, message: (err as Error).message }, sent: false } });
      if ((err as AgentgateError).code === 'AGENTGATE_ERR_STORE') log.warn({ actor: req.actor, action: req.action, extension: req.extension, err: { message: (err as Error).message } }, 'queue operation refused before AMI: the Store does not answer');
      throw err;
    }
    let res: AmiResponse;
    try {
      res = await client.action(action);
    } catch (err) {
      await record(req.source, { ...base, result: 'error', detail: { request: req, decision: plain, error: { code: (err as AgentgateError).code, message: (err as Error).message } } });
      log.warn({ actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, server, err: { message: (err as Error).message } }, 'queue operation failed: AMI did not answer');
      throw err;
    }
    const message = res.message;
    const success = res.response.toLowerCase() === 'success';
    const alreadyDone = !success && req.action === 'logout' && /Not there/i.test(message);
    if (!success && !alreadyDone) {
      await record(req.source, { ...base, result: 'ami-error', detail: { request: req, decision: plain, ami: { response: res.response, message } } });
      log.info({ actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, server, ami: message }, 'queue operation refused by Asterisk');
      throw amiError(String(action.action), message, ext.interface, req.queue);
    }
    const ami = alreadyDone ? { response: res.response, message, alreadyDone: true } : { response: res.response, message };
    // Asterisk applied it: from here on the operation is done, whatever the Store does.
    const auditId = await record(req.source, { ...base, result: 'ok', detail: { request: req, decision: plain, ami, server } });
    log.info({ actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, server, ami: message, audit: auditId ?? 'buffered' }, 'queue operation applied');
    const out: QueueOpResult = { ok: true, action: req.action, extension: req.extension, interface: ext.interface, server, decision: plain, ami };
    if (auditId !== undefined) out.auditId = auditId;
    if (req.queue !== undefined) out.queue = req.queue;
    return out;
  }

  /**
   * A UserEvent(AgentGate,...) seen on a server's AMI. Believed only when ARI confirms the channel:
   * it exists on that server under that Uniqueid, has exactly that name, and is executing in a
   * feature-code context. Then the actor is the user owning the channel's extension. Handled once
   * across instances (the Store's once(), by Uniqueid) — checked after ARI, so a forged event naming
   * a real Uniqueid cannot use up the real one.
   */
  async function onFeatureEvent(server: string, e: Extract<AmiEvent, { kind: 'feature' }>): Promise<void> {
    const flog = log.child({ server, uniqueid: e.uniqueid, channel: e.channel });
    const rejected = async (reason: string): Promise<void> => {
      flog.warn({ action: e.action, queue: e.queue, reason }, 'feature-code UserEvent rejected');
      await record('dialplan', { action: e.action, queue: e.queue, result: 'rejected', detail: { source: 'dialplan', server, reason, event: { ...e } } });
    };
    if (e.uniqueid === undefined || e.channel === undefined) return rejected('no Channel or Uniqueid: not raised by a channel in the dialplan');
    const action = (e.action ?? '').toLowerCase();
    if (!ACTIONS.includes(action)) return rejected(`unknown Action '${e.action ?? ''}'`);
    if (!hasAri.has(server) || deps.channels === undefined) return rejected(`server ${server} has no ARI configured: the calling channel cannot be verified (configure ari for it, or use the Stasis variant)`);
    let ch;
    try {
      ch = await deps.channels.channel(server, e.uniqueid);
    } catch (err) {
      return rejected(`the channel could not be checked over ARI: ${(err as Error).message}`);
    }
    if (ch === null) return rejected(`no channel ${e.uniqueid} on ${server}`);
    if (ch.name !== e.channel) return rejected(`channel ${e.uniqueid} is ${ch.name}, not ${e.channel}`);
    if (!featureContexts.has(ch.context)) return rejected(`channel ${ch.name} is executing in context '${ch.context}', not a feature-code context (featureCodes.contexts: ${[...featureContexts].join(', ')})`);
    // The interface is the channel name without its -<sequence> suffix: PJSIP/1001-00000004 → PJSIP/1001.
    // Resolved before the Store is asked, so that a refusal names who was refused.
    const iface = ch.name.replace(/-[0-9a-f]+(;\d)?$/, '');
    const policy = deps.policy.current();
    const ext = extensionByInterface(policy, iface);
    const owner = ext ? userOwningExtension(policy, ext.id) : undefined;
    let first: boolean;
    try {
      first = await deps.store.once(`userevent:${server}:${e.uniqueid}`, 3_600_000);
    } catch (err) {
      flog.error({ action, err: { message: (err as Error).message } }, 'feature code not applied: the Store does not answer');
      await record('dialplan', { actor: owner?.id, action, extension: ext?.id, queue: e.queue, result: 'refused', detail: { source: 'dialplan', server, channel: ch.name, error: { code: 'AGENTGATE_ERR_STORE', message: (err as Error).message }, sent: false } });
      return;
    }
    if (!first) return;
    if (!ext || !owner) return rejected(`the extension of ${iface} has no owner`);
    const req: QueueOpRequest = { actor: owner.id, action: action as QueueAction, extension: ext.id, source: 'dialplan' };
    if (e.queue) req.queue = e.queue;
    if (e.reason) req.reason = e.reason;
    if (e.penalty !== undefined) req.penalty = /^[0-9]{1,9}$/.test(e.penalty) ? Number(e.penalty) : -1;
    try {
      await execute(req);
    } catch (err) {
      flog.info({ code: (err as AgentgateError).code, err: { message: (err as Error).message } }, 'feature code refused');
    }
  }

  const featureHandler: FeatureHandler = async ({ channelName, args }) => {
    const [action, queue, extra] = args;
    const iface = channelName.replace(/-[0-9a-f]+(;\d)?$/, '');
    const policy = deps.policy.current();
    const ext = extensionByInterface(policy, iface);
    const owner = ext ? userOwningExtension(policy, ext.id) : undefined;
    if (!ext || !owner || !action) return { result: 'NOAGENT', sound: 'an-error-has-occurred' };
    const req: QueueOpRequest = { actor: owner.id, action: action as QueueAction, extension: ext.id, source: 'dialplan' };
    if (queue) req.queue = queue;
    if (action === 'pause' && extra) req.reason = extra;
    if (action === 'penalty' && extra) req.penalty = Number(extra);
    try {
      await execute(req);
      return { result: 'OK', sound: SOUNDS[action] ?? 'beep' };
    } catch (err) {
      const code = err instanceof AgentgateError ? err.code : 'AGENTGATE_ERR_INTERNAL';
      return { result: code === 'AGENTGATE_ERR_FORBIDDEN' ? 'DENIED' : 'FAILED', sound: 'an-error-has-occurred' };
    }
  };

  return {
    execute,
    members(filter = {}) {
      const out: MemberView[] = [];
      for (const [server, qs] of state) {
        if (filter.server !== undefined && filter.server !== server) continue;
        for (const [queue, ms] of qs) {
          if (filter.queue !== undefined && filter.queue !== queue) continue;
          for (const m of ms.values()) if (filter.extension === undefined || m.extension === filter.extension) out.push({ ...m });
        }
      }
      return out;
    },
    connections: () => [...clients].map(([server, c]) => ({ server, connected: c.isConnected(), since: c.connectedSince })),
    featureHandler,
    async stop() {
      for (const c of clients.values()) c.stop();
      if (ownAudit) await audit.stop();
    },
  };
}
