/**
 * AMI through asterisk-manager 0.2.0, with its traps handled (REFERENCE.md):
 * - own ActionIDs (`<instance>-<n>`, never Date.now(), which collides within a millisecond);
 * - a timeout on every action (AGENTGATE_ERR_AMI_TIMEOUT), and on the login;
 * - list actions (QueueStatus) collected by ActionID until `...Complete`;
 * - every value is checked in one place before it reaches the socket: a C0 control character or DEL
 *   (TAB aside) is refused, naming the header. CR/LF would start a new header that Asterisk obeys
 *   (recordings/ami/header-injection-takes-effect.jsonl); NUL, ESC and the like have no business in
 *   a queue name or a pause reason and end up in Asterisk's logs and queue_log as they are;
 * - every message received is checked before anything reads it (messages.ts): the library's own
 *   dispatch throws on some repeated headers (a repeated `UserEvent:` makes it call toLowerCase on
 *   an array, inside the socket's data handler: the process would exit), so events never go through
 *   it, and a malformed message is logged and dropped;
 * - a keepalive: a `Ping` every pingIntervalMs; no answer within the action timeout means the peer
 *   is frozen (a TCP connection can stay open while Asterisk answers nothing), so the connection is
 *   dropped and reopened, and isConnected() is false meanwhile;
 * - the connection state is visible (isConnected, onState) and reconnect never gives up; an action
 *   while disconnected fails at once (AGENTGATE_ERR_AMI_DISCONNECTED), never silently queued, and
 *   actions in flight when the connection drops fail with the same code (they may not have run).
 *
 * Longer than 400 lines on purpose: every asterisk-manager trap listed below is handled here, in the one class that owns the socket.
 */
import AsteriskManager from 'asterisk-manager';
import type { Logger } from 'pino';
import { AgentgateError } from '../../errors/codes.js';
import {
  decodeEvent,
  decodeResponse,
  decodeStatusItem,
  eventName,
  ownFields,
  type AmiEvent,
  type AmiResponse,
  type QueueMemberState,
  type RawAmiMessage,
} from './messages.js';

export type { AmiEvent, AmiResponse, QueueMemberState } from './messages.js';

export interface AmiClientOptions {
  server: string;
  host: string;
  port: number;
  username: string;
  secret: string;
  actionTimeoutMs: number;
  /** Keepalive: a Ping this often (default 10 s); no answer within actionTimeoutMs drops the connection. */
  pingIntervalMs?: number;
  instanceId: string;
  logger: Logger;
  /** Consumed events, checked and typed. Never called for a malformed message. */
  onEvent: (e: AmiEvent) => void;
  /** After every (re)connect and login, and on FullyBooted: re-read state (QueueStatus). */
  onConnected: (after: 'login' | 'fully-booted') => void;
  onState?: (connected: boolean) => void;
}

interface Pending {
  reject: (err: Error) => void;
}

/** C0 controls and DEL; TAB (\x09) may pass (Asterisk keeps it inside a value). */
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

export class AmiClient {
  private manager: AsteriskManager | undefined;
  private connected = false;
  private stopped = false;
  private seq = 0;
  private backoff = 200;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private loginTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private pinging = false;
  private readonly pending = new Map<string, Pending>();
  private readonly lists = new Map<string, { items: RawAmiMessage[]; done: (items: RawAmiMessage[]) => void }>();
  private readonly waiters = new Set<{ ok: () => void; fail: (err: Error) => void }>();
  /** Connection attempts that failed since the last login (a log line for the first, then every 30 s). */
  private failedAttempts = 0;
  private lastFailureLog = 0;
  private lastSocketError: Error | undefined;
  connectedSince = 0;

  constructor(private readonly opts: AmiClientOptions) {}

  isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.open();
  }

  /**
   * Resolves when logged in, or rejects after timeoutMs (reconnecting goes on either way). Leaves
   * no timer behind: a daemon whose AMI is unreachable still exits at once on SIGTERM.
   */
  waitConnected(timeoutMs: number): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        ok: (): void => {
          clearTimeout(t);
          this.waiters.delete(w);
          resolve();
        },
        fail: (err: Error): void => {
          clearTimeout(t);
          this.waiters.delete(w);
          reject(err);
        },
      };
      const t = setTimeout(() => w.fail(new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server })), timeoutMs);
      this.waiters.add(w);
    });
  }

  private open(): void {
    if (this.stopped) return;
    const m = new AsteriskManager(this.opts.port, this.opts.host, this.opts.username, this.opts.secret, true);
    this.manager = m;
    const log = this.opts.logger;
    // Every parsed message goes through check() instead of the library's own dispatch (see above).
    const libraryDispatch = m.listeners('rawevent') as Array<(item: unknown) => void>;
    m.removeAllListeners('rawevent');
    m.on('rawevent', (item: unknown) => {
      if (m !== this.manager) return;
      try {
        this.onRaw(item, libraryDispatch);
      } catch (err) {
        log.error({ server: this.opts.server, err }, 'AMI message handling threw; message dropped');
      }
    });
    m.on('response', (r: Record<string, unknown>) => {
      if (m !== this.manager) return;
      if (r.message === 'Authentication failed') {
        log.error({ server: this.opts.server }, 'AMI login failed: check the manager.conf user and secret; retrying');
        this.drop(m, 'login refused');
      } else if (r.message === 'Authentication accepted' && !this.connected) {
        this.connected = true;
        this.connectedSince = Date.now();
        this.backoff = 200;
        this.failedAttempts = 0;
        clearTimeout(this.loginTimer);
        this.startKeepalive(m);
        log.info({ server: this.opts.server }, 'AMI connected');
        this.opts.onState?.(true);
        this.opts.onConnected('login'); // sends QueueStatus before anyone waiting goes on
        for (const w of [...this.waiters]) w.ok();
      }
    });
    // Asterisk answers a login within its ~1 s (bad secret) delay; a peer that accepted the TCP
    // connection but answers nothing is frozen: try again.
    const loginMs = Math.max(this.opts.actionTimeoutMs, 2000);
    this.loginTimer = setTimeout(() => {
      if (m !== this.manager || this.connected) return;
      log.warn({ server: this.opts.server, ms: loginMs }, 'AMI login got no answer; reconnecting');
      this.drop(m, 'login timeout');
    }, loginMs);
    const down = (): void => this.drop(m, 'closed');
    m.on('close', down);
    m.on('end', down);
    m.on('error', (err: unknown) => {
      if (m === this.manager) this.lastSocketError = err instanceof Error ? err : new Error(String(err));
      down();
    });
  }

  /** A parsed message from the library's reader: events are ours, responses go to the library. */
  private onRaw(item: unknown, libraryDispatch: Array<(item: unknown) => void>): void {
    if (typeof item !== 'object' || item === null) return;
    const msg = ownFields(item);
    const log = this.opts.logger;
    if ('event' in msg) {
      this.onEventMessage(msg);
      return;
    }
    // A response: the library routes it to the action's callback by ActionID (and marks the login).
    // Its routing fields must be single strings, or it would throw or emit under an odd name.
    for (const k of ['response', 'actionid', 'message', 'content'] as const) {
      const v = msg[k];
      if (v !== undefined && typeof v !== 'string') {
        log.warn({ server: this.opts.server, field: k }, 'malformed AMI response dropped (field repeated or not text)');
        const id = typeof msg.actionid === 'string' ? msg.actionid : undefined;
        const p = id === undefined ? undefined : this.pending.get(id);
        if (p && id !== undefined) {
          this.pending.delete(id);
          p.reject(
            new AgentgateError('AGENTGATE_ERR_AMI_FAILED', { action: id, detail: `unreadable answer (${k}); the action may have run` }),
          );
        }
        return;
      }
    }
    for (const f of libraryDispatch) f(msg);
  }

  private onEventMessage(msg: RawAmiMessage): void {
    const log = this.opts.logger;
    const id = msg.actionid;
    const list = typeof id === 'string' ? this.lists.get(id) : undefined;
    if (list && typeof id === 'string') {
      const name = eventName(msg);
      if (name.ok && name.value.endsWith('complete')) {
        this.lists.delete(id);
        list.done(list.items);
      } else list.items.push(msg);
      return;
    }
    const decoded = decodeEvent(msg);
    if (decoded === undefined) return;
    if (!decoded.ok) {
      log.warn(
        {
          server: this.opts.server,
          event: typeof msg.event === 'string' ? msg.event : '(unreadable)',
          field: decoded.field,
          detail: decoded.detail,
        },
        'malformed AMI event dropped',
      );
      return;
    }
    try {
      this.opts.onEvent(decoded.value);
    } catch (err) {
      log.error({ server: this.opts.server, err }, 'AMI event handler threw');
    }
    if (decoded.value.kind === 'fully-booted' && this.connected) this.opts.onConnected('fully-booted');
  }

  /** Drops the connection (if m is still the current one) and schedules a reconnect. */
  private drop(m: AsteriskManager, why: 'closed' | 'login timeout' | 'login refused' | 'frozen'): void {
    if (m !== this.manager) return;
    this.manager = undefined;
    const was = this.connected;
    this.connected = false;
    clearTimeout(this.loginTimer);
    clearInterval(this.pingTimer);
    this.pinging = false;
    const message =
      why === 'frozen'
        ? `AMI peer ${this.opts.server} stopped answering; the action may not have run`
        : `AMI connection to ${this.opts.server} dropped before Asterisk answered; the action may not have run`;
    for (const [, p] of this.pending)
      p.reject(new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server }, { message }));
    this.pending.clear();
    this.lists.clear();
    if (was) {
      if (why !== 'frozen') this.opts.logger.warn({ server: this.opts.server }, 'AMI connection lost; reconnecting');
      this.opts.onState?.(false);
    } else if (why === 'closed' && !this.stopped) {
      // Never logged in on this connection: Asterisk unreachable (or it closed on us). Said at once,
      // then every 30 s while it lasts, so an AMI that is down at start is visible in the log.
      this.failedAttempts++;
      const now = Date.now();
      if (this.failedAttempts === 1 || now - this.lastFailureLog >= 30_000) {
        this.lastFailureLog = now;
        const { host, port, server } = this.opts;
        const err = this.lastSocketError;
        const why = err?.message ?? 'connection closed before login';
        this.opts.logger.warn(
          { server, host, port, attempts: this.failedAttempts, ...(err === undefined ? {} : { err }) },
          `AMI at ${host}:${port} not reachable (${why}); retrying (every 5 s at most)`,
        );
      }
    }
    this.lastSocketError = undefined;
    try {
      m.disconnect();
    } catch {
      // already closed
    }
    if (this.stopped) return;
    this.reconnectTimer = setTimeout(() => this.open(), this.backoff);
    this.backoff = Math.min(this.backoff * 2, 5000);
  }

  private startKeepalive(m: AsteriskManager): void {
    clearInterval(this.pingTimer);
    const every = this.opts.pingIntervalMs ?? 10_000;
    this.pingTimer = setInterval(() => {
      if (m !== this.manager || !this.connected || this.pinging) return;
      this.pinging = true;
      this.action({ action: 'Ping' }).then(
        () => {
          this.pinging = false;
        },
        (err: unknown) => {
          this.pinging = false;
          if (!(err instanceof AgentgateError) || err.code !== 'AGENTGATE_ERR_AMI_TIMEOUT' || m !== this.manager) return;
          this.opts.logger.warn(
            { server: this.opts.server, ms: this.opts.actionTimeoutMs },
            'AMI peer did not answer Ping: connection considered frozen; dropping and reconnecting',
          );
          this.drop(m, 'frozen');
        },
      );
    }, every);
    this.pingTimer.unref();
  }

  private nextId(): string {
    return `${this.opts.instanceId}-${++this.seq}`;
  }

  /**
   * The one check of what goes out: refuses a C0 control character or DEL (TAB aside) in any value,
   * naming the header (AGENTGATE_ERR_CRLF, field = the header's name).
   */
  static checkValues(action: Record<string, string | undefined>): void {
    for (const [k, v] of Object.entries(action)) {
      if (v === undefined) continue;
      const bad = CONTROL.exec(v);
      if (bad) {
        const code = `U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
        throw new AgentgateError(
          'AGENTGATE_ERR_CRLF',
          { field: k },
          { field: k, message: `${k} must not contain control characters (found ${code})` },
        );
      }
    }
  }

  /** One action, answered by its Response (Success or Error: both resolve; the caller decides). */
  action(action: Record<string, string | undefined>): Promise<AmiResponse> {
    try {
      AmiClient.checkValues(action);
    } catch (err) {
      return Promise.reject(err as Error);
    }
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
      m.action({ ...clean, actionid: id }, (err: unknown, res: unknown) => {
        clearTimeout(timer);
        if (!this.pending.delete(id)) return;
        const raw = res ?? err;
        const decoded = typeof raw === 'object' && raw !== null ? decodeResponse(ownFields(raw)) : undefined;
        if (decoded?.ok) resolve(decoded.value);
        else
          reject(
            new AgentgateError('AGENTGATE_ERR_AMI_FAILED', {
              action: name,
              detail: `unreadable answer${decoded ? ` (${decoded.field})` : ''}; the action may have run`,
            }),
          );
      });
    });
  }

  /** QueueStatus: every member, checked; a malformed item is logged and left out. */
  async queueStatus(): Promise<QueueMemberState[]> {
    const items = await this.list({ action: 'QueueStatus' });
    const out: QueueMemberState[] = [];
    for (const it of items) {
      const d = decodeStatusItem(it);
      if (d === undefined) continue;
      if (d.ok) out.push(d.value);
      else this.opts.logger.warn({ server: this.opts.server, field: d.field, detail: d.detail }, 'malformed QueueStatus item dropped');
    }
    return out;
  }

  /** A list action: its items, collected until the `...Complete` event. */
  private async list(action: Record<string, string | undefined>): Promise<RawAmiMessage[]> {
    AmiClient.checkValues(action);
    if (!this.connected || !this.manager) throw new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server });
    const id = this.nextId();
    const items = new Promise<RawAmiMessage[]>((resolve, reject) => {
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
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.loginTimer);
    clearInterval(this.pingTimer);
    const m = this.manager;
    this.manager = undefined;
    this.connected = false;
    for (const [, p] of this.pending) p.reject(new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server }));
    this.pending.clear();
    this.lists.clear();
    for (const w of [...this.waiters])
      w.fail(new AgentgateError('AGENTGATE_ERR_AMI_DISCONNECTED', { server: this.opts.server }, { message: 'AMI client stopped' }));
    try {
      m?.disconnect();
    } catch {
      // already closed
    }
  }
}
