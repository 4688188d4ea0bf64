/**
 * Queue agent operations: login, logout, pause, unpause, penalty. Every request goes through the
 * policy first (a denied request never reaches AMI), then one AMI action on the extension's server,
 * then an audit record with the request, the decision and its reasons, and Asterisk's answer.
 *
 * Login with a pause is one QueueAdd with Paused + Reason (never add-then-pause: the agent could be
 * rung in between). Logout of a member that is "Not there" counts as done. Member state follows
 * Asterisk's QueueMember* events and is re-read with QueueStatus after every (re)connect and
 * FullyBooted. Dialplan feature codes (`UserEvent(AgentGate,Action: login,...)`) run the same
 * operations for the user owning the calling channel's extension, once across every instance.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import type { Clock } from '../ports/clock.js';
import type { Store } from '../ports/store.js';
import type { PolicyHolder } from './policy-holder.js';
import { AgentgateError } from '../errors/codes.js';
import { decide, extensionById, extensionByInterface, plainDecision, userOwningExtension, type Decision, type QueueAction } from '../domain/policy/index.js';
import { AmiClient, type AmiMessage } from '../adapters/ami/client.js';
import type { FeatureHandler } from './dispatch-service.js';

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
  auditId: string;
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
}

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
  const clients = new Map<string, AmiClient>();
  /** server → queue → interface → member */
  const state = new Map<string, Map<string, Map<string, MemberView>>>();

  const memberFrom = (server: string, e: AmiMessage, fromStatus: boolean): MemberView => {
    const iface = fromStatus ? (e.location ?? '') : (e.interface ?? '');
    const ext = extensionByInterface(deps.policy.current(), iface);
    const owner = ext ? userOwningExtension(deps.policy.current(), ext.id) : undefined;
    const m: MemberView = {
      server,
      queue: e.queue ?? '',
      interface: iface,
      memberName: (fromStatus ? e.name : e.membername) ?? iface,
      stateInterface: e.stateinterface ?? iface,
      penalty: Number(e.penalty ?? 0),
      paused: e.paused === '1',
      pausedReason: e.pausedreason ?? '',
      status: Number(e.status ?? 0),
      dynamic: (e.membership ?? 'dynamic') !== 'static',
    };
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
      const items = await client.list({ action: 'QueueStatus' });
      const fresh = new Map<string, Map<string, MemberView>>();
      for (const it of items) {
        if ((it.event ?? '').toLowerCase() !== 'queuemember') continue;
        const m = memberFrom(server, it, true);
        let q = fresh.get(m.queue);
        if (!q) fresh.set(m.queue, (q = new Map()));
        q.set(m.interface, m);
      }
      state.set(server, fresh);
      log.info({ server, members: items.filter((i) => (i.event ?? '').toLowerCase() === 'queuemember').length }, 'queue members re-read with QueueStatus');
    } catch (err) {
      log.warn({ server, err: { message: (err as Error).message } }, 'QueueStatus failed');
    }
  };

  const onEvent = (server: string, e: AmiMessage): void => {
    const ev = (e.event ?? '').toLowerCase();
    if (ev === 'queuememberadded' || ev === 'queuememberpause' || ev === 'queuememberpenalty' || ev === 'queuememberstatus') {
      const m = memberFrom(server, e, false);
      const qs = queuesOf(server);
      let q = qs.get(m.queue);
      if (!q) qs.set(m.queue, (q = new Map()));
      q.set(m.interface, m);
    } else if (ev === 'queuememberremoved') {
      queuesOf(server).get(e.queue ?? '')?.delete(e.interface ?? '');
    } else if (ev === 'userevent' && (e.userevent ?? '').toLowerCase() === 'agentgate') {
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
      instanceId: deps.instanceId,
      logger: log,
      onEvent: (e) => onEvent(s.name, e),
      onConnected: () => void resync(s.name, client),
    });
    clients.set(s.name, client);
    client.start();
  }
  await Promise.all([...clients.values()].map((c) => c.waitConnected(10_000).catch(() => undefined)));

  const serverFor = (extServer: string | undefined): string | undefined => extServer ?? [...clients.keys()][0];

  async function execute(req: QueueOpRequest): Promise<QueueOpResult> {
    const policy = deps.policy.current();
    for (const [field, v] of [['reason', req.reason], ['queue', req.queue], ['extension', req.extension], ['actor', req.actor]] as const) {
      if (v !== undefined && /[\r\n]/.test(v)) throw new AgentgateError('AGENTGATE_ERR_CRLF', { field }, { field });
    }
    if (req.penalty !== undefined && (!Number.isInteger(req.penalty) || req.penalty < 0)) {
      throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'penalty', detail: 'must be an integer >= 0' }, { field: 'penalty' });
    }
    if (req.action === 'penalty' && req.penalty === undefined) throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'penalty', detail: 'is required for penalty' }, { field: 'penalty' });
    const decision = decide(policy, { actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, ip: req.ip, source: req.source });
    const base = { actor: req.actor, action: req.action, extension: req.extension, queue: req.queue };
    if (!decision.allowed) {
      const plain = plainDecision(decision);
      await deps.store.appendAudit({ kind: 'queue-op', at: deps.clock.now(), ...base, result: 'denied', detail: { request: req, decision: plain } }).catch(() => undefined);
      const failed = plain.reasons.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
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
    let res: AmiMessage;
    try {
      res = await client.action(action);
    } catch (err) {
      await deps.store.appendAudit({ kind: 'queue-op', at: deps.clock.now(), ...base, result: 'error', detail: { request: req, decision: plainDecision(decision), error: (err as Error).message } }).catch(() => undefined);
      throw err;
    }
    const message = res.message ?? '';
    const success = (res.response ?? '').toLowerCase() === 'success';
    const alreadyDone = !success && req.action === 'logout' && /Not there/i.test(message);
    if (!success && !alreadyDone) {
      await deps.store.appendAudit({ kind: 'queue-op', at: deps.clock.now(), ...base, result: 'ami-error', detail: { request: req, decision: plainDecision(decision), ami: { response: res.response, message } } }).catch(() => undefined);
      throw amiError(String(action.action), message, ext.interface, req.queue);
    }
    const ami = alreadyDone ? { response: res.response ?? '', message, alreadyDone: true } : { response: res.response ?? '', message };
    const plain = plainDecision(decision); // rendered once: the audit and the caller get the same sentences
    const auditId = await deps.store.appendAudit({ kind: 'queue-op', at: deps.clock.now(), ...base, result: 'ok', detail: { request: req, decision: plain, ami, server } });
    log.info({ actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, server, ami: message }, 'queue operation applied');
    const out: QueueOpResult = { ok: true, action: req.action, extension: req.extension, interface: ext.interface, server, decision: plain, ami, auditId };
    if (req.queue !== undefined) out.queue = req.queue;
    return out;
  }

  /** A dialplan UserEvent(AgentGate,...): the actor owns the calling channel's extension. */
  async function onFeatureEvent(server: string, e: AmiMessage): Promise<void> {
    const uniqueid = e.uniqueid;
    const channel = e.channel ?? '';
    const flog = log.child({ server, uniqueid, channel });
    if (!uniqueid) return flog.warn('AgentGate UserEvent without a Uniqueid (sent as an AMI action, not from the dialplan): ignored');
    if (!(await deps.store.once(`userevent:${server}:${uniqueid}`, 3_600_000))) return;
    // The interface is the channel name without its -<sequence> suffix: PJSIP/1001-00000004 → PJSIP/1001.
    const iface = channel.replace(/-[0-9a-f]+(;\d)?$/, '');
    const policy = deps.policy.current();
    const ext = extensionByInterface(policy, iface);
    const owner = ext ? userOwningExtension(policy, ext.id) : undefined;
    if (!ext || !owner) return flog.warn({ iface }, 'feature code from a channel whose extension has no owner: ignored');
    const action = (e.action ?? '').toLowerCase() as QueueAction;
    if (!['login', 'logout', 'pause', 'unpause', 'penalty'].includes(action)) return flog.warn({ action }, 'feature code with an unknown Action: ignored');
    const req: QueueOpRequest = { actor: owner.id, action, extension: ext.id, source: 'dialplan' };
    if (e.queue) req.queue = e.queue;
    if (e.reason) req.reason = e.reason;
    if (e.penalty !== undefined) req.penalty = Number(e.penalty);
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
    },
  };
}
