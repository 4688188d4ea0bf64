/**
 * ari-client stops reconnecting for good after 10 tries (~43 s: 100 ms doubling to 10 s) and emits
 * WebSocketMaxRetries (REFERENCE.md). agentgate starts it again. This runs in real time (~45 s):
 * ari-client's backoff cannot be shortened from outside, and faking its timers would fake the sockets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import { AriEvents } from '../../../src/adapters/ari/events.js';
import { silentLogger } from '../../../src/log.js';
import { until } from '../../support/dispatch-harness.js';

let sim: Simulator | undefined;
let events: AriEvents | undefined;
afterEach(async () => {
  await events?.stop();
  await sim?.stop();
});

describe('ARI reconnect', () => {
  it('keeps trying after ari-client gives up: Asterisk away until ari-client gives up (~43 s), then back: the app is connected and receives events again', async () => {
    sim = await Simulator.start();
    let connects = 0;
    const warnings: string[] = [];
    const logger = silentLogger();
    logger.warn = ((_obj: unknown, msg?: string) => void warnings.push(msg ?? '')) as typeof logger.warn;
    const starts: string[] = [];
    events = new AriEvents({
      url: sim.ariUrl,
      username: 'agentgate',
      password: 'secret',
      app: 'agentgate',
      pingIntervalMs: 1000,
      logger,
      restartAfterGiveUpMs: 500,
      onEvent: (e) => {
        if (e.type === 'StasisStart') starts.push((e.channel as { id: string }).id);
      },
      onConnected: () => connects++,
      onDisconnected: () => undefined,
    });
    await events.start();
    sim.faults.dropAriWebsockets(50_000); // every upgrade refused with 503 until cleared
    await until(() => warnings.includes('ARI reconnect attempts exhausted; starting over'), 55_000, 'ari-client to give up');
    expect(events.isConnected()).toBe(false);
    sim.faults.clear(); // Asterisk answers again
    await until(() => connects === 2 && events!.isConnected(), 15_000, 'connected again');
    const call = await sim.dialIn({ args: ['x'] });
    expect(call.failed).toBe(false);
    await until(() => starts.includes(call.id), 3000, 'events flow');
    await call.hangup();
  }, 80_000);
});
