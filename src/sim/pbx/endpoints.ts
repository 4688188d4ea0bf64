/**
 * Endpoints: the recorded PJSIP phones and the recorded [agents] dialplan context, as scripts a
 * dialled channel follows, and the endpoints as GET /endpoints shows them.
 */
import { PbxError, splitEndpoint, type EndpointJson, type EndpointScript } from './model.js';
import type { PbxState } from './state.js';

/** The recorded PJSIP phones (asterisk-etc/pjsip.conf): 1001 answers after 1 s, 1002 rings, 1003 busy, 1004 offline. */
export const DEFAULT_ENDPOINTS: Readonly<Record<string, EndpointScript>> = {
  'PJSIP/1001': { kind: 'answer', afterMs: 1000 },
  'PJSIP/1002': { kind: 'ring' },
  'PJSIP/1003': { kind: 'busy' },
  'PJSIP/1004': { kind: 'offline' },
};

/** The recorded [agents] context, as scripts for `Local/<exten>@agents`. */
const AGENTS_CONTEXT: Readonly<Record<string, EndpointScript>> = {
  answer: { kind: 'answer', afterMs: 0 },
  answer1s: { kind: 'answer', afterMs: 1000 },
  ring: { kind: 'ring' },
  busy: { kind: 'busy' },
  congestion: { kind: 'congestion' },
  noanswer: { kind: 'noanswer', afterMs: 2000 },
  unavail: { kind: 'unavailable' },
  static: { kind: 'answer', afterMs: 0 },
};

/**
 * What a channel to `endpoint` will do when dialled. A Local channel follows its script if a test
 * set one, else the [agents] extension, else it rings. An unknown or offline endpoint, or a
 * technology other than PJSIP/SIP/IAX2, cannot be allocated (500, as Asterisk answers).
 */
export function resolveScript(s: PbxState, endpoint: string): { tech: string; resource: string; script: EndpointScript } {
  const { tech, resource } = splitEndpoint(endpoint);
  if (tech === 'Local') {
    const [exten, context] = resource.split('@') as [string, string | undefined];
    const script = s.scripts.get(endpoint) ?? (context === 'agents' ? AGENTS_CONTEXT[exten] : undefined) ?? { kind: 'ring' as const };
    return { tech, resource, script };
  }
  const script = s.scripts.get(`${tech}/${resource}`);
  if (!script || script.kind === 'offline' || (tech !== 'PJSIP' && tech !== 'SIP' && tech !== 'IAX2'))
    throw new PbxError(500, { error: 'Allocation failed' });
  return { tech, resource, script };
}

/** One endpoint (`PJSIP/1001`) as GET /endpoints/{tech}/{resource} shows it, or undefined. */
export function endpointJson(s: PbxState, key: string): EndpointJson | undefined {
  const script = s.scripts.get(key);
  if (!script) return undefined;
  const slash = key.indexOf('/');
  return {
    technology: key.slice(0, slash),
    resource: key.slice(slash + 1),
    state: script.kind === 'offline' ? 'offline' : 'online',
    channel_ids: [...(s.byEndpoint.get(key) ?? [])],
  };
}

/** GET /endpoints: the PJSIP endpoints (a Local script is dialplan, not an endpoint). */
export function endpointList(s: PbxState): EndpointJson[] {
  const out: EndpointJson[] = [];
  for (const k of s.scripts.keys()) {
    const e = k.startsWith('PJSIP/') ? endpointJson(s, k) : undefined;
    if (e) out.push(e);
  }
  return out;
}
