/**
 * The unmodified client libraries talk to the simulator: ari-client 2.2.0 (swagger-generated
 * methods from the served api-docs, websocket events) and asterisk-manager 0.2.0.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import ari from 'ari-client';
import AsteriskManager from 'asterisk-manager';
import { Simulator } from '../../src/sim/index.js';

let sim: Simulator;
beforeEach(async () => {
  sim = await Simulator.start({ endpoints: { 'PJSIP/1001': { kind: 'answer', afterMs: 30 } } });
});
afterEach(async () => {
  await sim.stop();
});

describe('ari-client 2.2.0 against the simulator', () => {
  it('connects, gets a caller in Stasis, rings and answers a leg, bridges them, hangs up', async () => {
    const client = await ari.connect(sim.ariUrl, 'agentgate', 'secret');
    const seen: string[] = [];
    const started = new Promise<{ id: string; args: string[] }>((resolve) => {
      client.on('StasisStart', (e, ch) => {
        seen.push(`StasisStart ${ch.id}`);
        if (e.args[0] === 'dispatch') resolve({ id: ch.id, args: [...e.args] });
      });
    });
    const legUp = new Promise<void>((resolve) => {
      client.on('Dial', (e) => {
        if (e.dialstatus === 'ANSWER' && e.peer.id === 'leg-1') resolve();
      });
    });
    await client.start('agentgate');
    // start() resolves before the websocket holds the app; a caller before that fails Stasis().
    await vi.waitFor(() => expect(sim.pbx.heldApps.has('agentgate')).toBe(true), { interval: 10 });
    const call = await sim.dialIn({ args: ['dispatch', 'alice'] });
    const caller = await started;
    expect(caller).toEqual({ id: call.id, args: ['dispatch', 'alice'] });

    const legStasis = sim.waitForEvent((e) => e.type === 'StasisStart' && (e.channel as { id: string }).id === 'leg-1');
    await client.channels.create({ endpoint: 'PJSIP/1001', app: 'agentgate', appArgs: 'leg', channelId: 'leg-1', originator: call.id });
    await legStasis;
    await client.channels.dial({ channelId: 'leg-1', caller: call.id, timeout: 10 });
    await legUp;
    await client.channels.answer({ channelId: call.id });
    const bridge = await client.bridges.create({ type: 'mixing', bridgeId: 'br-1' });
    await client.bridges.addChannel({ bridgeId: bridge.id, channel: [call.id, 'leg-1'] });
    expect(sim.pbx.bridges()[0]?.channels.sort()).toEqual([call.id, 'leg-1'].sort());

    await client.channels.hangup({ channelId: 'leg-1', reason: 'normal' });
    await client.channels.hangup({ channelId: call.id });
    await client.bridges.destroy({ bridgeId: 'br-1' });
    expect(sim.pbx.channels()).toEqual([]);
    expect(sim.pbx.bridges()).toEqual([]);
    expect(sim.pbx.hangupRecord('leg-1')).toMatchObject({ cause: 16, reason: 'normal', answered: true });
    client.stop();
  });

  it('rejects with the recorded error bodies', async () => {
    const client = await ari.connect(sim.ariUrl, 'agentgate', 'secret');
    await expect(client.channels.originate({ endpoint: 'Foo/bar', app: 'agentgate' })).rejects.toThrow(/Allocation failed/);
    await expect(client.channels.get({ channelId: 'nope' })).rejects.toThrow(/Channel not found/);
  });
});

describe('asterisk-manager 0.2.0 against the simulator', () => {
  it('logs in, adds a member, reads QueueStatus, receives the member events, removes it', async () => {
    const ami = new AsteriskManager(sim.amiPort, '127.0.0.1', 'agentgate', 'secret', true);
    const events: Record<string, string>[] = [];
    ami.on('managerevent', (e: Record<string, string>) => events.push(e));
    const action = (a: Record<string, string>): Promise<Record<string, string>> =>
      new Promise((resolve, reject) =>
        ami.action(a, (err: unknown, res: Record<string, string>) => (err ? reject(err as Error) : resolve(res))),
      );
    const added = await action({ action: 'QueueAdd', queue: 'support', interface: 'PJSIP/1001', membername: 'Alice', actionid: 'a1' });
    expect(added).toMatchObject({ response: 'Success', message: 'Added interface to queue' });
    expect(sim.queues.members('support').map((m) => [m.interface, m.memberName])).toEqual([['PJSIP/1001', 'Alice']]);
    await action({ action: 'QueueStatus', queue: 'support', actionid: 's1' });
    await vi.waitFor(
      () => {
        expect(events.some((e) => e.event === 'QueueMemberAdded' && e.interface === 'PJSIP/1001')).toBe(true);
        expect(events.some((e) => e.event === 'QueueMember' && e.location === 'PJSIP/1001' && e.actionid === 's1')).toBe(true);
        expect(events.some((e) => e.event === 'QueueStatusComplete' && e.actionid === 's1')).toBe(true);
      },
      { interval: 10 },
    );
    const removed = await action({ action: 'QueueRemove', queue: 'support', interface: 'PJSIP/1001', actionid: 'r1' });
    expect(removed).toMatchObject({ response: 'Success', message: 'Removed interface from queue' });
    ami.disconnect();
  });
});
