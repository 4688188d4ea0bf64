/**
 * ARI REST calls with a timeout on every request and errors that keep Asterisk's status code.
 * ari-client's generated methods have neither (they can hang forever when the network fails, and
 * reject with the raw body and no status: REFERENCE.md), so agentgate sends REST itself over
 * keep-alive connections (node:http) and uses ari-client for the event websocket.
 *
 * What a caller must know:
 * - Requests travel on up to 64 keep-alive sockets, so two requests sent without waiting can reach
 *   Asterisk in either order (issue 15). A caller whose second request depends on the first (a
 *   variable before `/continue`) waits for the first answer: the dispatch executor orders commands
 *   per channel.
 * - Every value that reaches Asterisk (path ids, query values, body strings, channel variables) is
 *   checked here, in `call()`, before anything is sent: a C0 control character or DEL (TAB allowed)
 *   is refused with AGENTGATE_ERR_VALIDATION naming the field. Asterisk would put them into the
 *   dialplan, CDRs and SIP headers as they are.
 * - An answer that is not the JSON the operation promises is AGENTGATE_ERR_ARI_FAILED, never a
 *   TypeError in the caller.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { AgentgateError } from '../../errors/codes.js';
import { refuseControlChars } from '../../errors/control-chars.js';

export class AriHttpError extends AgentgateError<'AGENTGATE_ERR_ARI_FAILED'> {
  constructor(
    readonly httpStatus: number,
    readonly body: string,
    method: string,
    path: string,
  ) {
    super('AGENTGATE_ERR_ARI_FAILED', { operation: `${method} ${path}`, detail: `${httpStatus} ${body}` });
  }
}

export interface AriRestOptions {
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
}

type Query = Record<string, string | number | undefined>;

export { refuseControlChars };

/** Path segment → the name of the field it carries, for error messages (`/channels/{channelId}`). */
const PATH_FIELDS: Record<string, string> = {
  channels: 'channelId',
  bridges: 'bridgeId',
  applications: 'application',
  endpoints: 'endpoint',
  playbacks: 'playbackId',
};

function checkPath(path: string): void {
  const segs = path.split('/');
  for (let i = 1; i < segs.length; i++) {
    let seg: string;
    try {
      seg = decodeURIComponent(segs[i]!);
    } catch {
      throw new AgentgateError(
        'AGENTGATE_ERR_VALIDATION',
        { field: 'path', detail: `malformed percent-encoding in ${JSON.stringify(segs[i])}` },
        { field: 'path' },
      );
    }
    refuseControlChars(PATH_FIELDS[segs[i - 1] ?? ''] ?? 'path', seg);
  }
}

/** Every string in a JSON body (keys included: a channel variable's name is one), named by its path. */
function checkBody(field: string, v: unknown): void {
  if (typeof v === 'string') refuseControlChars(field, v);
  else if (Array.isArray(v)) v.forEach((x, i) => checkBody(`${field}[${i}]`, x));
  else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      refuseControlChars(`${field} key`, k);
      checkBody(`${field}.${k}`, x);
    }
  }
}

// What agentgate reads from Asterisk's answers (extra fields are allowed: newer Asterisks add some).
const ChannelSummary = Type.Object({ id: Type.String(), state: Type.String() });
const ChannelList = Type.Array(ChannelSummary);
const Endpoint = Type.Object({ technology: Type.String(), resource: Type.String(), state: Type.String() });
const EndpointList = Type.Array(Endpoint);
const Application = Type.Object({ channel_ids: Type.Array(Type.String()), bridge_ids: Type.Array(Type.String()) });
const Playback = Type.Object({ id: Type.String() });
const AsteriskInfo = Type.Object({ system: Type.Object({ version: Type.String() }) });

export class AriRest {
  private readonly basePath: string;
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  private readonly auth: string;
  private readonly agent: HttpAgent;

  constructor(private readonly opts: AriRestOptions) {
    const u = new URL(opts.url);
    this.secure = u.protocol === 'https:';
    this.host = u.hostname;
    this.port = Number(u.port || (this.secure ? 443 : 80));
    this.basePath = `${u.pathname.replace(/\/$/, '')}/ari`;
    this.auth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    this.agent = this.secure ? new HttpsAgent({ keepAlive: true, maxSockets: 64 }) : new HttpAgent({ keepAlive: true, maxSockets: 64 });
  }

  /**
   * One request. Refuses control characters in any value before sending (AGENTGATE_ERR_VALIDATION),
   * times out (AGENTGATE_ERR_ARI_TIMEOUT), keeps Asterisk's status (AriHttpError), and parses the
   * answer (malformed JSON → AGENTGATE_ERR_ARI_FAILED). Resolves with the parsed body, unchecked.
   */
  async call<T = unknown>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
    checkPath(path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) refuseControlChars(k, String(v));
    if (body !== undefined) checkBody('body', body);
    const qs = Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const fullPath = `${this.basePath}${path}${qs ? `?${qs}` : ''}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const operation = `${method} ${path}`;
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers: Record<string, string | number> = { Authorization: this.auth };
      if (payload !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = Buffer.byteLength(payload);
      }
      const req = (this.secure ? httpsRequest : httpRequest)(
        { host: this.host, port: this.port, method, path: fullPath, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.setTimeout(this.opts.timeoutMs, () =>
        req.destroy(new AgentgateError('AGENTGATE_ERR_ARI_TIMEOUT', { operation, ms: this.opts.timeoutMs })),
      );
      req.on('error', (err) =>
        reject(
          err instanceof AgentgateError
            ? err
            : new AgentgateError('AGENTGATE_ERR_ARI_DISCONNECTED', { server: this.opts.url }, { cause: err }),
        ),
      );
      req.end(payload);
    });
    if (status < 200 || status >= 300) throw new AriHttpError(status, text, method, path);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new AgentgateError(
        'AGENTGATE_ERR_ARI_FAILED',
        { operation, detail: `Asterisk answered ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 200))}` },
        { cause: err },
      );
    }
  }

  /** `call()`, then the answer checked against `schema` (AGENTGATE_ERR_ARI_FAILED naming the first bad field). */
  private async read<S extends TSchema>(schema: S, method: string, path: string, query: Query = {}): Promise<Static<S>> {
    const out = await this.call(method, path, query);
    if (Value.Check(schema, out)) return out;
    const first = Value.Errors(schema, out).First();
    const where = first ? `${first.path || '/'}: ${first.message}` : 'unexpected shape';
    throw new AgentgateError('AGENTGATE_ERR_ARI_FAILED', {
      operation: `${method} ${path}`,
      detail: `unexpected answer from Asterisk at ${where}`,
    });
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  /** `variables` travel in the same request (the create body), so they are set before the leg exists for anyone. */
  createChannel(q: {
    endpoint: string;
    app: string;
    appArgs: string;
    channelId: string;
    originator?: string;
    variables?: Record<string, string>;
  }): Promise<unknown> {
    const { variables, ...query } = q;
    return this.call('POST', '/channels/create', query, variables === undefined ? undefined : { variables });
  }
  dial(id: string, q: { caller?: string; timeout: number }): Promise<void> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/dial`, q);
  }
  hangup(id: string, reason?: string): Promise<void> {
    return this.call('DELETE', `/channels/${encodeURIComponent(id)}`, { reason });
  }
  ring(id: string): Promise<void> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/ring`);
  }
  answer(id: string): Promise<void> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/answer`);
  }
  setVar(id: string, variable: string, value: string): Promise<void> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/variable`, { variable, value });
  }
  continueInDialplan(id: string, to?: { context: string; extension: string; priority: number }): Promise<void> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/continue`, to ?? {});
  }
  startMoh(id: string, mohClass?: string): Promise<void> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/moh`, mohClass === undefined ? {} : { mohClass });
  }
  stopMoh(id: string): Promise<void> {
    return this.call('DELETE', `/channels/${encodeURIComponent(id)}/moh`);
  }
  /** `POST /channels/{id}/transfer_progress?states=`: 204; 400 "Invalid states value", 404 "Channel not found". */
  transferProgress(id: string, state: string): Promise<void> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/transfer_progress`, { states: state });
  }
  play(id: string, media: string): Promise<{ id: string }> {
    return this.read(Playback, 'POST', `/channels/${encodeURIComponent(id)}/play`, { media });
  }
  createBridge(bridgeId: string, name: string): Promise<unknown> {
    return this.call('POST', '/bridges', { type: 'mixing', bridgeId, name });
  }
  addChannels(bridgeId: string, channels: string[]): Promise<void> {
    return this.call('POST', `/bridges/${encodeURIComponent(bridgeId)}/addChannel`, { channel: channels.join(',') });
  }
  destroyBridge(bridgeId: string): Promise<void> {
    return this.call('DELETE', `/bridges/${encodeURIComponent(bridgeId)}`);
  }
  listChannels(): Promise<Array<{ id: string; state: string }>> {
    return this.read(ChannelList, 'GET', '/channels');
  }

  endpoints(): Promise<Array<{ technology: string; resource: string; state: string }>> {
    return this.read(EndpointList, 'GET', '/endpoints');
  }
  endpoint(tech: string, resource: string): Promise<{ technology: string; resource: string; state: string }> {
    return this.read(Endpoint, 'GET', `/endpoints/${encodeURIComponent(tech)}/${encodeURIComponent(resource)}`);
  }
  /** `GET /asterisk/info`: the version is `system.version` (e.g. `22.7.0`). */
  asteriskInfo(): Promise<{ system: { version: string } }> {
    return this.read(AsteriskInfo, 'GET', '/asterisk/info');
  }
  application(app: string): Promise<{ channel_ids: string[]; bridge_ids: string[] }> {
    return this.read(Application, 'GET', `/applications/${encodeURIComponent(app)}`);
  }
}

/** 404 from Asterisk: the channel or bridge is already gone (done, for a hang-up). */
export function isGone(err: unknown): boolean {
  return err instanceof AriHttpError && err.httpStatus === 404;
}
