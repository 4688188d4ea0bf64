/**
 * Queue agent operations: login, logout, pause, unpause, penalty. Every request goes through the
 * policy first (a denied request never reaches AMI), then one AMI action on the extension's server,
 * then an audit record with the request, the decision and its reasons, and Asterisk's answer.
 *
 * Login with a pause is one QueueAdd with Paused + Reason (never add-then-pause: the agent could be
 * rung in between). Logout of a member that is "Not there" counts as done. Member state follows
 * Asterisk's QueueMember* events and is re-read with QueueStatus after every (re)connect and
 * FullyBooted (queue-members.ts). Dialplan feature codes run the same operations for the user owning
 * the calling channel's extension (queue-feature-codes.ts).
 *
 * Asterisk is reached through the QueueControl port (one per server with AMI; the daemon builds
 * them from src/adapters/ami/queue-control.ts): this module knows no AMI spelling.
 *
 * Outcomes are truthful when the Store fails: an operation is refused before AMI when the Store does
 * not answer (AGENTGATE_ERR_STORE, nothing sent); once Asterisk confirmed it, it is reported as done
 * and its audit record, if the Store refuses it, waits in the audit trail's buffer (audit-trail.ts).
 * Every outcome is audited: applied, denied, refused, failed, rejected feature codes.
 */
import type { Logger } from 'pino';
import type { Clock } from '../ports/clock.js';
import type { AuditEntryInput, Store } from '../ports/store.js';
import type { ChannelLookup } from '../ports/channel-lookup.js';
import type { QueueAnswer, QueueCommand, QueueControl, QueueRefusal } from '../ports/queue-control.js';
import type { PolicyHolder } from './policy-holder.js';
import { AgentgateError } from '../errors/codes.js';
import { decide, extensionById, plainDecision, userOwningExtension, type Decision, type QueueAction } from '../domain/policy/index.js';
import type { FeatureHandler } from './feature-call.js';
import { createAuditTrail, type AuditTrail } from './audit-trail.js';
import { noMetrics, type Metrics } from '../ports/metrics.js';
import { createQueueMembers, type MemberFilter, type MemberView } from './queue-members.js';
import { createFeatureCodes } from './queue-feature-codes.js';

export type { MemberView } from './queue-members.js';

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

export interface QueueService {
  execute(req: QueueOpRequest): Promise<QueueOpResult>;
  members(filter?: MemberFilter): MemberView[];
  connections(): { server: string; connected: boolean; since: number }[];
  featureHandler: FeatureHandler;
  stop(): Promise<void>;
}

export interface QueueServiceDeps {
  /**
   * Asterisk's queues, one QueueControl per server with AMI (src/adapters/ami/queue-control.ts).
   * The service starts them and stops them.
   */
  pbx: readonly QueueControl[];
  /** The configured servers: those with `ari` can have their feature-code channels checked. */
  servers: ReadonlyArray<{ name: string; ari?: unknown }>;
  store: Store;
  policy: PolicyHolder;
  clock: Clock;
  logger: Logger;
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
/** Asterisk's refusals → agentgate's codes (one each, docs/errors.md). */
const REFUSAL_CODES = {
  'no-such-queue': 'AGENTGATE_ERR_QUEUE_NO_SUCH_QUEUE',
  'already-member': 'AGENTGATE_ERR_QUEUE_ALREADY_MEMBER',
  'not-member': 'AGENTGATE_ERR_QUEUE_NOT_MEMBER',
  'not-dynamic': 'AGENTGATE_ERR_QUEUE_MEMBER_NOT_DYNAMIC',
  'interface-not-found': 'AGENTGATE_ERR_QUEUE_INTERFACE_NOT_FOUND',
  'invalid-penalty': 'AGENTGATE_ERR_QUEUE_INVALID_PENALTY',
  other: 'AGENTGATE_ERR_AMI_FAILED',
} as const satisfies Record<QueueRefusal, string>;

/** The AMI action's name, as errors and logs have always named it. */
const AMI_NAMES: Record<QueueCommand['op'], string> = {
  add: 'QueueAdd',
  remove: 'QueueRemove',
  pause: 'QueuePause',
  penalty: 'QueuePenalty',
};

function refusalError(cmd: QueueCommand, answer: QueueAnswer): AgentgateError {
  const refusal = answer.refusal ?? 'other';
  const p = { interface: cmd.interface, queue: cmd.queue ?? '(all queues)', action: AMI_NAMES[cmd.op], detail: answer.message };
  const opts = refusal === 'no-such-queue' ? { field: 'queue' } : refusal === 'invalid-penalty' ? { field: 'penalty' } : {};
  return new AgentgateError(REFUSAL_CODES[refusal], p, opts);
}

/** The command that performs an allowed request on the extension's interface. */
function commandFor(
  req: QueueOpRequest,
  ext: { interface: string; name?: string; stateInterface?: string },
  ownerName: string | undefined,
): QueueCommand {
  const base = req.queue === undefined ? { interface: ext.interface } : { interface: ext.interface, queue: req.queue };
  switch (req.action) {
    case 'login': {
      const cmd: QueueCommand = {
        op: 'add',
        ...base,
        memberName: ownerName ?? ext.name ?? ext.interface,
        stateInterface: ext.stateInterface ?? ext.interface,
      };
      if (req.penalty !== undefined) cmd.penalty = req.penalty;
      if (req.paused) {
        cmd.paused = true;
        if (req.reason !== undefined) cmd.reason = req.reason;
      }
      return cmd;
    }
    case 'logout':
      return { op: 'remove', ...base };
    case 'pause':
      return req.reason === undefined ? { op: 'pause', ...base, paused: true } : { op: 'pause', ...base, paused: true, reason: req.reason };
    case 'unpause':
      return { op: 'pause', ...base, paused: false };
    case 'penalty':
      return { op: 'penalty', ...base, penalty: req.penalty ?? 0 };
  }
}

export async function startQueueService(deps: QueueServiceDeps): Promise<QueueService> {
  const log = deps.logger.child({ component: 'queue' });
  const metrics = deps.metrics ?? noMetrics;
  const ownAudit = deps.audit === undefined;
  const audit = deps.audit ?? createAuditTrail({ store: deps.store, logger: deps.logger, metrics });
  const pbxByServer = new Map(deps.pbx.map((p) => [p.server, p]));
  const members = createQueueMembers({ policy: deps.policy, logger: log });
  /** The member re-read in flight per server (start-up waits for the first one). */
  const syncing = new Map<string, Promise<void>>();

  /** Every outcome of a queue operation goes through here: audited and counted. */
  const record = (source: QueueOpRequest['source'], entry: Omit<AuditEntryInput, 'kind' | 'at'>): Promise<string | undefined> => {
    metrics.queueOperation({ action: entry.action ?? '', result: entry.result, source });
    return audit.append({ kind: 'queue-op', at: deps.clock.now(), ...entry });
  };

  const features = createFeatureCodes({
    execute: (req) => execute(req),
    record,
    store: deps.store,
    policy: deps.policy,
    logger: log,
    ...(deps.channels === undefined ? {} : { channels: deps.channels }),
    verifiable: new Set(deps.servers.filter((s) => s.ari !== undefined).map((s) => s.name)),
    featureContexts: new Set(deps.featureContexts ?? ['agentgate-features']),
  });

  for (const pbx of deps.pbx) {
    const server = pbx.server;
    metrics.connection({ system: 'ami', server, up: false });
    pbx.start((e) => {
      switch (e.kind) {
        case 'member-changed':
          members.changed(server, e.member);
          break;
        case 'member-removed':
          members.removed(server, e.queue, e.interface);
          break;
        case 'feature-code':
          features.raised(server, e).catch((err: unknown) => log.error({ server, err }, 'feature code could not be handled'));
          break;
        case 'connected': {
          if (e.after === 'login') metrics.connection({ system: 'ami', server, up: true });
          const p = members.reread(pbx);
          syncing.set(server, p);
          p.catch((err: unknown) => log.error({ server, err }, 'QueueStatus resync threw'));
          break;
        }
        case 'disconnected':
          metrics.connection({ system: 'ami', server, up: false });
          break;
      }
    });
    const withAri = deps.servers.find((s) => s.name === server)?.ari !== undefined;
    if (!withAri || deps.channels === undefined) {
      log.warn(
        { server },
        'no ARI for this server: feature-code UserEvents from it will be refused (the calling channel cannot be verified); the Stasis variant (*51-*54) needs ARI too',
      );
    }
  }
  // Started = connected and member state read (or 10 s passed: reconnecting goes on meanwhile).
  await Promise.all(
    deps.pbx.map(async (pbx) => {
      const up = await pbx.waitConnected(10_000).then(
        () => true,
        () => false,
      );
      if (up) await syncing.get(pbx.server)?.catch(() => undefined);
    }),
  );

  const serverFor = (extServer: string | undefined): string | undefined => extServer ?? deps.pbx[0]?.server;

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
      throw err instanceof AgentgateError && err.code === 'AGENTGATE_ERR_STORE'
        ? err
        : new AgentgateError('AGENTGATE_ERR_STORE', { detail: (err as Error).message }, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  };

  async function execute(req: QueueOpRequest): Promise<QueueOpResult> {
    const policy = deps.policy.current();
    // Control characters in what reaches AMI are refused by the QueueControl, in one place.
    if (req.penalty !== undefined && (!Number.isInteger(req.penalty) || req.penalty < 0)) {
      throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'penalty', detail: 'must be an integer >= 0' }, { field: 'penalty' });
    }
    if (req.action === 'penalty' && req.penalty === undefined)
      throw new AgentgateError('AGENTGATE_ERR_VALIDATION', { field: 'penalty', detail: 'is required for penalty' }, { field: 'penalty' });
    const decision = decide(policy, {
      actor: req.actor,
      action: req.action,
      extension: req.extension,
      queue: req.queue,
      ip: req.ip,
      source: req.source,
    });
    const base = { actor: req.actor, action: req.action, extension: req.extension, queue: req.queue };
    const plain = plainDecision(decision); // rendered once: the audit and the caller get the same sentences
    metrics.policyDecision({ action: req.action, allowed: decision.allowed });
    if (!decision.allowed) {
      await record(req.source, { ...base, result: 'denied', detail: { request: req, decision: plain } });
      const failed = plain.reasons.filter((r) => !r.passed).map((r) => `${r.name}: ${r.detail}`);
      log.info(
        { actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, source: req.source, denied: failed },
        'queue operation denied',
      );
      const unknownExt = plain.reasons.find((r) => r.name === 'target' && !r.passed && /unknown extension/.test(r.detail));
      if (unknownExt && !extensionById(policy, req.extension))
        throw new AgentgateError('AGENTGATE_ERR_UNKNOWN_EXTENSION', { id: req.extension, decision: plain }, { field: 'extension' });
      if (req.queue !== undefined && !policy.index.queues.has(req.queue))
        throw new AgentgateError('AGENTGATE_ERR_UNKNOWN_QUEUE', { id: req.queue, decision: plain }, { field: 'queue' });
      throw new AgentgateError('AGENTGATE_ERR_FORBIDDEN', { detail: failed.join('; '), decision: plain });
    }
    const ext = extensionById(policy, req.extension)!;
    const server = serverFor(ext.server);
    const pbx = server === undefined ? undefined : pbxByServer.get(server);
    if (!pbx || server === undefined)
      throw new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: ext.server ?? '(none configured)' });
    const cmd = commandFor(req, ext, userOwningExtension(policy, ext.id)?.name);
    try {
      pbx.check(cmd);
      await storeAnswers();
    } catch (err) {
      await record(req.source, {
        ...base,
        result: 'refused',
        detail: {
          request: req,
          decision: plain,
          error: { code: (err as AgentgateError).code, message: (err as Error).message },
          sent: false,
        },
      });
      if ((err as AgentgateError).code === 'AGENTGATE_ERR_STORE')
        log.warn(
          { actor: req.actor, action: req.action, extension: req.extension, err },
          'queue operation refused before AMI: the Store does not answer',
        );
      throw err;
    }
    let res: QueueAnswer;
    try {
      res = await pbx.send(cmd);
    } catch (err) {
      await record(req.source, {
        ...base,
        result: 'error',
        detail: { request: req, decision: plain, error: { code: (err as AgentgateError).code, message: (err as Error).message } },
      });
      log.warn(
        { actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, server, err },
        'queue operation failed: AMI did not answer',
      );
      throw err;
    }
    const message = res.message;
    const alreadyDone = res.refusal === 'not-member' && req.action === 'logout';
    if (res.refusal !== undefined && !alreadyDone) {
      await record(req.source, {
        ...base,
        result: 'ami-error',
        detail: { request: req, decision: plain, ami: { response: res.response, message } },
      });
      log.info(
        { actor: req.actor, action: req.action, extension: req.extension, queue: req.queue, server, ami: message },
        'queue operation refused by Asterisk',
      );
      throw refusalError(cmd, res);
    }
    const ami = alreadyDone ? { response: res.response, message, alreadyDone: true } : { response: res.response, message };
    // Asterisk applied it: from here on the operation is done, whatever the Store does.
    const auditId = await record(req.source, { ...base, result: 'ok', detail: { request: req, decision: plain, ami, server } });
    log.info(
      {
        actor: req.actor,
        action: req.action,
        extension: req.extension,
        queue: req.queue,
        server,
        ami: message,
        audit: auditId ?? 'buffered',
      },
      'queue operation applied',
    );
    const out: QueueOpResult = {
      ok: true,
      action: req.action,
      extension: req.extension,
      interface: ext.interface,
      server,
      decision: plain,
      ami,
    };
    if (auditId !== undefined) out.auditId = auditId;
    if (req.queue !== undefined) out.queue = req.queue;
    return out;
  }

  return {
    execute,
    members: (filter) => members.list(filter),
    connections: () => deps.pbx.map((p) => ({ server: p.server, ...p.connection() })),
    featureHandler: features.stasis,
    async stop() {
      for (const p of deps.pbx) p.stop();
      if (ownAudit) await audit.stop();
    },
  };
}
