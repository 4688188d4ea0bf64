/**
 * AMI through asterisk-manager 0.2.0, with its traps handled (REFERENCE.md):
 * - own ActionIDs (`<instance>-<n>`, never Date.now(), which collides within a millisecond);
 * - a timeout on every action (AGENTGATE_ERR_AMI_TIMEOUT);
 * - list actions (QueueStatus) collected by ActionID until `...Complete`;
 * - a value carrying CR or LF is refused before it reaches the socket (it would start a new header
 *   that Asterisk obeys: recordings/ami/header-injection-takes-effect.jsonl);
 * - the connection state is visible (isConnected, onState) and reconnect never gives up; an action
 *   while disconnected fails at once (AGENTGATE_ERR_AMI_DISCONNECTED), never silently queued, and
 *   actions in flight when the connection drops fail with the same code (they may not have run).
 */
import AsteriskManager from 'asterisk-manager';
import type { Logger } from 'pino';
import { AgentgateError } from '../../errors/codes.js';

export type AmiMessage = Record<string, string>;

export interface AmiClientOptions {
  server: string;
  host: string;
  port: number;
  username: string;
  secret: string;
  actionTimeoutMs: number;
  instanceId: string;
  logger: Logger;
  onEvent: (e: AmiMessage) => void;
  /** After every (re)connect and login: re-read state (QueueStatus). */
  onConnected: () => void;
  onState?: (connected: boolean) => void;
}

interface Pending {
  reject: (err: Error) => void;
}

export class AmiClient {
  private manager: AsteriskManager | undefined;
  private connected = false;
  private stopped = false;
  private seq = 0;
  private backoff = 200;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly pending = new Map<string, Pending>();
  private readonly lists = new Map<string, { items: AmiMessage[]; done: (items: AmiMessage[]) => void }>();
  connectedSince = 0;

  constructor(private readonly opts: AmiClientOptions) {}

  isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.open();
  }

  /** Resolves when logged in (or rejects after timeoutMs); reconnecting goes on either way. */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server })), timeoutMs);
      const check = setInterval(() => {
        if (this.connected) {
          clearTimeout(t);
          clearInterval(check);
          resolve();
        }
      }, 20);
      t.unref?.();
    });
  }

  private open(): void {
    if (this.stopped) return;
    const m = new AsteriskManager(this.opts.port, this.opts.host, this.opts.username, this.opts.secret, true);
    this.manager = m;
    const log = this.opts.logger;
    m.on('managerevent', (e: AmiMessage) => {
      if (m !== this.manager) return;
      const id = e.actionid;
      const list = id !== undefined ? this.lists.get(id) : undefined;
      if (list) {
        if (/complete$/i.test(e.event ?? '')) {
          this.lists.delete(id!);
          list.done(list.items);
        } else list.items.push(e);
        return;
      }
      try {
        this.opts.onEvent(e);
      } catch (err) {
        log.error({ err }, 'AMI event handler threw');
      }
      if ((e.event ?? '').toLowerCase() === 'fullybooted' && this.connected) this.opts.onConnected();
    });
    m.on('response', (r: AmiMessage) => {
      if (m !== this.manager) return;
      if ((r.message ?? '') === 'Authentication failed') {
        log.error({ server: this.opts.server }, 'AMI login failed: check the manager.conf user and secret');
      } else if ((r.message ?? '') === 'Authentication accepted' && !this.connected) {
        this.connected = true;
        this.connectedSince = Date.now();
        this.backoff = 200;
        log.info({ server: this.opts.server }, 'AMI connected');
        this.opts.onState?.(true);
        this.opts.onConnected();
      }
    });
    const down = (): void => {
      if (m !== this.manager) return;
      this.manager = undefined;
      const was = this.connected;
      this.connected = false;
      for (const [, p] of this.pending) p.reject(new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server }, { message: `AMI connection to ${this.opts.server} dropped before Asterisk answered; the action may not have run` }));
      this.pending.clear();
      this.lists.clear();
      if (was) {
        log.warn({ server: this.opts.server }, 'AMI connection lost; reconnecting');
        this.opts.onState?.(false);
      }
      try {
        m.disconnect();
      } catch {
        // already closed
      }
      if (this.stopped) return;
      this.reconnectTimer = setTimeout(() => this.open(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
    m.on('close', down);
    m.on('end', down);
    m.on('error', down);
  }

  private nextId(): string {
    return `${this.opts.instanceId}-${++this.seq}`;
  }

  /** Refuses CR/LF anywhere: a value with a line break would add a header Asterisk obeys. */
  static checkValues(action: Record<string, string | undefined>): void {
    for (const [k, v] of Object.entries(action)) {
      if (v !== undefined && /[\r\n]/.test(v)) throw new AgentgateError('AGENTGATE_ERR_CRLF', { field: k }, { field: k });
    }
  }

  /** One action, answered by its Response (Success or Error: both resolve; the caller decides). */
  action(action: Record<string, string | undefined>): Promise<AmiMessage> {
    AmiClient.checkValues(action);
    const m = this.manager;
    if (!this.connected || !m) return Promise.reject(new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server }));
    const id = this.nextId();
    const name = action.action ?? '?';
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(action)) if (v !== undefined) clean[k] = v;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new AgentgateError('AGENTGATE_ERR_AMI_TIMEOUT', { action: name, ms: this.opts.actionTimeoutMs }));
      }, this.opts.actionTimeoutMs);
      this.pending.set(id, {
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      });
      m.action({ ...clean, actionid: id }, (_err: unknown, res: AmiMessage) => {
        clearTimeout(timer);
        if (!this.pending.delete(id)) return;
        resolve(res ?? (_err as AmiMessage));
      });
    });
  }

  /** A list action (QueueStatus): its items, collected until the `...Complete` event. */
  async list(action: Record<string, string | undefined>): Promise<AmiMessage[]> {
    AmiClient.checkValues(action);
    if (!this.connected || !this.manager) throw new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server });
    const id = this.nextId();
    const items = new Promise<AmiMessage[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.lists.delete(id);
        reject(new AgentgateError('AGENTGATE_ERR_AMI_TIMEOUT', { action: action.action ?? '?', ms: this.opts.actionTimeoutMs }));
      }, this.opts.actionTimeoutMs);
      this.lists.set(id, {
        items: [],
        done: (list) => {
          clearTimeout(timer);
          resolve(list);
        },
      });
    });
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(action)) if (v !== undefined) clean[k] = v;
    this.manager.action({ ...clean, actionid: id }, () => undefined);
    return items;
  }

  stop(): void {
    this.stopped = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const m = this.manager;
    this.manager = undefined;
    this.connected = false;
    try {
      m?.disconnect();
    } catch {
      // already closed
    }
  }
}
