/**
 * The QueueControl port over AMI: one AmiClient per Asterisk server (client.ts handles ActionIDs,
 * timeouts, reconnects, keepalive and hostile input). Here live the AMI spellings of queue
 * commands (QueueAdd / QueueRemove / QueuePause / QueuePenalty and their headers) and what
 * Asterisk's answer texts mean, so the queue service never sees an AMI header.
 */
import type { Logger } from 'pino';
import type {
  QueueAnswer,
  QueueCommand,
  QueueControl,
  QueueControlEvent,
  QueueMemberState,
  QueueRefusal,
} from '../../ports/queue-control.js';
import { AmiClient, type AmiEvent } from './client.js';

export interface AmiServerConfig {
  name: string;
  ami?: { host: string; port: number; username: string; secret: string; actionTimeoutMs: number; pingIntervalMs?: number };
}

export interface AmiQueueControlOptions {
  instanceId: string;
  /** AMI lines are the queue component's (docs/operations.md): pass the `component: 'queue'` child. */
  logger: Logger;
}

/** A command as the AMI action that performs it. Absent values are not sent. */
export function amiAction(cmd: QueueCommand): Record<string, string | undefined> {
  switch (cmd.op) {
    case 'add':
      return {
        action: 'QueueAdd',
        queue: cmd.queue,
        interface: cmd.interface,
        membername: cmd.memberName,
        stateinterface: cmd.stateInterface,
        penalty: cmd.penalty === undefined ? undefined : String(cmd.penalty),
        paused: cmd.paused ? 'true' : undefined,
        reason: cmd.paused ? cmd.reason : undefined,
      };
    case 'remove':
      return { action: 'QueueRemove', queue: cmd.queue, interface: cmd.interface };
    case 'pause':
      return {
        action: 'QueuePause',
        interface: cmd.interface,
        paused: cmd.paused ? 'true' : 'false',
        queue: cmd.queue,
        reason: cmd.paused ? cmd.reason : undefined,
      };
    case 'penalty':
      return { action: 'QueuePenalty', interface: cmd.interface, penalty: String(cmd.penalty), queue: cmd.queue };
  }
}

/** Asterisk's error texts (recordings/ami/queue-member-lifecycle.jsonl) → why it refused. */
export function refusalOf(message: string): QueueRefusal {
  if (/No such queue/i.test(message)) return 'no-such-queue';
  if (/Already there/i.test(message)) return 'already-member';
  if (/Not there/i.test(message)) return 'not-member';
  if (/not dynamic/i.test(message)) return 'not-dynamic';
  if (/Interface not found/i.test(message)) return 'interface-not-found';
  if (/Invalid interface, queuename or penalty/i.test(message)) return 'invalid-penalty';
  return 'other';
}

function toPortEvent(e: AmiEvent): QueueControlEvent | undefined {
  switch (e.kind) {
    case 'member':
      return { kind: 'member-changed', member: e.member };
    case 'member-removed':
      return { kind: 'member-removed', queue: e.queue, interface: e.interface };
    case 'feature': {
      const { kind: _, ...rest } = e;
      return { kind: 'feature-code', ...rest };
    }
    case 'fully-booted':
      return undefined; // reported as `connected` (after: 'fully-booted') by the client's onConnected
  }
}

/** One Asterisk server's queues over its AMI. */
export function createAmiQueueControl(
  server: string,
  ami: NonNullable<AmiServerConfig['ami']>,
  opts: AmiQueueControlOptions,
): QueueControl {
  let listener: ((e: QueueControlEvent) => void) | undefined;
  const emit = (e: QueueControlEvent): void => listener?.(e);
  const client = new AmiClient({
    server,
    host: ami.host,
    port: ami.port,
    username: ami.username,
    secret: ami.secret,
    actionTimeoutMs: ami.actionTimeoutMs,
    ...(ami.pingIntervalMs === undefined ? {} : { pingIntervalMs: ami.pingIntervalMs }),
    instanceId: opts.instanceId,
    logger: opts.logger,
    onEvent: (e) => {
      const out = toPortEvent(e);
      if (out) emit(out);
    },
    onConnected: (after) => emit({ kind: 'connected', after }),
    onState: (up) => {
      if (!up) emit({ kind: 'disconnected' });
    },
  });
  return {
    server,
    start(onEvent) {
      listener = onEvent;
      client.start();
    },
    waitConnected: (ms) => client.waitConnected(ms),
    connection: () => ({ connected: client.isConnected(), since: client.connectedSince }),
    check: (cmd) => AmiClient.checkValues(amiAction(cmd)),
    async send(cmd): Promise<QueueAnswer> {
      const res = await client.action(amiAction(cmd));
      if (res.response.toLowerCase() === 'success') return { response: res.response, message: res.message };
      return { response: res.response, message: res.message, refusal: refusalOf(res.message) };
    },
    members: (): Promise<QueueMemberState[]> => client.queueStatus(),
    stop: () => client.stop(),
  };
}

/** A QueueControl for every configured server that has AMI, in config order. */
export function createAmiQueueControls(servers: readonly AmiServerConfig[], opts: AmiQueueControlOptions): QueueControl[] {
  return servers.flatMap((s) => (s.ami ? [createAmiQueueControl(s.name, s.ami, opts)] : []));
}
