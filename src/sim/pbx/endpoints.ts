/**
 * Endpoints: the recorded PJSIP phones and the recorded [agents] dialplan context, as scripts a
 * dialled channel follows, and the endpoints as GET /endpoints shows them.
 */
import { PbxError, splitEndpoint, type EndpointJson, type EndpointScript } from './model.js';
import type { PbxState } from './state.js';

/**
 * The recorded PJSIP phones (asterisk-etc/pjsip.conf and pjsip-callcontrol.conf): 1001 answers after
 * 1 s, 1002 rings, 1003 busy, 1004 offline, 1005 answers after 1 s (the supervisor of the snoop
 * recording), 1006 answers after 1 s and sends INFO DTMF `1` (160 ms) 500 ms later, 1007 answers
 * after 1 s and REFERs to 1003 1 s later.
 */
export const DEFAULT_ENDPOINTS: Readonly<Record<string, EndpointScript>> = {
  'PJSIP/1001': { kind: 'answer', afterMs: 1000 },
  'PJSIP/1002': { kind: 'ring' },
  'PJSIP/1003': { kind: 'busy' },
  'PJSIP/1004': { kind: 'offline' },
  'PJSIP/1005': { kind: 'answer', afterMs: 1000 },
  'PJSIP/1006': { kind: 'answer', afterMs: 1000, then: [{ afterMs: 500, do: 'dtmf', digit: '1', durationMs: 160 }] },
  'PJSIP/1007': { kind: 'answer', afterMs: 1000, then: [{ afterMs: 1000, do: 'refer', destination: '1003' }] },
};

/** An endpoint's `context` (pjsip.conf): where its calls, and blind transfers it makes, land. */
export function endpointContext(endpoint: string): string {
  return endpoint === 'PJSIP/1007' ? 'rec-xfer' : 'from-internal';
}

/** Where a SIP phone can be reached (its registered contact): `sip:1005@127.0.0.1:5075` for the recorded ones. */
export function endpointContact(resource: string): string {
  const m = /^100(\d)$/.exec(resource);
  return m ? `sip:${resource}@127.0.0.1:507${m[1]!}` : `sip:${resource}@127.0.0.1`;
}

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
    const script = s.scripts.get(endpoint) ??
      (context === 'agents' ? AGENTS_CONTEXT[exten] : undefined) ??
      // [rec-out] (an outside number) and [rec-xfer] (a transfer's target) answer at once.
      (context === 'rec-out' || context === 'rec-xfer' ? { kind: 'answer' as const, afterMs: 0 } : undefined) ?? { kind: 'ring' as const };
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
