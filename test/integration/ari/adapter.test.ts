/**
 * The ARI adapter's answers to ari-client's traps (REFERENCE.md), against the simulator:
 * a listener that throws never stops event delivery; REST calls time out; a dropped websocket is
 * reconnected and reported; a half-open socket is caught by the keepalive. (reconnect-forever.test.ts:
 * reconnecting goes on after ari-client gives up.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../../src/sim/index.js';
import type { AriEvents } from '../../../src/adapters/ari/events.js';
import { AriRest } from '../../../src/adapters/ari/rest.js';
import { until } from '../../support/dispatch-harness.js';
import { recordEvents } from '../../support/ari-events.js';

let sim: Simulator | undefined;
let events: AriEvents | undefined;
afterEach(async () => {
  await events?.stop();
  await sim?.stop();
  events = undefined;
  sim = undefined;
});

describe('ARI adapter', () => {
  it('a listener that throws is logged and event delivery goes on', async () => {
    sim = await Simulator.start();
    let calls = 0;
    const rec = await recordEvents(sim, {
      onEvent: () => {
        if (++calls === 1) throw new Error('a bug in a handler');
      },
    });
    events = rec.events;
    const a = await sim.dialIn({ args: ['x'] });
    const b = await sim.dialIn({ args: ['y'] });
    await until(() => rec.types.filter((t) => t === 'StasisStart').length === 2, 3000, 'both StasisStarts delivered');
    await a.hangup();
    await b.hangup();
  });

  it('malformed JSON, an event type events.json does not declare and a frame without a type are logged, and delivery goes on', async () => {
    sim = await Simulator.start();
    const rec = await recordEvents(sim);
    events = rec.events;
    // ari-client alone stops delivering after any of these (REFERENCE.md); agentgate reads the frames itself.
    expect(sim.faults.sendRawAriFrame('{"type": "StasisStart", "channel": ')).toBe(true);
    expect(sim.faults.sendRawAriFrame(JSON.stringify({ type: 'ChannelTelepathy', application: 'agentgate', channel: { id: 'x' } }))).toBe(
      true,
    );
    expect(sim.faults.sendRawAriFrame('[1,2,3]')).toBe(true);
    const call = await sim.dialIn({ args: ['x'] });
    await until(() => rec.types.includes('StasisStart'), 3000, 'the StasisStart after the bad frames');
    expect(rec.types).not.toContain('ChannelTelepathy');
    expect(rec.warnings.some((w) => w.includes('not JSON'))).toBe(true);
    expect(rec.warnings.some((w) => w.includes('without a type'))).toBe(true);
    await call.hangup();
  });

  it('an event of a consumed type with a missing or wrong-typed field is logged naming the field and dropped; delivery goes on', async () => {
    sim = await Simulator.start();
    const rec = await recordEvents(sim);
    events = rec.events;
    const channel = { id: 'c-1', name: 'PJSIP/x-1', state: 'Up', caller: { number: '1', name: '' } };
    sim.faults.sendRawAriFrame(JSON.stringify({ type: 'StasisStart', application: 'agentgate', channel, args: 'dispatch,alice' }));
    sim.faults.sendRawAriFrame(JSON.stringify({ type: 'ChannelDestroyed', application: 'agentgate', channel, cause: '16' }));
    sim.faults.sendRawAriFrame(JSON.stringify({ type: 'Dial', application: 'agentgate', dialstatus: 'ANSWER' }));
    sim.faults.sendRawAriFrame(JSON.stringify({ type: 'StasisEnd', application: 'agentgate', channel: { ...channel, id: 42 } }));
    sim.faults.sendRawAriFrame(JSON.stringify({ type: 'ChannelHangupRequest', application: 'agentgate', channel, soft: 'yes' }));
    const call = await sim.dialIn({ args: ['x'] });
    await until(() => rec.starts.includes(call.id), 3000, 'the StasisStart after the bad frames');
    // Only the good StasisStart reached the handler.
    expect(rec.types).toEqual(['StasisStart']);
    for (const field of ['/args', '/cause', '/peer', '/channel/id', '/soft'])
      expect(rec.warnings.some((w) => w.includes('malformed ARI') && w.includes(field))).toBe(true);
    await call.hangup();
  });

  it("a phone's REFER (ChannelTransfer without state) arrives as PhoneTransfer; its echoes with state, and malformed ones naming the field, do not", async () => {
    sim = await Simulator.start();
    const got: unknown[] = [];
    const rec = await recordEvents(sim, { onEvent: (e) => void got.push(e) });
    events = rec.events;
    // Shapes as recorded (recordings/ari-callcontrol/refer-ari-only, refer-default).
    const leg = { id: 'ra-a', name: 'PJSIP/1007-00000026', state: 'Up', caller: { number: '', name: '' } };
    const transfer = { type: 'ChannelTransfer', application: 'agentgate', refer_to: { requested_destination: { destination: '1003' } } };
    sim.faults.sendRawAriFrame(JSON.stringify({ ...transfer, referred_by: { source_channel: leg, connected_channel: { id: 'c' } } }));
    sim.faults.sendRawAriFrame(JSON.stringify({ ...transfer, referred_by: { source_channel: leg }, state: 'channel_declined' }));
    sim.faults.sendRawAriFrame(JSON.stringify({ ...transfer, referred_by: {} }));
    sim.faults.sendRawAriFrame(JSON.stringify({ type: 'ChannelHold', application: 'agentgate', channel: leg }));
    sim.faults.sendRawAriFrame(JSON.stringify({ type: 'ChannelUnhold', application: 'agentgate', channel: { name: 'x' } }));
    sim.faults.sendRawAriFrame(
      JSON.stringify({
        type: 'BridgeBlindTransfer',
        application: 'agentgate',
        channel: leg,
        exten: '1003',
        context: 'rec-xfer',
        result: 'Success',
      }),
    );
    const call = await sim.dialIn({ args: ['x'] });
    await until(() => rec.starts.includes(call.id), 3000, 'the StasisStart after them');
    expect(rec.types).toEqual(['PhoneTransfer', 'ChannelHold', 'BridgeBlindTransfer', 'StasisStart']);
    expect(got[0]).toEqual({ type: 'PhoneTransfer', channel: leg, destination: '1003' });
    for (const field of ['/referred_by/source_channel', '/channel/id'])
      expect(rec.warnings.some((w) => w.includes('malformed ARI') && w.includes(field))).toBe(true);
    await call.hangup();
  });

  it('REST calls time out with AGENTGATE_ERR_ARI_TIMEOUT instead of hanging', async () => {
    sim = await Simulator.start();
    sim.faults.delayRest(/GET \/channels/, 1000);
    const rest = new AriRest({ url: sim.ariUrl, username: 'agentgate', password: 'secret', timeoutMs: 150 });
    const t0 = Date.now();
    await expect(rest.listChannels()).rejects.toMatchObject({ code: 'AGENTGATE_ERR_ARI_TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(900);
    rest.close();
  });

  it('a dropped websocket is reported, reconnected, and onConnected runs again (to reconcile)', async () => {
    sim = await Simulator.start();
    const rec = await recordEvents(sim, { pingIntervalMs: 500 });
    events = rec.events;
    expect(rec.connects).toBe(1);
    sim.faults.dropAriWebsockets();
    await until(() => rec.drops === 1, 3000, 'drop noticed');
    await until(() => rec.connects === 2 && rec.events.isConnected(), 5000, 'reconnected');
    // While connected again, a call reaches Stasis (the app is held again) and its event arrives, once.
    const call = await sim.dialIn({ args: ['dispatch', 'nobody'] });
    expect(call.failed).toBe(false);
    await until(() => rec.starts.includes(call.id), 3000, 'StasisStart on the new socket');
    expect(rec.starts.filter((id) => id === call.id)).toHaveLength(1);
    await call.hangup();
  });

  it('a half-open socket (no pong, no events, no FIN) is noticed by the keepalive, dropped and reconnected; events flow again', async () => {
    sim = await Simulator.start();
    const rec = await recordEvents(sim, { pingIntervalMs: 500 });
    events = rec.events;
    sim.faults.freezeAriWebsockets();
    const lost = await sim.dialIn({ args: ['x'] }); // its StasisStart goes into the black hole
    expect(rec.events.isConnected()).toBe(true); // nothing tells the client yet
    await until(() => rec.drops === 1, 4000, 'the keepalive to notice');
    await until(() => rec.connects === 2 && rec.events.isConnected(), 5000, 'reconnected');
    expect(rec.starts).not.toContain(lost.id);
    const call = await sim.dialIn({ args: ['y'] });
    await until(() => rec.starts.includes(call.id), 3000, 'events on the new socket');
    await lost.hangup();
    await call.hangup();
  });
});
