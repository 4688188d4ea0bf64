/**
 * The ARI event websocket through ari-client 2.2.0, with its traps handled (REFERENCE.md):
 * - agentgate reads the event frames itself: on every (re)connect ari-client's own 'message'
 *   listener is taken off its websocket. ari-client's throws on malformed JSON or an event type
 *   its events.json does not declare (an uncaught exception in the socket's handler), and builds a
 *   Resource per channel in every event with ~40 operation closures attached: two thirds of what
 *   agentgate allocated under load, garbage that lengthened the GC pauses behind the p99 latency;
 * - one handler for the event types agentgate uses, routed by channel id by the caller (ari-client
 *   never frees per-channel listeners); a throwing handler is logged, never kills event delivery;
 * - every event is checked against the schema of its type before the handler sees it: the handler
 *   gets the typed union `AriEvent`, never a frame whose fields it would have to doubt. A frame that
 *   is not JSON, not an object, has no type, or fails its schema is logged and dropped; a type
 *   agentgate does not consume (ChannelVarset, a type newer than this code) is dropped silently;
 * - a websocket ping every pingIntervalMs; no pong within two intervals → the socket is dropped and
 *   ari-client reconnects;
 * - reconnect never stops: after ari-client's WebSocketMaxRetries we start again, with backoff;
 * - `onConnected` runs after every (re)connect, so the caller can reconcile (Asterisk replays nothing).
 */
import ari from 'ari-client';
import type { Logger } from 'pino';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';

/**
 * The fields of a channel agentgate reads. Extra fields pass (Asterisk sends many and newer
 * versions add more); a read field of the wrong type rejects the whole event.
 */
const Channel = Type.Object({
  id: Type.String({ minLength: 1 }),
  name: Type.String(),
  caller: Type.Optional(Type.Object({ number: Type.String(), name: Type.String() })),
});

/** One schema per event type agentgate consumes; add one here before reading a new type. */
const SCHEMAS = {
  StasisStart: Type.Object({ type: Type.Literal('StasisStart'), channel: Channel, args: Type.Array(Type.String()) }),
  StasisEnd: Type.Object({ type: Type.Literal('StasisEnd'), channel: Channel }),
  /** `peer` is the dialled channel (agentgate's leg); `dialstatus` is '' when the dial starts. */
  Dial: Type.Object({ type: Type.Literal('Dial'), peer: Channel, dialstatus: Type.String() }),
  ChannelDestroyed: Type.Object({ type: Type.Literal('ChannelDestroyed'), channel: Channel, cause: Type.Integer() }),
  /** `soft: true` is Asterisk's soft-hangup flag (cause 32), not a hang-up by the far end. */
  ChannelHangupRequest: Type.Object({ type: Type.Literal('ChannelHangupRequest'), channel: Channel, cause: Type.Optional(Type.Integer()), soft: Type.Optional(Type.Boolean()) }),
} satisfies Record<string, TSchema>;

export type AriEventType = keyof typeof SCHEMAS;
export type AriChannel = Static<typeof Channel>;
/** Every ARI event the handler may receive, checked against its schema. */
export type AriEvent = { [K in AriEventType]: Static<(typeof SCHEMAS)[K]> }[AriEventType];

const CHECKS = Object.fromEntries(Object.entries(SCHEMAS).map(([k, v]) => [k, TypeCompiler.Compile(v as TSchema)])) as Record<AriEventType, TypeCheck<TSchema>>;

function isConsumed(type: string): type is AriEventType {
  return Object.hasOwn(CHECKS, type);
}

export type AriEventHandler = (event: AriEvent) => void | Promise<void>;

export interface AriEventsOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  pingIntervalMs: number;
  logger: Logger;
  onEvent: AriEventHandler;
  onConnected: () => void;
  onDisconnected: () => void;
  /** After ari-client gives up reconnecting (~43 s), start it again after this long (default 5 s). */
  restartAfterGiveUpMs?: number;
}

interface RawWs {
  on(ev: 'pong', f: () => void): void;
  on(ev: 'message', f: (data: unknown) => void): void;
  removeAllListeners(ev: 'message'): void;
  terminate(): void;
  readyState: number;
}

export class AriEvents {
  private client: Awaited<ReturnType<typeof ari.connect>> | undefined;
  private stopped = false;
  private connected = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastPong = Date.now();
  private watchedWs: RawWs | undefined;
  private framesWs: RawWs | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: AriEventsOptions) {}

  isConnected(): boolean {
    return this.connected;
  }

  /** Resolves once connected the first time; keeps reconnecting afterwards until stop(). */
  async start(): Promise<void> {
    let delay = 200;
    for (;;) {
      if (this.stopped) return;
      try {
        await this.connectOnce();
        return;
      } catch (err) {
        this.opts.logger.warn({ err: { message: (err as Error).message }, retryInMs: delay }, 'ARI connect failed; retrying');
        await new Promise((r) => {
          this.retryTimer = setTimeout(r, delay);
        });
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  private async connectOnce(): Promise<void> {
    // ari-client's swagger loader prints a "deprecated version of Swagger" notice on stdout for
    // Asterisk's (correct) api-docs; agentgate's stdout is pino JSON, so that one line is dropped.
    const log = console.log;
    console.log = (...args: unknown[]): void => {
      if (args.some((a) => JSON.stringify(a)?.includes('deprecated version of Swagger'))) return;
      log(...args);
    };
    let client: Awaited<ReturnType<typeof ari.connect>>;
    try {
      client = await ari.connect(this.opts.url, this.opts.username, this.opts.password);
    } finally {
      console.log = log;
    }
    this.client = client;
    // Emitted from the socket's 'open', before any frame is read: the takeover sees every event.
    client.on('WebSocketConnected', () => {
      this.takeOverFrames();
      this.markConnected();
    });
    client.on('WebSocketReconnecting', () => this.markDisconnected());
    client.on('WebSocketMaxRetries', () => {
      this.markDisconnected();
      if (this.stopped) return;
      // ari-client gives up after ~43 s; agentgate never does.
      const ms = this.opts.restartAfterGiveUpMs ?? 5000;
      this.opts.logger.warn({ app: this.opts.app, restartInMs: ms }, 'ARI reconnect attempts exhausted; starting over');
      this.retryTimer = setTimeout(() => void client.start(this.opts.app).catch(() => undefined), ms);
    });
    await client.start(this.opts.app);
    this.markConnected();
    this.pingTimer = setInterval(() => this.keepalive(), this.opts.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Replaces ari-client's frame handler on its current websocket with ours (once per socket). */
  private takeOverFrames(): void {
    const ws = (this.client as unknown as { _ws?: RawWs } | undefined)?._ws;
    if (!ws || ws === this.framesWs) return;
    this.framesWs = ws;
    ws.removeAllListeners('message');
    ws.on('message', (data) => {
      // A throw here would escape into ws's socket handler: an uncaught exception ends the process.
      try {
        this.onFrame(data);
      } catch (err) {
        this.opts.logger.error({ err }, 'ARI event frame could not be handled; skipped');
      }
    });
  }

  private onFrame(data: unknown): void {
    const text = typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data as Buffer[]).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      this.opts.logger.warn({ frame: text.slice(0, 200) }, 'ARI event frame is not JSON; skipped');
      return;
    }
    const type = event !== null && typeof event === 'object' && !Array.isArray(event) ? (event as { type?: unknown }).type : undefined;
    if (typeof type !== 'string') {
      this.opts.logger.warn({ frame: text.slice(0, 200) }, 'ARI event frame without a type; skipped');
      return;
    }
    if (!isConsumed(type)) return; // ChannelVarset, ChannelDtmfReceived, ... and types newer than this code
    const check = CHECKS[type];
    if (!check.Check(event)) {
      const first = check.Errors(event).First();
      this.opts.logger.warn({ type, field: first?.path, problem: first?.message, frame: text.slice(0, 200) }, `malformed ARI ${type} event (${first?.path ?? '?'}: ${first?.message ?? '?'}); skipped`);
      return;
    }
    try {
      const r = this.opts.onEvent(event as AriEvent);
      if (r instanceof Promise) r.catch((err: unknown) => this.opts.logger.error({ err, type }, 'ARI event handler failed'));
    } catch (err) {
      this.opts.logger.error({ err, type }, 'ARI event handler threw');
    }
  }

  private markConnected(): void {
    this.lastPong = Date.now();
    if (this.connected) return;
    this.connected = true;
    this.opts.logger.info({ app: this.opts.app }, 'ARI websocket connected');
    try {
      this.opts.onConnected();
    } catch (err) {
      this.opts.logger.error({ err }, 'reconcile after connect failed');
    }
  }

  private markDisconnected(): void {
    if (!this.connected) return;
    this.connected = false;
    this.opts.logger.warn({ app: this.opts.app }, 'ARI websocket lost; reconnecting');
    this.opts.onDisconnected();
  }

  private keepalive(): void {
    const ws = (this.client as unknown as { _ws?: RawWs } | undefined)?._ws;
    if (!ws) return;
    if (ws !== this.watchedWs) {
      this.watchedWs = ws;
      this.lastPong = Date.now();
      ws.on('pong', () => {
        this.lastPong = Date.now();
      });
    }
    if (ws.readyState !== 1) return;
    if (Date.now() - this.lastPong > 2 * this.opts.pingIntervalMs) {
      this.opts.logger.warn('ARI websocket silent (no pong); dropping it to reconnect');
      ws.terminate();
      return;
    }
    this.client?.ping();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.pingTimer) clearInterval(this.pingTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    try {
      this.client?.stop();
    } catch {
      // already closed
    }
    this.connected = false;
  }
}
