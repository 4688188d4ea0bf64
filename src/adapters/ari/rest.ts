/**
 * ARI REST calls with a timeout on every request and errors that keep Asterisk's status code.
 * ari-client's generated methods have neither (they can hang forever when the network fails, and
 * reject with the raw body and no status: REFERENCE.md), so agentgate sends REST itself over
 * keep-alive connections (node:http) and uses ari-client for the event websocket.
 */
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { AgentgateError } from '../../errors/codes.js';

export class AriHttpError extends AgentgateError {
  constructor(
    readonly httpStatus: number,
    readonly body: string,
    method: string,
    path: string,
  ) {
    super('AGENTGATE_ERR_ARI_FAILED', { detail: `${method} ${path} → ${httpStatus} ${body}` });
  }
}

export interface AriRestOptions {
  url: string;
  username: string;
  password: string;
  timeoutMs: number;
}

type Query = Record<string, string | number | undefined>;

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

  async call<T = unknown>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
    const qs = Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const fullPath = `${this.basePath}${path}${qs ? `?${qs}` : ''}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const headers: Record<string, string | number> = { Authorization: this.auth };
      if (payload !== undefined) {
        headers['Content-Type'] = 'application/json';
        headers['Content-Length'] = Buffer.byteLength(payload);
      }
      const req = (this.secure ? httpsRequest : httpRequest)({ host: this.host, port: this.port, method, path: fullPath, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.setTimeout(this.opts.timeoutMs, () => req.destroy(new AgentgateError('AGENTGATE_ERR_ARI_TIMEOUT', { action: `${method} ${path}`, ms: this.opts.timeoutMs })));
      req.on('error', (err) => reject(err instanceof AgentgateError ? err : new AgentgateError('AGENTGATE_ERR_ARI_DISCONNECTED', { server: this.opts.url }, { cause: err })));
      req.end(payload);
    });
    if (status < 200 || status >= 300) throw new AriHttpError(status, text, method, path);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  createChannel(q: { endpoint: string; app: string; appArgs: string; channelId: string; originator?: string }): Promise<unknown> {
    return this.call('POST', '/channels/create', q);
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
  play(id: string, media: string): Promise<{ id: string }> {
    return this.call('POST', `/channels/${encodeURIComponent(id)}/play`, { media });
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
    return this.call('GET', '/channels');
  }
  listBridges(): Promise<Array<{ id: string; channels: string[] }>> {
    return this.call('GET', '/bridges');
  }
  endpoints(): Promise<Array<{ technology: string; resource: string; state: string }>> {
    return this.call('GET', '/endpoints');
  }
  endpoint(tech: string, resource: string): Promise<{ technology: string; resource: string; state: string }> {
    return this.call('GET', `/endpoints/${encodeURIComponent(tech)}/${encodeURIComponent(resource)}`);
  }
  application(app: string): Promise<{ channel_ids: string[]; bridge_ids: string[] }> {
    return this.call('GET', `/applications/${encodeURIComponent(app)}`);
  }
}

/** 404 from Asterisk: the channel or bridge is already gone (done, for a hang-up). */
export function isGone(err: unknown): boolean {
  return err instanceof AriHttpError && err.httpStatus === 404;
}
