/**
 * The simulator's AMI over TCP, so that unmodified asterisk-manager 0.2.0 connects. It parses like
 * Asterisk: a header ends at CRLF, so a value carrying CRLF starts a new header; header names match
 * case-insensitively and the first occurrence wins (recordings/ami/header-injection*.jsonl). Texts and
 * event fields follow recordings/ami. `Action: UserEvent` forwards the action's header lines as sent,
 * as manager.c does (every line but those starting with `Action:` or `UserEvent:`): a repeated
 * header, or `Action : login` (space before the colon), reaches every client unchanged.
 *
 * Fault: freeze() makes it stop answering without closing anything (a deadlocked manager thread):
 * actions are held, events are not sent, new connections get no answer; thaw() lets held actions run.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { AppQueue, Fields } from '../queues/app-queue.js';

export interface AmiChannelFields {
  channel: string;
  channelState: string;
  channelStateDesc: string;
  callerIdNum: string;
  callerIdName: string;
  connectedLineNum: string;
  connectedLineName: string;
  language: string;
  accountCode: string;
  context: string;
  exten: string;
  priority: string;
  uniqueid: string;
  linkedid: string;
}

export interface AmiPbxHooks {
  originate(req: {
    channel: string;
    context?: string;
    exten?: string;
    priority?: string;
    application?: string;
    data?: string;
    callerId?: string;
    variables: Record<string, string>;
  }): Promise<{ ok: true; uniqueid: string; channel: string } | { ok: false; reason: string }>;
}

export interface AmiUser {
  username: string;
  secret: string;
  /** manager.conf `read` classes (default: every class): events of other classes are not sent. */
  read?: string[];
  /** manager.conf `write` classes (default: every class): actions needing another answer "Permission denied". */
  write?: string[];
}

/**
 * The write class each action needs, as Asterisk registers them (app_queue.c load_module: QueueAdd,
 * QueueRemove, QueuePause, QueuePenalty with EVENT_FLAG_AGENT, QueueStatus with 0; manager.c:
 * UserEvent with EVENT_FLAG_USER, Originate with originate and call). Ping, Login, Logoff need none.
 */
const ACTION_CLASSES: Record<string, string[]> = {
  queueadd: ['agent'],
  queueremove: ['agent'],
  queuepause: ['agent'],
  queuepenalty: ['agent'],
  userevent: ['user'],
  originate: ['originate', 'call'],
};

export interface AmiServerOptions {
  host?: string;
  port?: number;
  users?: AmiUser[];
  queues: AppQueue;
  hooks?: AmiPbxHooks;
  /** Asterisk answers a bad secret about 1 s late (recorded); tests shorten it. */
  authFailDelayMs?: number;
}

export interface ReceivedAction {
  connection: number;
  /** Headers in the order they arrived, names as sent. */
  headers: Array<[string, string]>;
  /** The header lines exactly as sent. */
  lines: string[];
  action: string;
}

interface Session {
  id: number;
  socket: Socket;
  buffer: string;
  loggedIn: boolean;
  /** The logged-in user's classes (undefined: every class). */
  read?: Set<string>;
  write?: Set<string>;
}

/** Whether a session whose read classes are `read` receives an event with this `Privilege` header. */
function readable(read: Set<string> | undefined, privilege: string | undefined): boolean {
  if (read === undefined || privilege === undefined) return true;
  return privilege.split(',').some((c) => c !== 'all' && read.has(c));
}

function render(fields: Fields): string {
  return fields.map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n';
}

export class AmiServer {
  private server: Server | undefined;
  private readonly sessions = new Set<Session>();
  private nextSession = 1;
  private readonly started = Date.now();
  private delays = new Map<string, number>();
  private swallows = new Map<string, number>();
  private frozen = false;
  private held: Array<{ s: Session; block: string }> = [];
  readonly received: ReceivedAction[] = [];
  port = 0;

  constructor(private readonly opts: AmiServerOptions) {}

  async start(): Promise<number> {
    this.server = createServer((socket) => this.accept(socket));
    await new Promise<void>((r) => this.server!.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  async stop(): Promise<void> {
    this.dropConnections();
    const s = this.server;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }

  /** Asterisk restarts: every connection dropped, queues back to configuration. */
  async restart(): Promise<void> {
    this.dropConnections();
    this.opts.queues.reset();
  }

  dropConnections(): void {
    for (const s of this.sessions) s.socket.destroy();
    this.sessions.clear();
  }

  delayAction(name: string, ms: number): void {
    this.delays.set(name.toLowerCase(), ms);
  }
  swallowAction(name: string, count = Infinity): void {
    this.swallows.set(name.toLowerCase(), count);
  }
  clearFaults(): void {
    this.delays.clear();
    this.swallows.clear();
    this.thaw();
  }
  /** Stop answering (actions held, events not sent) while every connection stays open. */
  freeze(): void {
    this.frozen = true;
  }
  /** Answer again: held actions run in order. */
  thaw(): void {
    if (!this.frozen) return;
    this.frozen = false;
    const held = this.held;
    this.held = [];
    for (const h of held) if (!h.s.socket.destroyed) this.onMessage(h.s, h.block);
  }
  /** Writes a message as raw text to every logged-in client (hostile-input tests: any bytes, any headers). */
  sendRaw(text: string): void {
    for (const s of this.sessions) if (s.loggedIn && !s.socket.destroyed) s.socket.write(text);
  }

  /** A dialplan `UserEvent(name, k: v, ...)` on a channel. */
  emitUserEvent(ch: AmiChannelFields, userEvent: string, headers: Record<string, string>): void {
    this.broadcast([
      ['Event', 'UserEvent'],
      ['Privilege', 'user,all'],
      ...channelFields(ch),
      ['UserEvent', userEvent],
      ...Object.entries(headers),
    ]);
  }

  emitEvent(fields: Record<string, string>): void {
    this.broadcast(Object.entries(fields));
  }

  private broadcast(fields: Fields): void {
    const privilege = fields.find(([k]) => k.toLowerCase() === 'privilege')?.[1];
    for (const s of this.sessions) if (s.loggedIn && readable(s.read, privilege)) this.write(s, fields);
  }

  private broadcastLines(lines: string[], privilege?: string): void {
    const text = lines.map((l) => `${l}\r\n`).join('') + '\r\n';
    for (const s of this.sessions) if (s.loggedIn && readable(s.read, privilege)) this.writeText(s, text);
  }

  private accept(socket: Socket): void {
    const s: Session = { id: this.nextSession++, socket, buffer: '', loggedIn: false };
    this.sessions.add(s);
    socket.setNoDelay(true);
    if (!this.frozen) socket.write('Asterisk Call Manager/11.0.0\r\n');
    socket.on('data', (d: Buffer) => {
      s.buffer += d.toString('utf8');
      let i: number;
      while ((i = s.buffer.indexOf('\r\n\r\n')) >= 0) {
        const block = s.buffer.slice(0, i);
        s.buffer = s.buffer.slice(i + 4);
        if (block.trim() === '') continue;
        if (this.frozen) this.held.push({ s, block });
        else this.onMessage(s, block);
      }
    });
    socket.on('close', () => this.sessions.delete(s));
    socket.on('error', () => this.sessions.delete(s));
  }

  private onMessage(s: Session, block: string): void {
    const ordered: Array<[string, string]> = [];
    const h: Record<string, string> = {};
    const lines = block.split('\r\n');
    for (const line of lines) {
      const c = line.indexOf(':');
      if (c <= 0) continue;
      const key = line.slice(0, c).trim();
      const value = line.slice(c + 1).replace(/^ /, '');
      ordered.push([key, value]);
      const k = key.toLowerCase();
      if (!(k in h)) h[k] = value; // Asterisk takes the first occurrence
    }
    const action = h.action ?? '';
    this.received.push({ connection: s.id, headers: ordered, lines, action });
    const name = action.toLowerCase();
    const swallow = this.swallows.get(name);
    if (swallow !== undefined && swallow > 0) {
      this.swallows.set(name, swallow - 1);
      return;
    }
    const delay = this.delays.get(name) ?? 0;
    const run = (): void => void this.handle(s, name, h, lines).catch(() => undefined);
    if (delay > 0) setTimeout(run, delay);
    else run();
  }

  private write(s: Session, fields: Fields): void {
    this.writeText(s, render(fields));
  }

  private writeText(s: Session, text: string): void {
    if (s.socket.destroyed || this.frozen) return;
    // One socket write per tick: a response and the events it raises leave together, as
    // Asterisk's manager thread flushes them.
    if (!s.socket.writableCorked) {
      s.socket.cork();
      process.nextTick(() => s.socket.uncork());
    }
    s.socket.write(text);
  }

  private respond(s: Session, h: Record<string, string>, ok: boolean, message: string, extra: Fields = []): void {
    const id: Fields = h.actionid !== undefined ? [['ActionID', h.actionid]] : [];
    this.write(s, [['Response', ok ? 'Success' : 'Error'], ...id, ['Message', message], ...extra]);
  }

  private async handle(s: Session, name: string, h: Record<string, string>, lines: string[]): Promise<void> {
    const id: Fields = h.actionid !== undefined ? [['ActionID', h.actionid]] : [];
    if (name === 'login') {
      const user = (this.opts.users ?? [{ username: 'agentgate', secret: 'secret' }]).find(
        (u) => u.username === h.username && u.secret === h.secret,
      );
      if (!user) {
        setTimeout(() => this.respond(s, h, false, 'Authentication failed'), this.opts.authFailDelayMs ?? 1000);
        return;
      }
      s.loggedIn = true;
      s.read = user.read === undefined ? undefined : new Set(user.read);
      s.write = user.write === undefined ? undefined : new Set(user.write);
      this.respond(s, h, true, 'Authentication accepted');
      const up = String(Math.floor((Date.now() - this.started) / 1000));
      this.write(s, [
        ['Event', 'FullyBooted'],
        ['Privilege', 'system,all'],
        ['Uptime', up],
        ['LastReload', up],
        ['Status', 'Fully Booted'],
      ]);
      return;
    }
    if (name === 'logoff') {
      this.write(s, [['Response', 'Goodbye'], ...id, ['Message', 'Thanks for all the fish.']]);
      s.socket.end();
      return;
    }
    if (!s.loggedIn) return this.respond(s, h, false, 'Permission denied');
    // manager.c: an action whose classes the user's `write` lacks is answered like this, and not run.
    const needs = ACTION_CLASSES[name];
    if (needs !== undefined && s.write !== undefined && !needs.every((c) => s.write!.has(c)))
      return this.respond(s, h, false, 'Permission denied');
    const q = this.opts.queues;
    switch (name) {
      case 'ping':
        this.write(s, [['Response', 'Success'], ...id, ['Ping', 'Pong'], ['Timestamp', (Date.now() / 1000).toFixed(6)]]);
        return;
      case 'queueadd':
      case 'queueremove':
      case 'queuepause':
      case 'queuepenalty': {
        const r = name === 'queueadd' ? q.add(h) : name === 'queueremove' ? q.remove(h) : name === 'queuepause' ? q.pause(h) : q.penalty(h);
        this.respond(s, h, r.ok, r.message);
        for (const e of r.events) this.broadcast(e);
        return;
      }
      case 'queuestatus': {
        const items = q.status(h);
        this.write(s, [['Response', 'Success'], ...id, ['EventList', 'start'], ['Message', 'Queue status will follow']]);
        for (const it of items) this.write(s, [...it, ...id]);
        this.write(s, [['Event', 'QueueStatusComplete'], ...id, ['EventList', 'Complete'], ['ListItems', String(items.length)]]);
        return;
      }
      case 'userevent': {
        const userEvent = h.userevent;
        if (!userEvent) return this.respond(s, h, false, 'UserEvent not specified');
        this.respond(s, h, true, 'Event Sent');
        // manager.c action_userevent: every header line but `Action:` and `UserEvent:` (exact prefix,
        // any case) is appended as sent — so `Action : login` and repeated headers pass.
        const body = lines.filter((l) => l !== '' && !/^action:/i.test(l) && !/^userevent:/i.test(l));
        this.broadcastLines(['Event: UserEvent', 'Privilege: user,all', `UserEvent: ${userEvent}`, ...body], 'user,all');
        return;
      }
      case 'originate': {
        if (!h.channel) return this.respond(s, h, false, 'Channel not specified');
        if (!this.opts.hooks) return this.respond(s, h, false, 'Originate failed');
        const async = /^(true|yes|1)$/i.test(h.async ?? '');
        const vars: Record<string, string> = {};
        for (const v of (h.variable ?? '').split(',').filter(Boolean)) {
          const eq = v.indexOf('=');
          if (eq > 0) vars[v.slice(0, eq)] = v.slice(eq + 1);
        }
        const req = {
          channel: h.channel,
          context: h.context,
          exten: h.exten,
          priority: h.priority,
          application: h.application,
          data: h.data,
          callerId: h.callerid,
          variables: vars,
        };
        if (async) {
          // Queued: the response goes out first, then the channel runs (its events follow).
          this.respond(s, h, true, 'Originate successfully queued');
          setImmediate(() => void this.opts.hooks!.originate(req).catch(() => undefined));
          return;
        }
        const r = await this.opts.hooks.originate(req);
        this.respond(s, h, r.ok, r.ok ? 'Originate successfully queued' : 'Originate failed');
        return;
      }
      default:
        this.respond(s, h, false, `Invalid/unknown command: ${h.action ?? ''}. Use Action: ListCommands to show available commands.`);
    }
  }
}

function channelFields(c: AmiChannelFields): Fields {
  return [
    ['Channel', c.channel],
    ['ChannelState', c.channelState],
    ['ChannelStateDesc', c.channelStateDesc],
    ['CallerIDNum', c.callerIdNum],
    ['CallerIDName', c.callerIdName],
    ['ConnectedLineNum', c.connectedLineNum],
    ['ConnectedLineName', c.connectedLineName],
    ['Language', c.language],
    ['AccountCode', c.accountCode],
    ['Context', c.context],
    ['Exten', c.exten],
    ['Priority', c.priority],
    ['Uniqueid', c.uniqueid],
    ['Linkedid', c.linkedid],
  ];
}
