/**
 * ari-client stops reconnecting for good after 10 tries (~43 s: 100 ms doubling to 10 s) and emits
 * WebSocketMaxRetries (REFERENCE.md). agentgate starts it again. This runs in real time (~45 s):
 * ari-client's backoff cannot be shortened from outside, and faking its timers would fake the sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import type { AriEvents } from '../../../src/adapters/ari/events.js';
import { until } from '../../support/dispatch-harness.js';
import { recordEvents } from '../../support/ari-events.js';

let sim: Simulator | undefined;
let events: AriEvents | undefined;
afterEach(async () => {
  await events?.stop();
  await sim?.stop();
});

describe('ARI reconnect', () => {
  it('keeps trying after ari-client gives up: Asterisk away until ari-client gives up (~43 s), then back: the app is connected and receives events again', async () => {
    sim = await Simulator.start();
    const rec = await recordEvents(sim, { restartAfterGiveUpMs: 500 });
    events = rec.events;
    sim.faults.dropAriWebsockets(50_000); // every upgrade refused with 503 until cleared
    await until(
      () => rec.warnings.some((w) => w.startsWith('ARI reconnect attempts exhausted; starting over')),
      55_000,
      'ari-client to give up',
    );
    expect(events.isConnected()).toBe(false);
    sim.faults.clear(); // Asterisk answers again
    await until(() => rec.connects === 2 && rec.events.isConnected(), 15_000, 'connected again');
    const call = await sim.dialIn({ args: ['x'] });
    expect(call.failed).toBe(false);
    await until(() => rec.starts.includes(call.id), 3000, 'events flow');
    await call.hangup();
  }, 80_000);
});
