/**
 * The simulator's ARI: REST + WebSocket on node:http and `ws`, serving the api-docs exactly as
 * Asterisk 22.7 does (basePath rewritten to this server) so that unmodified ari-client connects.
 * Status codes and error bodies follow test/fixtures/asterisk-22.7/recordings (e.g. 500 {"error":"Allocation
 * failed"}, 404 {"message":"Channel not found"}).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { PbxError, type AriEvent, type Pbx } from '../pbx/pbx.js';
import { NOT_ROUTED, routeAri } from './routes.js';

/**
 * Where the recorded api-docs live: env AGENTGATE_ARI_API_DOCS, else the copy shipped beside this
 * file (Asterisk 22.7.0's, byte for byte the same as test/fixtures/asterisk-22.7/ari-api-docs).
 */
export function apiDocsDir(): string {
  if (process.env.AGENTGATE_ARI_API_DOCS) return process.env.AGENTGATE_ARI_API_DOCS;
  return resolve(dirname(fileURLToPath(import.meta.url)), 'api-docs');
}

export interface AriServerOptions {
  host?: string;
  port?: number;
  users?: { username: string; password: string }[];
  /** Extra routes outside /ari (the sim's control endpoints). */
  control?: (req: IncomingMessage, body: unknown, url: URL) => Promise<{ status: number; body: unknown } | undefined>;
}

interface Fault {
  match: RegExp;
  delayMs?: number;
  /** How many more matching requests this fault applies to (undefined: every one). */
  times?: number;
  /** Delay the answer after the request took effect (the client learns late of what happened). */
  afterMs?: number;
  fail?: { status: number; body: unknown };
  /** Answer with this body text as is (not JSON-encoded): a malformed or unexpected answer. */
  raw?: { status: number; text: string };
}

export class AriServer {
  private server: Server | undefined;
  private wss: WebSocketServer | undefined;
  private readonly docs = new Map<string, string>();
  /** app → the websocket holding it (newest wins). */
  private readonly holders = new Map<string, WebSocket>();
  private faults: Fault[] = [];
  /** Sockets behind a black hole: nothing read from them (no pong), nothing sent to them. */
  private readonly frozen = new WeakSet<WebSocket>();
  /** Until then, websocket upgrades are refused with 503 (the network is still cut). */
  private refuseUntil = 0;
  private readonly users: { username: string; password: string }[];
  url = '';

  constructor(
    readonly pbx: Pbx,
    private readonly opts: AriServerOptions = {},
  ) {
    this.users = opts.users ?? [{ username: 'agentgate', password: 'secret' }];
    pbx.on('ari-event', (e: AriEvent) => this.deliver(e));
  }

  async start(): Promise<number> {
    const dir = apiDocsDir();
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 500, { message: err instanceof Error ? err.message : String(err) });
      });
    });
    this.server.keepAliveTimeout = 60_000;
    this.wss = new WebSocketServer({ noServer: true });
    this.server.on('upgrade', (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (Date.now() < this.refuseUntil) {
        socket.write('HTTP/1.1 503 Service Unavailable\r\n\r\n');
        socket.destroy();
        return;
      }
      if (url.pathname !== '/ari/events' || !this.authorized(req, url)) {
        socket.write('HTTP/1.1 401 Unauthorized\r\n\r\n');
        socket.destroy();
        return;
      }
      const apps = (url.searchParams.get('app') ?? '').split(',').filter(Boolean);
      if (apps.length === 0) {
        socket.write('HTTP/1.1 400 Bad Request\r\n\r\n');
        socket.destroy();
        return;
      }
      this.wss!.handleUpgrade(req, socket, head, (ws) => this.attach(ws, apps));
    });
    await new Promise<void>((resolveListen) => this.server!.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', resolveListen));
    const port = (this.server.address() as AddressInfo).port;
    this.url = `http://${this.opts.host ?? '127.0.0.1'}:${port}`;
    const base = `${this.url}/ari`;
    for (const f of [
      'resources',
      'asterisk',
      'endpoints',
      'channels',
      'bridges',
      'recordings',
      'sounds',
      'playbacks',
      'deviceStates',
      'mailboxes',
      'events',
      'applications',
    ]) {
      const text = readFileSync(join(dir, `${f}.json`), 'utf8');
      this.docs.set(f, text.replace(/"basePath":\s*"[^"]*"/, `"basePath": "${base}"`));
    }
    return port;
  }

  private attach(ws: WebSocket, apps: string[]): void {
    for (const app of apps) {
      const prev = this.holders.get(app);
      if (prev && prev !== ws && prev.readyState === prev.OPEN) {
        prev.send(
          JSON.stringify({
            type: 'ApplicationReplaced',
            timestamp: this.pbx.timestamp(),
            application: app,
            asterisk_id: this.pbx.asteriskId,
          }),
        );
      }
      this.holders.set(app, ws);
      this.pbx.heldApps.add(app);
    }
    ws.on('close', () => {
      for (const app of apps) {
        if (this.holders.get(app) === ws) {
          this.holders.delete(app);
          this.pbx.heldApps.delete(app);
        }
      }
    });
    ws.on('error', () => ws.terminate());
  }

  private deliver(e: AriEvent): void {
    const ws = this.holders.get(e.application);
    if (ws && ws.readyState === ws.OPEN && !this.frozen.has(ws)) ws.send(JSON.stringify(e));
  }

  /**
   * Closes every websocket (a network cut): events of that time are lost, never replayed. With
   * refuseForMs, reconnects are refused that long, so the PBX moves on while the app is deaf.
   */
  dropWebsockets(refuseForMs = 0): void {
    this.refuseUntil = Date.now() + refuseForMs;
    for (const ws of this.wss?.clients ?? []) ws.terminate();
  }
  /** Refuses websocket upgrades (503) for ms without touching open websockets: the network is cut for new connections. */
  refuseWebsockets(ms: number): void {
    this.refuseUntil = Date.now() + ms;
  }
  /**
   * A half-open connection (a NAT or firewall dropped the flow without a FIN): the sockets stay
   * open, but no ping is answered and no event gets through. Only a client's own keepalive notices.
   */
  freezeWebsockets(): void {
    for (const ws of this.wss?.clients ?? []) {
      this.frozen.add(ws);
      ws.pause(); // ws 8 public API: stops reading the socket (no pong, no frame)
    }
  }
  /** Sends one text frame as is to the websocket holding app (a malformed or unknown event, as a buggy or newer Asterisk could). */
  sendRawFrame(app: string, text: string): boolean {
    const ws = this.holders.get(app);
    if (!ws || ws.readyState !== ws.OPEN) return false;
    ws.send(text);
    return true;
  }
  delayRest(match: RegExp, ms: number): void {
    this.faults.push({ match, delayMs: ms });
  }
  /**
   * Holds the next request matching `match` for `ms` before it takes effect; later requests (on
   * other keep-alive connections) are not held and overtake it, as on a real Asterisk under load
   * where each connection has its own thread. Only that one request is delayed.
   */
  delayOneRest(match: RegExp, ms: number): void {
    this.faults.push({ match, delayMs: ms, times: 1 });
  }
  delayResponse(match: RegExp, ms: number): void {
    this.faults.push({ match, afterMs: ms });
  }
  failRest(match: RegExp, status: number, body: unknown): void {
    this.faults.push({ match, fail: { status, body } });
  }
  /** Answers requests matching `match` with `text` as the body, unencoded (malformed JSON, a wrong shape). */
  answerRawRest(match: RegExp, status: number, text: string): void {
    this.faults.push({ match, raw: { status, text } });
  }
  clearFaults(): void {
    this.faults = [];
    this.refuseUntil = 0;
  }
  websocketCount(): number {
    return this.wss?.clients.size ?? 0;
  }

  async stop(): Promise<void> {
    this.dropWebsockets();
    this.wss?.close();
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }

  private authorized(req: IncomingMessage, url: URL): boolean {
    const key = url.searchParams.get('api_key');
    let user: string | undefined;
    let pass: string | undefined;
    if (key !== null) {
      const i = key.indexOf(':');
      user = key.slice(0, i);
      pass = key.slice(i + 1);
    } else {
      const h = req.headers.authorization;
      if (h?.startsWith('Basic ')) {
        const dec = Buffer.from(h.slice(6), 'base64').toString();
        const i = dec.indexOf(':');
        user = dec.slice(0, i);
        pass = dec.slice(i + 1);
      }
    }
    return this.users.some((u) => u.username === user && u.password === pass);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const raw = await readBody(req);
    let body: unknown = undefined;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        return send(res, 400, { message: 'Invalid JSON body' });
      }
    }
    if (!url.pathname.startsWith('/ari/')) {
      const r = this.opts.control ? await this.opts.control(req, body, url) : undefined;
      if (r?.status === 204) {
        res.writeHead(204);
        res.end();
        return;
      }
      return r ? send(res, r.status, r.body) : send(res, 404, { message: 'Not found' });
    }
    // As Asterisk's ast_ari_callback: authentication comes before everything, api-docs included
    // (401 {"message":"Authentication required"} with a Basic challenge).
    if (!this.authorized(req, url)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Asterisk REST Interface"');
      return send(res, 401, { message: 'Authentication required' });
    }
    const path = url.pathname.slice(4);
    const docs = /^\/api-docs\/(\w+)\.json$/.exec(path);
    if (docs && req.method === 'GET') {
      const text = this.docs.get(docs[1]!);
      if (text === undefined) return send(res, 404, { message: 'Not found' });
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(text);
      return;
    }
    const key = `${req.method} ${path}`;
    for (const f of [...this.faults]) {
      if (!f.match.test(key)) continue;
      if (f.times !== undefined) {
        if (f.times <= 0) continue;
        f.times--;
      }
      if (f.delayMs) await new Promise((r) => setTimeout(r, f.delayMs));
      if (f.fail) return send(res, f.fail.status, f.fail.body);
      if (f.raw) {
        res.writeHead(f.raw.status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(f.raw.text) });
        res.end(f.raw.text);
        return;
      }
    }
    const after = this.faults.find((f) => f.afterMs !== undefined && f.match.test(key))?.afterMs;
    try {
      const out = routeAri(this.pbx, req.method ?? 'GET', path, url.searchParams, body);
      if (after) await new Promise((r) => setTimeout(r, after));
      if (out === NOT_ROUTED) return send(res, 404, { message: 'Not found' });
      if (out === undefined) {
        res.writeHead(204);
        res.end();
        return;
      }
      send(res, 200, out);
    } catch (err) {
      if (err instanceof PbxError) return send(res, err.status, err.body);
      throw err;
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
