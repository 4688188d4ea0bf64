/**
 * The ChannelLookup port over ARI REST (GET /channels/{id}), one AriRest per Asterisk server that
 * has ARI configured. A server without ARI cannot prove who raised a feature code: asking about it
 * rejects, so the caller refuses the UserEvent.
 */
import { AgentgateError } from '../../errors/codes.js';
import type { ChannelInfo, ChannelLookup } from '../../ports/channel-lookup.js';
import { AriRest, isGone } from './rest.js';

/** What Asterisk prints as a Uniqueid (`1795533617.53`, `<systemname>-1795533617.53`, or an ARI-chosen id). */
const UNIQUEID = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;

export interface AriChannelLookup extends ChannelLookup {
  close(): void;
}

export function createAriChannelLookup(
  servers: ReadonlyArray<{ name: string; ari?: { url: string; username: string; password: string; restTimeoutMs: number } }>,
): AriChannelLookup {
  const rest = new Map<string, AriRest>();
  for (const s of servers) {
    if (s.ari === undefined) continue;
    rest.set(s.name, new AriRest({ url: s.ari.url, username: s.ari.username, password: s.ari.password, timeoutMs: s.ari.restTimeoutMs }));
  }
  return {
    async channel(server, id): Promise<ChannelInfo | null> {
      const r = rest.get(server);
      if (!r)
        throw new AgentgateError(
          'AGENTGATE_ERR_ARI_DISCONNECTED',
          { server },
          { message: `no ARI configured for ${server}: cannot check the channel` },
        );
      // A made-up id could be a path ('..'): it names no channel.
      if (!UNIQUEID.test(id)) return null;
      let json: unknown;
      try {
        json = await r.call('GET', `/channels/${encodeURIComponent(id)}`);
      } catch (err) {
        if (isGone(err)) return null;
        throw err;
      }
      const c = json as { id?: unknown; name?: unknown; dialplan?: { context?: unknown; exten?: unknown } } | null;
      if (
        typeof c !== 'object' ||
        c === null ||
        c.id !== id ||
        typeof c.name !== 'string' ||
        typeof c.dialplan?.context !== 'string' ||
        typeof c.dialplan.exten !== 'string'
      ) {
        throw new AgentgateError('AGENTGATE_ERR_ARI_FAILED', { operation: `GET /channels/${id}`, detail: 'unexpected answer' });
      }
      return { name: c.name, context: c.dialplan.context, exten: c.dialplan.exten };
    },
    close() {
      for (const r of rest.values()) r.close();
    },
  };
}
