/**
 * ARI REST calls with a timeout on every request and errors that keep Asterisk's status code.
 * ari-client's generated methods have neither (they can hang forever when the network fails, and
 * reject with the raw body and no status: REFERENCE.md), so agentgate sends REST itself over a
 * keep-alive connection and uses ari-client for the event websocket.
 */
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
  private readonly base: string;
  private readonly auth: string;

  constructor(private readonly opts: AriRestOptions) {
    this.base = `${opts.url.replace(/\/$/, '')}/ari`;
    this.auth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
  }

  async call<T = unknown>(method: string, path: string, query: Query = {}, body?: unknown): Promise<T> {
    const qs = Object.entries(query)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const url = `${this.base}${path}${qs ? `?${qs}` : ''}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? { Authorization: this.auth } : { Authorization: this.auth, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
    } catch (err) {
      if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
        throw new AgentgateError('AGENTGATE_ERR_ARI_TIMEOUT', { action: `${method} ${path}`, ms: this.opts.timeoutMs }, { cause: err });
      }
      throw new AgentgateError('AGENTGATE_ERR_ARI_DISCONNECTED', { server: this.opts.url }, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) throw new AriHttpError(res.status, text, method, path);
    return (text ? JSON.parse(text) : undefined) as T;
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
  application(app: string): Promise<{ channel_ids: string[]; bridge_ids: string[] }> {
    return this.call('GET', `/applications/${encodeURIComponent(app)}`);
  }
}

/** 404 from Asterisk: the channel or bridge is already gone (done, for a hang-up). */
export function isGone(err: unknown): boolean {
  return err instanceof AriHttpError && err.httpStatus === 404;
}
