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
 * - `onConnected` runs after every (re)connect, so the caller can reconcile (Asterisk replays nothing);
 * - before ari-client loads the api-docs, agentgate fetches them itself with the credentials: a wrong
 *   password or a URL that is not ARI would make swagger-client throw a bare string from inside an
 *   HTTP callback (`401 : undefined …/api-docs/resources.json`), an uncaught exception that ends the
 *   process. A 401/403 or a 404 is AGENTGATE_ERR_CONFIG naming `ari.password` or `ari.url` (the daemon
 *   prefixes the server's path): start-up fails with it. Anything else (unreachable, 503 while
 *   Asterisk boots) is retried with a log line naming the URL;
 * - ApplicationReplaced (recordings/ari/application-replaced.jsonl: only one websocket holds an app,
 *   the newest wins) means another client took the app: logged as an error, the websocket is closed
 *   and not reopened (ari-client would otherwise take the app back on its next reconnect, and two
 *   instances would steal it from each other forever), and `problem()` says so for readiness. Every
 *   appCheckIntervalMs `GET /applications/{app}` checks that Asterisk lists the app; once it is free
 *   again (404) after a replacement, agentgate takes it back.
 *
 * Longer than 400 lines on purpose: half of it is the schemas of the consumed event types, kept next to the one place that validates frames.
 */
import ari from 'ari-client';
import type { Logger } from 'pino';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import { AgentgateError } from '../../errors/codes.js';
import type { CallEvent } from '../../ports/call-control.js';
import { AriHttpError, AriRest, isGone } from './rest.js';
import { clientWebSocket, takeOverFrames, withoutSwaggerNotice, type ClientWebSocket } from './client-internals.js';

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
  /** `replace_channel`: a Local channel Asterisk made for its own blind transfer (REFER without ari-only). */
  StasisStart: Type.Object({
    type: Type.Literal('StasisStart'),
    channel: Channel,
    args: Type.Array(Type.String()),
    replace_channel: Type.Optional(Channel),
  }),
  StasisEnd: Type.Object({ type: Type.Literal('StasisEnd'), channel: Channel }),
  /** `peer` is the dialled channel (agentgate's leg); `dialstatus` is '' when the dial starts. */
  Dial: Type.Object({ type: Type.Literal('Dial'), peer: Channel, dialstatus: Type.String() }),
  ChannelDestroyed: Type.Object({ type: Type.Literal('ChannelDestroyed'), channel: Channel, cause: Type.Integer() }),
  /** `soft: true` is Asterisk's soft-hangup flag (cause 32), not a hang-up by the far end. */
  ChannelHangupRequest: Type.Object({
    type: Type.Literal('ChannelHangupRequest'),
    channel: Channel,
    cause: Type.Optional(Type.Integer()),
    soft: Type.Optional(Type.Boolean()),
  }),
  /**
   * A phone's REFER under ari-only (recordings/ari-callcontrol/refer-ari-only): without `state` it is the
   * request (passed on as PhoneTransfer); with `state` it is the echo of agentgate's own
   * transfer_progress (logged, not passed on).
   */
  ChannelTransfer: Type.Object({
    type: Type.Literal('ChannelTransfer'),
    // `destination` for a blind transfer; an attended one (REFER with Replaces) gives `protocol_id` instead.
    refer_to: Type.Object({
      requested_destination: Type.Object({ destination: Type.Optional(Type.String()), protocol_id: Type.Optional(Type.String()) }),
    }),
    referred_by: Type.Object({ source_channel: Channel }),
    state: Type.Optional(Type.String()),
  }),
  /** The phone's re-INVITE hold / resume (ARI's own /hold raises neither). */
  ChannelHold: Type.Object({ type: Type.Literal('ChannelHold'), channel: Channel }),
  ChannelUnhold: Type.Object({ type: Type.Literal('ChannelUnhold'), channel: Channel }),
  /** Asterisk executed a REFER itself (no ari-only on that channel): recordings/ari-callcontrol/refer-default. */
  BridgeBlindTransfer: Type.Object({
    type: Type.Literal('BridgeBlindTransfer'),
    channel: Channel,
    exten: Type.String(),
    context: Type.String(),
    result: Type.String(),
    replace_channel: Type.Optional(Channel),
    transferee: Type.Optional(Channel),
  }),
  /** Another websocket took `application` (recorded fields: type, timestamp, application, asterisk_id). Handled here, never passed on. */
  ApplicationReplaced: Type.Object({ type: Type.Literal('ApplicationReplaced'), application: Type.String() }),
} satisfies Record<string, TSchema>;

type ConsumedType = keyof typeof SCHEMAS;
/** The event types the handler receives (ApplicationReplaced is the adapter's own business). */
export type AriEventType = Exclude<ConsumedType, 'ApplicationReplaced'>;
export type AriChannel = Static<typeof Channel>;
/** Every ARI event the handler may receive, checked against its schema. */
export type AriEvent = { [K in AriEventType]: Static<(typeof SCHEMAS)[K]> }[AriEventType];
/**
 * Compile-time: the checked events are exactly the port's CallEvent (a schema change must change the
 * port too), except ChannelTransfer, which `toCallEvent` maps to PhoneTransfer.
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
export type AriEventIsCallEvent =
  Same<Exclude<AriEvent, { type: 'ChannelTransfer' }>, Exclude<CallEvent, { type: 'PhoneTransfer' }>> extends true ? true : never;
export const ARI_EVENT_IS_CALL_EVENT: AriEventIsCallEvent = true;

/**
 * The port's event for a checked ARI event; undefined for a ChannelTransfer with `state` (the echo
 * of agentgate's own transfer_progress: nothing to act on).
 */
export function toCallEvent(e: AriEvent): CallEvent | undefined {
  if (e.type !== 'ChannelTransfer') return e;
  if (e.state !== undefined) return undefined;
  const { destination } = e.refer_to.requested_destination;
  return { type: 'PhoneTransfer', channel: e.referred_by.source_channel, ...(destination === undefined ? {} : { destination }) };
}

const CHECKS = Object.fromEntries(Object.entries(SCHEMAS).map(([k, v]) => [k, TypeCompiler.Compile(v as TSchema)])) as Record<
  ConsumedType,
  TypeCheck<TSchema>
>;

function isConsumed(type: string): type is ConsumedType {
  return Object.hasOwn(CHECKS, type);
}

export type AriEventHandler = (event: CallEvent) => void | Promise<void>;

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
  /** How often `GET /applications/{app}` checks that Asterisk lists the app (default 10 s). */
  appCheckIntervalMs?: number;
  /** Timeout of the adapter's own REST requests (api-docs check, application check; default 5 s). */
  restTimeoutMs?: number;
}

export class AriEvents {
  private client: Awaited<ReturnType<typeof ari.connect>> | undefined;
  private stopped = false;
  private connected = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private lastPong = Date.now();
  private watchedWs: ClientWebSocket | undefined;
  private framesWs: ClientWebSocket | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private appTimer: NodeJS.Timeout | undefined;
  private readonly rest: AriRest;
  /** When another websocket took the app (ISO time), until agentgate holds it again. */
  private replacedAt: string | undefined;
  /** What the last GET /applications/{app} said while connected (undefined: not asked since). */
  private listed: boolean | undefined;
  private checking = false;

  constructor(private readonly opts: AriEventsOptions) {
    this.rest = new AriRest({ url: opts.url, username: opts.username, password: opts.password, timeoutMs: opts.restTimeoutMs ?? 5000 });
  }

  isConnected(): boolean {
    return this.connected;
  }

  /**
   * Why calls to the app cannot reach this instance now, or undefined when they can: the websocket
   * is down, another websocket took the app (ApplicationReplaced), or Asterisk does not list the app.
   */
  problem(): string | undefined {
    const app = this.opts.app;
    if (this.replacedAt !== undefined) {
      return `ARI application '${app}' was taken over by another websocket at ${this.replacedAt} (ApplicationReplaced): another agentgate or ARI client uses app '${app}' on this Asterisk; Stasis(${app}) calls go to it`;
    }
    if (!this.connected) return `ARI websocket to ${this.opts.url} is down`;
    if (this.listed === false)
      return `Asterisk does not list ARI application '${app}' (GET /applications/${app}: 404) although the websocket is open`;
    return undefined;
  }

  /**
   * Resolves once connected the first time; keeps reconnecting afterwards until stop(). Rejects
   * only with AGENTGATE_ERR_CONFIG (credentials refused, or no ARI at the URL): retrying cannot help.
   */
  async start(): Promise<void> {
    let delay = 200;
    for (;;) {
      if (this.stopped) return;
      try {
        await this.connectOnce();
        this.appTimer = setInterval(() => {
          this.checkApp().catch((err: unknown) => this.opts.logger.error({ err }, 'ARI application check failed'));
        }, this.opts.appCheckIntervalMs ?? 10_000);
        this.appTimer.unref();
        return;
      } catch (err) {
        if (err instanceof AgentgateError && err.code === 'AGENTGATE_ERR_CONFIG') throw err;
        // The network error itself (ECONNREFUSED, EHOSTUNREACH, ...) says more than the wrapper.
        const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
        const why = cause instanceof Error ? cause.message : String(cause);
        this.opts.logger.warn(
          { url: this.opts.url, err: { message: why }, retryInMs: delay },
          `ARI at ${this.opts.url} not reachable (${why}); retrying in ${delay} ms`,
        );
        await new Promise((r) => {
          this.retryTimer = setTimeout(r, delay);
        });
        delay = Math.min(delay * 2, 10_000);
      }
    }
  }

  /**
   * The api-docs ari-client is about to load, fetched with the credentials first (see the file
   * comment). Throws AGENTGATE_ERR_CONFIG for what only the config can fix; other errors are retried.
   */
  private async checkCredentials(): Promise<void> {
    try {
      await this.rest.call('GET', '/api-docs/resources.json');
    } catch (err) {
      if (!(err instanceof AriHttpError)) throw err;
      const { url, username } = this.opts;
      if (err.httpStatus === 401 || err.httpStatus === 403) {
        throw new AgentgateError(
          'AGENTGATE_ERR_CONFIG',
          {
            field: 'ari.password',
            detail: `ARI at ${url} refused user '${username}' with this password (${err.httpStatus}): the username and password must match a user in Asterisk's ari.conf`,
          },
          { field: 'ari.password', cause: err },
        );
      }
      if (err.httpStatus === 404) {
        throw new AgentgateError(
          'AGENTGATE_ERR_CONFIG',
          {
            field: 'ari.url',
            detail: `${url} answers 404 for /ari/api-docs/resources.json: not an Asterisk ARI (the URL is http.conf's address without /ari; ari.conf needs enabled = yes)`,
          },
          { field: 'ari.url', cause: err },
        );
      }
      throw err;
    }
  }

  private async connectOnce(): Promise<void> {
    await this.checkCredentials();
    // ari-client prints a swagger notice on stdout while connecting: dropped (client-internals.ts).
    const client = await withoutSwaggerNotice(() => ari.connect(this.opts.url, this.opts.username, this.opts.password));
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
      // A password changed in ari.conf since the start shows only as failed websocket upgrades: say so.
      this.checkCredentials().catch((err: unknown) => {
        if (err instanceof AgentgateError && err.code === 'AGENTGATE_ERR_CONFIG')
          this.opts.logger.error({ app: this.opts.app, field: err.field }, err.message);
      });
      this.retryTimer = setTimeout(() => void client.start(this.opts.app).catch(() => undefined), ms);
    });
    await client.start(this.opts.app);
    this.markConnected();
    this.pingTimer = setInterval(() => this.keepalive(), this.opts.pingIntervalMs);
    this.pingTimer.unref();
  }

  /** Replaces ari-client's frame handler on its current websocket with ours (once per socket). */
  private takeOverFrames(): void {
    const ws = clientWebSocket(this.client);
    if (!ws || ws === this.framesWs) return;
    this.framesWs = ws;
    takeOverFrames(
      ws,
      (data) => this.onFrame(data),
      (err) => this.opts.logger.error({ err }, 'ARI event frame could not be handled; skipped'),
    );
  }

  private onFrame(data: unknown): void {
    const text =
      typeof data === 'string'
        ? data
        : Buffer.isBuffer(data)
          ? data.toString('utf8')
          : Array.isArray(data)
            ? Buffer.concat(data as Buffer[]).toString('utf8')
            : Buffer.from(data as ArrayBuffer).toString('utf8');
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
      this.opts.logger.warn(
        { type, field: first?.path, problem: first?.message, frame: text.slice(0, 200) },
        `malformed ARI ${type} event (${first?.path ?? '?'}: ${first?.message ?? '?'}); skipped`,
      );
      return;
    }
    if (type === 'ApplicationReplaced') {
      if ((event as { application: string }).application === this.opts.app) this.onReplaced();
      return;
    }
    const mapped = toCallEvent(event as AriEvent);
    if (mapped === undefined) {
      const t = event as { state?: string; referred_by: { source_channel: { id: string } } };
      this.opts.logger.debug({ channel: t.referred_by.source_channel.id, state: t.state }, 'transfer progress reported to the phone');
      return;
    }
    try {
      const r = this.opts.onEvent(mapped);
      if (r instanceof Promise) r.catch((err: unknown) => this.opts.logger.error({ err, type }, 'ARI event handler failed'));
    } catch (err) {
      this.opts.logger.error({ err, type }, 'ARI event handler threw');
    }
  }

  /**
   * Another websocket holds the app now. The socket is closed on purpose (ari-client does not
   * reconnect then): reopening it would take the app back, and the other holder would do the same.
   */
  private onReplaced(): void {
    if (this.stopped || this.replacedAt !== undefined) return;
    this.replacedAt = new Date().toISOString();
    const app = this.opts.app;
    this.opts.logger.error(
      { app, url: this.opts.url },
      `ARI application '${app}' was taken over by another websocket (ApplicationReplaced): another agentgate or ARI client uses app '${app}' on this Asterisk, and Stasis(${app}) calls now go to it. This instance reports not ready and does not take the app back while the other holds it: give each instance its own servers[].ari.app, or stop the other one`,
    );
    try {
      this.client?.stop();
    } catch {
      // already closed
    }
    if (this.connected) {
      this.connected = false;
      this.opts.onDisconnected();
    }
  }

  /** GET /applications/{app}: is the app listed; after a replacement, take it back once it is free. */
  private async checkApp(): Promise<void> {
    if (this.stopped || this.checking) return;
    this.checking = true;
    try {
      let listed: boolean;
      try {
        await this.rest.application(this.opts.app);
        listed = true;
      } catch (err) {
        if (!isGone(err)) return; // ARI unreachable: the websocket's own state tells readiness
        listed = false;
      }
      const app = this.opts.app;
      if (this.replacedAt !== undefined) {
        if (listed || this.stopped) return;
        this.opts.logger.warn({ app }, `ARI application '${app}' is free again (GET /applications/${app}: 404); taking it back`);
        this.replacedAt = undefined;
        await this.client
          ?.start(app)
          .catch((err: unknown) =>
            this.opts.logger.warn({ app, err: { message: (err as Error).message } }, 'ARI websocket could not be reopened; retrying'),
          );
        return;
      }
      if (!this.connected) return;
      if (!listed && this.listed !== false)
        this.opts.logger.error(
          { app },
          `Asterisk does not list ARI application '${app}' although agentgate's websocket is open: Stasis(${app}) calls fail to the dialplan fallback`,
        );
      else if (listed && this.listed === false) this.opts.logger.info({ app }, `Asterisk lists ARI application '${app}' again`);
      this.listed = listed;
    } finally {
      this.checking = false;
    }
  }

  private markConnected(): void {
    this.lastPong = Date.now();
    if (this.connected) return;
    this.listed = undefined;
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
    const ws = clientWebSocket(this.client);
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
    if (this.appTimer) clearInterval(this.appTimer);
    this.rest.close();
    try {
      this.client?.stop();
    } catch {
      // already closed
    }
    this.connected = false;
  }
}
