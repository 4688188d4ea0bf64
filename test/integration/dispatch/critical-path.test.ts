/**
 * Issue 13, "Speed on the real Asterisk": from the winner's Dial ANSWER to the bridge request, one
 * REST round trip. The minimal raw ARI ring-all measured on a real Asterisk 22.7 sends only
 * `addChannel` on that path; agentgate used to wait for the caller's `POST /answer` first (two
 * round trips in sequence). Counted here on what agentgate sends, through a recording CallControl
 * around the real ARI adapter, against the simulator over real sockets.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import type { CallControl } from '../../../src/ports/call-control.js';
import type { DispatchService, TimelineEvent } from '../../../src/app/dispatch-service.js';
import type { Store } from '../../../src/ports/store.js';
import { makeStore, scripts, startService, until } from '../../support/dispatch-harness.js';

const NOT_REQUESTS = new Set(['listen', 'isConnected', 'problem', 'close', 'isGone']);

/** Every request agentgate sends, its answer, and the Dial events it receives, in one sequence. */
function recording(inner: CallControl, seq: string[]): CallControl {
  const out = { ...inner } as Record<string, unknown>;
  for (const [name, fn] of Object.entries(inner)) {
    if (NOT_REQUESTS.has(name) || typeof fn !== 'function') continue;
    out[name] = (...args: unknown[]) => {
      const id = typeof args[0] === 'string' ? args[0] : '';
      seq.push(`${name} ${id}`);
      const p = (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      return p.then((v) => {
        seq.push(`answered ${name} ${id}`);
        return v;
      });
    };
  }
  out.listen = (h: Parameters<CallControl['listen']>[0]) =>
    inner.listen({
      ...h,
      event: (e) => {
        if (e.type === 'Dial' && e.dialstatus === 'ANSWER') seq.push(`event ANSWER ${e.peer.id}`);
        return h.event(e);
      },
    });
  return out as unknown as CallControl;
}

describe("the winner's answer → bridge critical path (issue 13)", () => {
  let sim: Simulator;
  let store: Store;
  let cleanup: () => Promise<void>;
  let svc: DispatchService;
  let seq: string[];

  beforeEach(async () => {
    sim = await Simulator.start();
    ({ store, cleanup } = await makeStore('memory'));
    seq = [];
    svc = await startService(sim, store, { wrapCalls: (c) => recording(c, seq) });
  });
  afterEach(async () => {
    await svc.stop();
    await sim.stop();
    await cleanup();
  });

  it("the only request between the winner's Dial ANSWER and the bridge request is the bridge request; the losers are hung up as soon as it answered", async () => {
    scripts(sim, { 'PJSIP/2001': { kind: 'ring' }, 'PJSIP/2002': { kind: 'answer', afterMs: 50 }, 'PJSIP/2003': { kind: 'ring' } });
    const bridged = new Promise<void>((resolve) => svc.on('timeline', (t: TimelineEvent) => t.kind === 'bridged' && resolve()));
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    await bridged;
    await until(() => sim.pbx.channels().length === 2, 3000, 'the losers gone');
    const from = seq.findIndex((s) => s.startsWith('event ANSWER'));
    expect(from).toBeGreaterThanOrEqual(0);
    const after = seq.slice(from + 1).filter((s) => !s.startsWith('answered '));
    // Sent at once on the answer event: the join first, the caller's answer beside it (not before).
    expect(after[0]).toBe(`addChannels ${sim.pbx.bridges()[0]!.id}`);
    expect(after[1]).toBe(`answer ${call.id}`);
    // Once the join answered, the next requests are the losers' hang-ups: nothing else waits before them.
    const joined = seq.findIndex((s) => s.startsWith('answered addChannels'));
    const next = seq.slice(joined + 1).filter((s) => !s.startsWith('answered '));
    expect(next.slice(0, 2).map((s) => s.split(' ')[0])).toEqual(['hangup', 'hangup']);
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0, 3000, 'clean');
  });
});
