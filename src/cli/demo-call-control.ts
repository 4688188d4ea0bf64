/**
 * The call-control part of `agentgate demo` (src/cli/commands/demo.ts), over the real HTTP API with
 * real tokens, as an agent's or a supervisor's client would do it:
 *   - a call answered by alice; GET /v1/calls shows it with the buttons alice may press and, for one
 *     she may not, the policy's reason;
 *   - alice puts the customer on hold: the customer hears music while alice stays on the line; unhold;
 *   - supervisor sam, whose transfer flag is off, tries to send the customer to a number: 403 with
 *     the policy's reasons, nothing sent to Asterisk;
 *   - alice transfers the customer to her colleague bob (direct transfer, blind): bob's devices ring,
 *     one answers, the others are hung up as answered elsewhere (cause 26), alice's leg is released.
 *   - alice's desk phone presses Transfer to an international number (a SIP REFER, which reaches
 *     agentgate because it creates the legs with PJSIP_TRANSFER_HANDLING()=ari-only): refused, the
 *     phone is told 603 Decline;
 */
import type { Daemon } from '../daemon.js';
import type { Simulator } from '../sim/index.js';

/** What the walk-through prints with: a timestamped line, and a section title. */
export interface DemoOutput {
  line(text: string): void;
  title(text: string): void;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

interface Reason {
  name: string;
  passed: boolean;
  detail: string;
}

interface CallJson {
  id: string;
  agent: string;
  state: string;
  endpoint?: string;
  capabilities: Record<string, { allowed: boolean; reasons: Reason[] }>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 50 ms until it returns a value, or undefined after timeoutMs. */
async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T | undefined> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) return undefined;
    await sleep(50);
  }
}

const failed = (reasons: Reason[]): Reason[] => reasons.filter((r) => !r.passed);

/**
 * Runs the call-control walk-through. Precondition: the demo config's alice (hold, hangup, transfer,
 * directTransfer own_group; requeue off), bob (same group, inbound, addresses PJSIP/1002 and
 * PJSIP/2002) and sam (supervisor of their group, transfer off), and no call in progress.
 */
export async function callControlWalkThrough(daemon: Daemon, sim: Simulator, out: DemoOutput): Promise<void> {
  const base = daemon.httpUrl;
  if (base === undefined) {
    out.line('(the HTTP API is off: the call-control part is skipped)');
    return;
  }
  const token: Record<string, string> = {};
  for (const user of ['alice', 'bob', 'sam']) token[user] = await daemon.tokens.issue(user, 'demo');
  const api = async (user: string, method: string, path: string, body?: unknown): Promise<Answer> => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token[user]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const calls = async (user: string): Promise<CallJson[]> => ((await api(user, 'GET', '/v1/calls')).body.calls ?? []) as CallJson[];
  const legOn = (endpoint: string): string | undefined => sim.pbx.channels().find((c) => c.name.startsWith(`${endpoint}-`))?.id;

  out.title('7. Call control: a call from queue support for alice, answered on her desk phone, seen over the HTTP API');
  sim.setEndpoint('PJSIP/1001', { kind: 'answer', afterMs: 800 });
  // Stasis(agentgate,dispatch,alice,,support): the queue is the 4th argument (default ring timeout).
  const call = await sim.dialIn({ args: ['dispatch', 'alice', '', 'support'], callerNumber: '5550102', callerName: 'Customer' });
  const talking = await waitFor(async () => (await calls('alice')).find((c) => c.state === 'talking'));
  if (!talking) {
    out.line('the call was not answered: the call-control part stops here');
    await call.hangup();
    return;
  }
  const id = talking.id;
  out.line(`GET /v1/calls as alice: call ${id}, ${talking.state} on ${talking.endpoint ?? '?'}`);
  const caps = Object.entries(talking.capabilities);
  out.line(
    `   buttons alice may press: ${caps
      .filter(([, c]) => c.allowed)
      .map(([a]) => a)
      .join(', ')}`,
  );
  const missing = caps.find(([a, c]) => !c.allowed && a === 'requeue') ?? caps.find(([, c]) => !c.allowed);
  if (missing)
    out.line(
      `   no ${missing[0]} button: ${failed(missing[1].reasons)
        .map((r) => r.detail)
        .join('; ')}`,
    );

  out.title('8. Alice puts the customer on hold, then takes them back');
  const agentLeg = legOn('PJSIP/1001');
  const held = await api('alice', 'POST', `/v1/calls/${id}/hold`);
  if (held.status === 200) {
    out.line(`POST /v1/calls/${id}/hold → 200: the call is ${(held.body.call as CallJson | undefined)?.state ?? '?'}`);
    out.line(`   the customer hears: ${sim.hears(call.id) ?? '?'} (music on hold)`);
    out.line(
      `   alice's desk phone: ${agentLeg !== undefined && sim.hears(agentLeg) === 'call' ? 'still on the line, in the bridge with the customer' : 'not on the line'}`,
    );
  } else {
    out.line(`POST /v1/calls/${id}/hold → ${held.status}: ${String(held.body.message)}`);
  }
  await sleep(500);
  const back = await api('alice', 'POST', `/v1/calls/${id}/unhold`);
  out.line(
    `POST /v1/calls/${id}/unhold → ${back.status}: ${sim.hears(call.id) === 'music' ? 'the music goes on' : 'the music stops, the customer talks to alice again'}`,
  );

  out.title("9. Transfers the policy refuses: supervisor sam (no transfer flag), then alice's desk phone");
  const refused = await api('sam', 'POST', `/v1/calls/${id}/transfer`, { to: '0612345678' });
  out.line(`POST /v1/calls/${id}/transfer {"to":"0612345678"} as sam → ${refused.status} ${String(refused.body.code)}`);
  const decision = refused.body.decision as { reasons?: Reason[] } | undefined;
  for (const r of failed(decision?.reasons ?? [])) out.line(`   ✗ ${r.name}: ${r.detail}`);
  out.line('   nothing was sent to Asterisk: the customer is still talking to alice');
  await phoneTransferRefused(daemon, sim, out, agentLeg);

  out.title('10. Alice transfers the customer to her colleague bob, who rings on all his devices');
  // Bob's softphone PJSIP/1002 rings on; his mobile PJSIP/2002 answers after a second.
  sim.setEndpoint('PJSIP/2002', { kind: 'answer', afterMs: 1000 });
  const before = new Set(sim.pbx.hangupRecords().map((h) => h.id));
  const direct = await api('alice', 'POST', `/v1/calls/${id}/transfer`, { agent: 'bob', mode: 'blind' });
  if (direct.status !== 200) {
    out.line(`POST /v1/calls/${id}/transfer {"agent":"bob","mode":"blind"} → ${direct.status}: ${String(direct.body.message)}`);
  } else {
    const devices = ((direct.body.transfer as { devices?: string[] } | undefined)?.devices ?? []).join(', ');
    out.line(`POST /v1/calls/${id}/transfer {"agent":"bob","mode":"blind"} → 200: ringing bob on ${devices}`);
    out.line(`   the customer hears: ${sim.hears(call.id) ?? '?'} while bob's devices ring`);
    const bobs = await waitFor(async () => (await calls('bob')).find((c) => c.id === id && c.agent === 'bob' && c.state === 'talking'));
    if (bobs) {
      // Who shares the customer's bridge now (the simulator's view: what Asterisk would have).
      const bobsLeg = bobs.endpoint === undefined ? undefined : legOn(bobs.endpoint);
      const bridge = sim.pbx.bridges().find((b) => b.channels.includes(call.id));
      const withBob = bobsLeg !== undefined && bridge !== undefined && bridge.channels.includes(bobsLeg);
      const music = sim.hears(call.id) === 'music';
      out.line(
        `   bob answered on ${bobs.endpoint ?? '?'}: ${withBob && !music ? 'the music stops, the customer talks to bob' : 'the customer is not with bob'}`,
      );
    } else out.line('   bob did not answer');
    // The legs that ended with the round: bob's other devices, and alice's leg.
    const ended = await waitFor(() => {
      const recs = sim.pbx.hangupRecords().filter((h) => !before.has(h.id) && h.id !== call.id);
      return recs.some((h) => h.name.startsWith('PJSIP/1001-')) ? recs : undefined;
    });
    for (const h of ended ?? []) {
      const who = h.name.startsWith('PJSIP/1001-') ? "alice's desk phone" : "bob's device";
      out.line(`   ${who} ${h.name.slice(0, h.name.lastIndexOf('-'))} hung up: ${h.causeTxt} (cause ${h.cause})`);
    }
    const alices = await calls('alice');
    out.line(`   alice is released: GET /v1/calls as alice lists ${alices.length === 0 ? 'no call' : `${alices.length} call(s)`}`);
  }
  await sleep(500);
  out.line('the customer hangs up');
  await call.hangup();
  await call.ended();
  await sleep(300);
}

/** A REFER to this number needs the internationalTransfer flag, which alice lacks (calls.internationalPrefixes: 00). */
const INTERNATIONAL = '00441632960000';

/** alice's desk phone presses Transfer (REFER) to an international number: the NOTIFYs it gets, and the policy's reasons. */
async function phoneTransferRefused(daemon: Daemon, sim: Simulator, out: DemoOutput, agentLeg: string | undefined): Promise<void> {
  if (agentLeg === undefined) {
    out.line("alice's desk phone is not on the call: no Transfer key to press");
    return;
  }
  sim.phoneRefer(agentLeg, INTERNATIONAL);
  const notifies = await waitFor(() => {
    const n = sim.transferNotifies(agentLeg);
    return n.some((f) => !f.includes(' 100 ')) ? n : undefined;
  });
  out.line(
    `alice's desk phone presses Transfer to ${INTERNATIONAL} (SIP REFER); the phone is told: ${(notifies ?? ['nothing']).join(', ')}`,
  );
  const [audit] = await daemon.store.queryAudit({ kind: 'call-action', actor: 'alice', limit: 1 });
  const reasons = (audit?.detail as { decision?: { reasons?: Reason[] } } | undefined)?.decision?.reasons ?? [];
  for (const r of failed(reasons)) out.line(`   ✗ ${r.name}: ${r.detail}`);
  out.line(
    `   the call goes on: the customer is ${sim.pbx.channel(agentLeg) === undefined ? 'no longer with alice' : 'still talking to alice'}`,
  );
}
