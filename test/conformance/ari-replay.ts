/**
 * Replays one ARI recording of test/fixtures/asterisk-22.7/recordings against the simulator — the
 * same REST requests at the same moments, a websocket for the app as the recording had — and
 * compares what comes back with what Asterisk 22.7 sent:
 * - each REST exchange: status code; error bodies exactly; success bodies by their field names;
 * - per channel the recording's scenario created: the sequence of call events (StasisStart,
 *   StasisEnd, ChannelStateChange+state, Dial+dialstatus, ChannelHangupRequest+cause,
 *   ChannelDestroyed+cause, ChannelEnteredBridge/LeftBridge, and the call-control events
 *   ChannelTransfer+state, ChannelHold/Unhold, BridgeBlindTransfer, ChannelDtmfReceived+digit), and
 *   per event type the field names (for the call-control events, every shape they came in, nested).
 * The `;2` halves of originated Local legs are compared like any channel; ChannelCallerId and
 * ChannelConnectedLine by count (see identityCounts). Channels Asterisk named itself (a snoop
 * without snoopId, the Local channel of a REFER) are matched to the simulator's by the response
 * or event that made them, and later requests naming them go to the simulator's id.
 * Not compared: ChannelVarset, the number of ChannelDialplan steps, ids, names and timestamps.
 * A recording's phone actions (the INFO DTMF of 1006, the REFER of 1007) are the simulator's
 * scripts of those phones (EndpointScript `then`), at the recorded delay after the answer.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, vi } from 'vitest';
import WebSocket from 'ws';
import { Simulator } from '../../src/sim/index.js';

export const ROOT = new URL('../fixtures/asterisk-22.7/recordings/', import.meta.url).pathname;

interface Line {
  t: number;
  kind: 'scenario' | 'rest' | 'event' | 'ws' | 'sip' | 'note';
  method?: string;
  path?: string;
  body?: unknown;
  status?: number;
  response?: unknown;
  event?: Record<string, unknown>;
  note?: string;
}

type Ev = Record<string, unknown>;

/** Events of the call itself: compared as a sequence per channel. */
const CALL = [
  'StasisStart',
  'StasisEnd',
  'ChannelStateChange',
  'Dial',
  'ChannelHangupRequest',
  'ChannelDestroyed',
  'ChannelEnteredBridge',
  'ChannelLeftBridge',
  'BridgeDestroyed',
  'ApplicationReplaced',
];
/** Call-control events: in the sequence too, and their every shape compared. */
const CALL_CONTROL = ['ChannelTransfer', 'ChannelHold', 'ChannelUnhold', 'BridgeBlindTransfer', 'ChannelDtmfReceived'];
const COMPARED = new Set([...CALL, ...CALL_CONTROL]);

/** The recordings of one folder (`ari`, `ari-pjsip`, `ari-callcontrol`), as paths below ROOT. */
export function recordings(dir: string): string[] {
  return readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => join(dir, f))
    .sort();
}

function read(file: string): Line[] {
  return readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
}

/** Field names of a value, recursively (arrays: the union over their items). */
function shape(v: unknown): unknown {
  if (Array.isArray(v)) {
    const keys = new Map<string, unknown>();
    for (const item of v)
      if (item && typeof item === 'object') for (const [k, x] of Object.entries(shape(item) as Record<string, unknown>)) keys.set(k, x);
    return v.length === 0 ? [] : [Object.fromEntries([...keys.entries()].sort(([a], [b]) => a.localeCompare(b)))];
  }
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, x]) => [k, x && typeof x === 'object' ? shape(x) : typeof x]),
    );
  }
  return typeof v;
}

/** One comparable token per event: type plus what matters for a dispatcher. */
function token(e: Ev): string {
  switch (e.type) {
    case 'ChannelStateChange':
      return `ChannelStateChange(${(e.channel as { state: string }).state})`;
    case 'Dial':
      return `Dial(${String(e.dialstatus)})`;
    case 'ChannelHangupRequest':
      return `ChannelHangupRequest(${String(e.cause)}${e.soft ? ',soft' : ''})`;
    case 'ChannelDestroyed':
      return `ChannelDestroyed(${String(e.cause)} ${String(e.cause_txt)})`;
    case 'StasisStart':
      return `StasisStart(${(e.args as string[]).join(',')}${e.replace_channel ? ' replacing' : ''})`;
    case 'ChannelTransfer':
      return `ChannelTransfer(${String(e.state ?? '')})`;
    case 'ChannelDtmfReceived':
      return `ChannelDtmfReceived(${String(e.digit)} ${String(e.duration_ms)})`;
    case 'BridgeBlindTransfer':
      return `BridgeBlindTransfer(${String(e.result)} ${String(e.context)}/${String(e.exten)})`;
    default:
      return String(e.type);
  }
}

function channelOf(e: Ev): string | undefined {
  if (e.type === 'ChannelTransfer') return (e.referred_by as { source_channel?: { id?: string } }).source_channel?.id;
  const c = (e.channel ?? e.peer) as { id?: string } | undefined;
  if (c?.id) return c.id;
  const b = e.bridge as { id?: string } | undefined;
  return b?.id ? `bridge:${b.id}` : e.type === 'ApplicationReplaced' ? 'app' : undefined;
}

/** Channel and bridge ids the scenario itself created (so stray events of earlier scenarios are ignored). */
function ownIds(lines: Line[]): Set<string> {
  const ids = new Set<string>(['app']);
  for (const l of lines) {
    if (l.kind !== 'rest' || !l.path) continue;
    const q = new URLSearchParams(l.path.split('?')[1] ?? '');
    for (const k of ['channelId', 'otherChannelId', 'snoopId']) {
      const v = q.get(k);
      if (v) {
        ids.add(v);
        ids.add(`${v};2`); // the far half of a Local leg
      }
    }
    const snoop = /^\/channels\/[^/]+\/snoop\/([^/?]+)/.exec(l.path);
    if (snoop && l.status === 200) ids.add(decodeURIComponent(snoop[1]!));
    const b = q.get('bridgeId');
    if (b) ids.add(`bridge:${b}`);
  }
  return ids;
}

/** Ids Asterisk chose itself: snoop channels made without an id, Local channels made by a REFER. */
function namedByAsterisk(lines: Line[]): { snoops: string[]; replacing: string[] } {
  const snoops: string[] = [];
  const replacing: string[] = [];
  for (const l of lines) {
    if (l.kind === 'rest' && l.status === 200 && /^\/channels\/[^/]+\/snoop\?/.test(l.path ?? '') && !/[?&]snoopId=/.test(l.path ?? ''))
      snoops.push((l.response as { id: string }).id);
    if (l.kind === 'event' && l.event?.type === 'StasisStart' && l.event.replace_channel)
      replacing.push((l.event.channel as { id: string }).id);
  }
  return { snoops, replacing };
}

/**
 * Asterisk itself is not deterministic about one order: whether a leg's Ringing state change or the
 * Dial "" / Dial RINGING events of its /dial come first (several orders appear in
 * pjsip-ringall-create-dial and ari-callcontrol for identical phones). That run is put in a fixed
 * order on both sides.
 */
function canonical(tokens: string[]): string[] {
  const out = [...tokens];
  // A leg starting to ring: Dial "", Ringing and Dial RINGING come in any order (all three orders
  // are recorded); each such run is put in one order.
  const RINGING = ['Dial()', 'ChannelStateChange(Ringing)', 'Dial(RINGING)'];
  for (let i = 0; i < out.length; i++) {
    let j = i;
    while (j < out.length && RINGING.includes(out[j]!)) j++;
    if (j - i > 1) out.splice(i, j - i, ...out.slice(i, j).sort((a, b) => RINGING.indexOf(a) - RINGING.indexOf(b)));
    i = j;
  }
  return out;
}

function perChannel(events: Ev[], own: Set<string>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of events) {
    if (!COMPARED.has(String(e.type))) continue;
    const id = channelOf(e);
    if (!id || !own.has(id)) continue;
    (out[id] ??= []).push(token(e));
  }
  for (const k of Object.keys(out)) out[k] = canonical(out[k]!);
  return out;
}

function fieldsPerType(events: Ev[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const e of events) {
    if (!COMPARED.has(String(e.type))) continue;
    const set = (out[String(e.type)] ??= new Set());
    for (const k of Object.keys(e)) set.add(k);
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

/** Every distinct shape (nested field names) each call-control event type came in. */
function callControlShapes(events: Ev[]): Record<string, string[]> {
  const out: Record<string, Set<string>> = {};
  for (const e of events) {
    if (!CALL_CONTROL.includes(String(e.type))) continue;
    (out[String(e.type)] ??= new Set()).add(JSON.stringify(shape(e)));
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

/**
 * How many ChannelCallerId (far halves taking the originator's caller id) and ChannelConnectedLine
 * (created legs learning their originator) each channel got: compared as counts, since Asterisk
 * interleaves them with dialplan steps differently from run to run. Callers' connected-line
 * updates on bridging vary between recordings and are not compared.
 */
function identityCounts(events: Ev[], own: Set<string>, created: Set<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    const id = channelOf(e);
    if (!id || !own.has(id)) continue;
    if (e.type === 'ChannelCallerId' || (e.type === 'ChannelConnectedLine' && created.has(id)))
      out[`${id} ${String(e.type)}`] = (out[`${id} ${String(e.type)}`] ?? 0) + 1;
  }
  return out;
}

/**
 * Whether a recorded event may be the effect of the request itself: the recorder logged a REST
 * exchange when its answer came, so what the request caused can be logged before it (a caller's
 * ChannelStateChange Up before its /answer). Such events are not waited for before sending it.
 */
function causedBy(method: string, path: string, tok: string): boolean {
  const p = path.split('?')[0] ?? '';
  if (method === 'DELETE' && /^\/channels\/[^/]+$/.test(p))
    return /^(ChannelHangupRequest|ChannelLeftBridge|StasisEnd|ChannelDestroyed)/.test(tok);
  if (p.endsWith('/answer')) return tok === 'ChannelStateChange(Up)';
  if (p.endsWith('/addChannel')) return tok === 'ChannelEnteredBridge';
  if (p.endsWith('/removeChannel')) return tok === 'ChannelLeftBridge';
  if (p.endsWith('/continue')) return tok === 'ChannelLeftBridge' || tok === 'StasisEnd';
  if (p.endsWith('/dial')) return /^(Dial|ChannelStateChange\(Ringing\))/.test(tok);
  if (p.endsWith('/transfer_progress')) return tok.startsWith('ChannelTransfer(') && tok !== 'ChannelTransfer()';
  return false;
}

/** The channels a REST call names: /channels/{id}[/...] and ?channel=a,b (bridges' addChannel/removeChannel). */
function targets(path: string): string[] {
  const [p, q] = path.split('?');
  const out = (new URLSearchParams(q ?? '').get('channel') ?? '').split(',').filter(Boolean);
  const m = /^\/channels\/([^/]+)/.exec(p ?? '');
  if (m && m[1] !== 'create') out.push(decodeURIComponent(m[1]!));
  return out;
}

function createdIds(lines: Line[]): Set<string> {
  const ids = new Set<string>();
  for (const l of lines) {
    if (l.kind !== 'rest' || !l.path?.startsWith('/channels/create')) continue;
    const v = new URLSearchParams(l.path.split('?')[1] ?? '').get('channelId');
    if (v) ids.add(v);
  }
  return ids;
}

/** Puts the recording's ids for the channels Asterisk named into the simulator's events (deep). */
function renamed(v: unknown, back: Map<string, string>): unknown {
  if (Array.isArray(v)) return v.map((x) => renamed(x, back));
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [
        k,
        k === 'id' && typeof x === 'string' ? (back.get(x) ?? x) : renamed(x, back),
      ]),
    );
  return v;
}

/** Replays `file` (a path below ROOT) against a fresh simulator, handed to onStart at once (the caller stops it). */
export async function replay(file: string, onStart: (sim: Simulator) => void): Promise<void> {
  const lines = read(file);
  // Local legs enter Stasis 150 ms after create here (3 ms recorded): the replay sends the /dial
  // the recording shows as early as it can, and a loaded machine must not let it land late.
  const sim = await Simulator.start({ localStasisDelayMs: 150 });
  onStart(sim);
  const base = sim.ariUrl;
  const auth = `Basic ${Buffer.from('agentgate:secret').toString('base64')}`;
  const got: Ev[] = [];
  const sockets: WebSocket[] = [];
  const open = async (): Promise<WebSocket> => {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ari/events?app=agentgate&api_key=agentgate:secret`);
    ws.on('message', (d) => got.push(JSON.parse(String(d)) as Ev));
    await new Promise((r) => ws.once('open', r));
    sockets.push(ws);
    return ws;
  };
  const hasWsNotes = lines.some((l) => l.kind === 'ws');
  let current: WebSocket | undefined = hasWsNotes ? undefined : await open();
  if (file.endsWith('application-replaced.jsonl')) await open(); // the second websocket of the same app
  const named = namedByAsterisk(lines);
  /** recorded id → the simulator's, and back. */
  const toSim = new Map<string, string>();
  const back = new Map<string, string>();
  const link = (recorded: string, mine: string): void => {
    toSim.set(recorded, mine);
    back.set(mine, recorded);
  };
  const linkReplacing = (): void => {
    const mine = got.filter((e) => e.type === 'StasisStart' && e.replace_channel).map((e) => (e.channel as { id: string }).id);
    named.replacing.forEach((r, i) => {
      if (mine[i] !== undefined) link(r, mine[i]);
    });
  };
  const restDiffs: string[] = [];
  let prevRestT = 0;
  const t0 = Date.now();
  for (const l of lines) {
    // Only requests and websocket moves are replayed in time; `sip` lines and `note`s only tell.
    if (l.kind !== 'rest' && l.kind !== 'ws') continue;
    const wait = l.t - (Date.now() - t0);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (l.kind === 'ws') {
      if (l.note?.includes('open')) current = await open();
      else if (l.note?.includes('closed')) {
        current?.close();
        current = undefined;
      }
      continue;
    }
    // The client in the recording acted after it had seen the events of the channels it names:
    // wait until as many of them have arrived here (timing alone loses the race on a loaded machine).
    for (const id of targets(l.path ?? '')) {
      const seen = (evs: Ev[], which: string): number => evs.filter((e) => COMPARED.has(String(e.type)) && channelOf(e) === which).length;
      const need = seen(
        lines
          .filter((e) => e.kind === 'event' && e.t <= l.t)
          .filter((e) => e.t <= prevRestT || !causedBy(l.method ?? '', l.path ?? '', token(e.event!)))
          .map((e) => e.event!),
        id,
      );
      // Not there within 3 s: send the request anyway; the missing events show in the comparison below.
      await vi
        .waitFor(
          () => {
            linkReplacing();
            expect(seen(got, toSim.get(id) ?? id)).toBeGreaterThanOrEqual(need);
          },
          { timeout: 3000, interval: 10 },
        )
        .catch(() => undefined);
    }
    prevRestT = l.t;
    linkReplacing();
    const path = (l.path ?? '').replace(/^\/channels\/([^/?]+)/, (all, id: string) => {
      const mine = toSim.get(decodeURIComponent(id));
      return mine === undefined ? all : `/channels/${encodeURIComponent(mine)}`;
    });
    const res = await fetch(`${base}/ari${path}`, {
      method: l.method,
      headers: { Authorization: auth, ...(l.body ? { 'Content-Type': 'application/json' } : {}) },
      body: l.body ? JSON.stringify(l.body) : undefined,
    });
    const text = await res.text();
    const body = text ? (JSON.parse(text) as unknown) : null;
    const recordedSnoop = named.snoops.find((id) => (l.response as { id?: string } | undefined)?.id === id);
    if (recordedSnoop && body && typeof body === 'object' && 'id' in body) link(recordedSnoop, String(body.id));
    const where = `${l.method} ${l.path}`;
    if (res.status !== l.status) restDiffs.push(`${where}: status ${res.status}, Asterisk ${l.status} (${JSON.stringify(body)})`);
    else if ((l.status ?? 0) >= 400) {
      if (JSON.stringify(body) !== JSON.stringify(l.response))
        restDiffs.push(`${where}: body ${JSON.stringify(body)}, Asterisk ${JSON.stringify(l.response)}`);
    } else if (JSON.stringify(shape(body)) !== JSON.stringify(shape(l.response))) {
      restDiffs.push(`${where}: fields ${JSON.stringify(shape(body))}\n      Asterisk ${JSON.stringify(shape(l.response))}`);
    }
  }
  // A quiet window, not a wait for an event: an event the simulator sends after the last one
  // Asterisk sent (a stray hang-up request, a second StasisEnd) can only be seen by waiting.
  await new Promise((r) => setTimeout(r, 300));
  for (const ws of sockets) ws.close();

  const own = ownIds(lines);
  for (const r of [...named.snoops, ...named.replacing]) own.add(r);
  const mine = got.map((e) => renamed(e, back) as Ev);
  const recorded = lines.filter((l) => l.kind === 'event').map((l) => l.event!);
  expect(perChannel(mine, own), `event sequences per channel in ${file}`).toEqual(perChannel(recorded, own));
  expect(restDiffs, `REST differences in ${file}`).toEqual([]);
  const created = createdIds(lines);
  expect(identityCounts(mine, own, created), `caller-id and connected-line events in ${file}`).toEqual(
    identityCounts(recorded, own, created),
  );
  const ours = recorded.filter((e) => own.has(channelOf(e) ?? ''));
  const myFields = fieldsPerType(mine);
  const theirs = fieldsPerType(ours);
  for (const type of Object.keys(theirs)) if (myFields[type]) expect(myFields[type], `fields of ${type} in ${file}`).toEqual(theirs[type]);
  expect(callControlShapes(mine.filter((e) => own.has(channelOf(e) ?? ''))), `call-control event shapes in ${file}`).toEqual(
    callControlShapes(ours),
  );
}
