/**
 * The agent's phone's own buttons obey the policy (issue #14): the real daemon over the simulator's
 * ARI/AMI and a memory Store. The phone acts through the simulator's phone API (sim.phoneRefer,
 * sim.phoneHold), as a SIP phone would; assertions are on what the phone was told (its NOTIFYs),
 * where the customer went, what is left on the PBX, GET /v1/calls, the audit and /metrics.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AriEvent, SimCall, Simulator } from '../../../src/sim/index.js';
import type { Daemon } from '../../../src/daemon.js';
import type { Store } from '../../../src/ports/store.js';
import { until } from '../../support/dispatch-harness.js';
import { sampleValue } from '../../support/metrics-text.js';
import { callsRig } from '../../support/calls-rig.js';

const rig = callsRig({
  instance: 'phone-buttons-test',
  users: ['olivia'],
  answering: { 'PJSIP/2001': 50, 'PJSIP/2002': 50, 'PJSIP/2003': 50, 'PJSIP/2004': 50 },
  directory: {
    users: [
      {
        id: 'alice',
        name: 'Alice',
        role: 'agent',
        scope: 'call_center_agent',
        groups: ['support-team'],
        extensions: ['1001'],
        addresses: ['PJSIP/2001'],
        flags: { inbound: true, hold: true, transfer: true, directTransfer: 'own_group' },
      },
      {
        id: 'carol',
        name: 'Carol',
        role: 'agent',
        scope: 'call_center_agent',
        extensions: ['1002'],
        addresses: ['PJSIP/2002'],
        flags: { inbound: true },
      },
      {
        id: 'dave',
        name: 'Dave',
        role: 'agent',
        scope: 'call_center_agent',
        groups: ['support-team'],
        extensions: ['1003'],
        addresses: ['PJSIP/2003'],
        flags: { inbound: true },
      },
      { id: 'lou', name: 'Lou', role: 'agent', scope: 'call_center_agent', addresses: ['Local/answer@agents'], flags: { inbound: true } },
      { id: 'olivia', name: 'Olivia', role: 'manager', scope: 'office_manager', flags: {} },
    ],
    extensions: [
      { id: '1001', interface: 'PJSIP/1001' },
      { id: '1002', interface: 'PJSIP/1002' },
      { id: '1003', interface: 'PJSIP/1003' },
    ],
    groups: [{ id: 'support-team', members: ['alice', 'carol', 'dave'] }],
    queues: [{ id: 'support' }],
  },
});
let sim: Simulator;
let daemon: Daemon;
let store: Store;
beforeAll(async () => ({ sim, daemon, store } = await rig.start()));
afterAll(() => rig.stop());
afterEach(() => rig.clean(['alice', 'carol', 'dave', 'lou']));

interface CallJson {
  id: string;
  agent: string;
  state: string;
  holdBy?: string;
}
const calls = (): Promise<CallJson[]> => rig.calls<CallJson>();
const metric = async (name: string): Promise<number> => sampleValue(await (await fetch(`${daemon.httpUrl}/metrics`)).text(), name) ?? 0;
/** The call-action audit of one call, newest first. */
const audits = (actor: string, call: string) => store.queryAudit({ kind: 'call-action', actor, call });

/** A customer calls `agent`; resolves once they talk, with the call id and the agent's leg. */
async function talking(agent: string, resource: string): Promise<{ call: SimCall; id: string; leg: string }> {
  const { call, id } = await rig.talking(agent);
  const leg = sim.pbx.channels().find((c) => c.name.startsWith(`${resource}-`))!.id;
  return { call, id, leg };
}

/** The channels in the bridge the customer is in (empty when in none). */
const bridgeOf = (channel: string): string[] => sim.pbx.bridges().find((b) => b.channels.includes(channel))?.channels ?? [];

describe('every PJSIP leg agentgate creates carries PJSIP_TRANSFER_HANDLING()=ari-only', () => {
  it('set in the create body (already there at the leg StasisStart), so the REFER reaches agentgate as ChannelTransfer, not Asterisk', async () => {
    const atStart = new Map<string, string | undefined>();
    const seen = (e: AriEvent): void => {
      const ch = (e as { channel?: { id: string; name: string } }).channel;
      if (e.type === 'StasisStart' && ch && !ch.name.startsWith('Local/s@'))
        atStart.set(ch.name, sim.pbx.variable(ch.id, 'PJSIP_TRANSFER_HANDLING()'));
    };
    sim.pbx.on('ari-event', seen);
    const transfers: AriEvent[] = [];
    const onTransfer = (e: AriEvent): void => void (e.type.endsWith('Transfer') && transfers.push(e));
    sim.pbx.on('ari-event', onTransfer);
    try {
      const { call, leg } = await talking('carol', 'PJSIP/2002');
      expect([...atStart].find(([name]) => name.startsWith('PJSIP/2002-'))?.[1]).toBe('ari-only');
      sim.phoneRefer(leg, '1003');
      await until(() => sim.transferNotifies(leg).length === 2, 3000, 'NOTIFYs');
      // Asterisk did not transfer on its own: a ChannelTransfer, never a BridgeBlindTransfer.
      expect(transfers.map((e) => e.type)).toContain('ChannelTransfer');
      expect(transfers.map((e) => e.type)).not.toContain('BridgeBlindTransfer');
      await call.hangup();

      // A Local leg (not a SIP phone) gets nothing.
      const local = await sim.dialIn({ args: ['dispatch', 'lou'] });
      await until(async () => (await calls()).some((c) => c.agent === 'lou' && c.state === 'talking'), 5000, 'lou talking');
      const localLeg = [...atStart].find(([name]) => name.startsWith('Local/answer@agents'));
      expect(localLeg).toBeDefined();
      expect(localLeg![1]).toBeUndefined();
      await local.hangup();
    } finally {
      sim.pbx.off('ari-event', seen);
      sim.pbx.off('ari-event', onTransfer);
    }
  });
});

describe("the phone's Transfer button (REFER)", () => {
  it('allowed: the phone hears 100 Trying then 200 OK, the customer goes to agentgate-transfer with TRANSFERRED, the agent leg and bridge go, audited', async () => {
    const { call, id, leg } = await talking('alice', 'PJSIP/2001');
    sim.phoneRefer(leg, '0612345678');
    const ended = await call.ended();
    expect(ended).toMatchObject({ how: 'continued', continuedTo: { context: 'agentgate-transfer', exten: '0612345678', priority: 1 } });
    expect(ended.variables).toMatchObject({ AGENTGATE_RESULT: 'TRANSFERRED', AGENTGATE_TRANSFER_TO: '0612345678' });
    await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'agent leg and bridge gone');
    expect(sim.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
    await until(async () => (await audits('alice', id)).length > 0, 3000, 'audited');
    const [a] = await audits('alice', id);
    expect(a).toMatchObject({
      action: 'transfer',
      result: 'ok',
      detail: { call: id, agent: 'alice', source: 'phone', target: '0612345678', ended: 'TRANSFERRED', decision: { allowed: true } },
    });
    expect(await calls()).toEqual([]);
  });

  it('refused (no transfer flag): the phone is told 603 Decline, the customer stays bridged with the agent, audited naming the flag', async () => {
    const { call, id, leg } = await talking('carol', 'PJSIP/2002');
    sim.phoneRefer(leg, '0612345678');
    await until(() => sim.transferNotifies(leg).length === 2, 3000, 'NOTIFYs');
    expect(sim.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 603 Decline']);
    expect(bridgeOf(call.id).sort()).toEqual([call.id, leg].sort());
    expect((await calls()).find((c) => c.id === id)?.state).toBe('talking');
    expect(sim.pbx.hears(call.id)).toBe('call'); // the customer hears the agent, nothing played
    await until(async () => (await audits('carol', id)).length > 0, 3000, 'audited');
    const [a] = await audits('carol', id);
    expect(a).toMatchObject({ action: 'transfer', result: 'denied', detail: { call: id, source: 'phone', target: '0612345678' } });
    expect(JSON.stringify(a!.detail)).toContain('carol has no transfer flag');
    await call.hangup();
  });

  it('an attended transfer (REFER with Replaces, after a consult call) is declined even with the transfer flag: 603, the customer stays with the agent, audited why', async () => {
    const { call, id, leg } = await talking('alice', 'PJSIP/2001');
    sim.phoneReferAttended(leg, 'consult-call-id@192.0.2.10');
    await until(() => sim.transferNotifies(leg).length === 2, 3000, 'NOTIFYs');
    expect(sim.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 603 Decline']);
    expect(bridgeOf(call.id).sort()).toEqual([call.id, leg].sort());
    expect((await calls()).find((c) => c.id === id)?.state).toBe('talking');
    await until(async () => (await audits('alice', id)).length > 0, 3000, 'audited');
    const [a] = await audits('alice', id);
    expect(a).toMatchObject({ action: 'transfer', result: 'denied', detail: { call: id, source: 'phone', attended: true } });
    expect(JSON.stringify(a!.detail)).toContain('attended transfer from the phone');
    await call.hangup();
  });

  it('an international number needs internationalTransfer: declined, the call goes on', async () => {
    const { call, id, leg } = await talking('alice', 'PJSIP/2001');
    sim.phoneRefer(leg, '0044201234567');
    await until(() => sim.transferNotifies(leg).length === 2, 3000, 'NOTIFYs');
    expect(sim.transferNotifies(leg).at(-1)).toBe('SIP/2.0 603 Decline');
    expect(bridgeOf(call.id)).toContain(leg);
    expect(sim.pbx.hears(call.id)).toBe('call');
    await until(async () => (await audits('alice', id)).length > 0, 3000, 'audited');
    expect(JSON.stringify((await audits('alice', id))[0]!.detail)).toMatch(/internationalTransfer/);
    await call.hangup();
  });

  it("to a colleague's extension: a blind direct transfer; the phone hears 100 Trying, then 200 OK when the colleague answers, and leaves", async () => {
    const { call, id, leg } = await talking('alice', 'PJSIP/2001');
    sim.setEndpoint('PJSIP/2003', { kind: 'answer', afterMs: 300 });
    sim.phoneRefer(leg, '1003');
    await until(() => sim.transferNotifies(leg).length === 1, 3000, '100 Trying while the colleague rings');
    expect(sim.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying']);
    await until(async () => (await calls()).find((c) => c.id === id)?.agent === 'dave', 5000, 'dave took the call');
    const daveLeg = sim.pbx.channels().find((c) => c.name.startsWith('PJSIP/2003-'))!.id;
    await until(() => sim.pbx.channel(leg) === undefined, 3000, "alice's leg hung up");
    expect(sim.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
    expect(bridgeOf(call.id).sort()).toEqual([call.id, daveLeg].sort());
    expect(sim.pbx.hears(call.id)).toBe('call'); // the music of the round stopped: the customer hears dave
    await until(async () => (await audits('alice', id)).some((a) => a.result === 'answered'), 3000, 'audited');
    expect((await audits('alice', id)).map((a) => `${a.action}:${a.result}`)).toContain('directTransfer:ringing');
    expect((await audits('alice', id))[0]!.detail).toMatchObject({ source: 'phone', target: 'dave', mode: 'blind' });
    sim.setEndpoint('PJSIP/2003', { kind: 'answer', afterMs: 50 });
    await call.hangup();
  });

  it("to a colleague's extension without directTransfer: 603 Decline, the call goes on, audited naming the flag", async () => {
    const { call, id, leg } = await talking('carol', 'PJSIP/2002');
    sim.phoneRefer(leg, '1003');
    await until(() => sim.transferNotifies(leg).length === 2, 3000, 'NOTIFYs');
    expect(sim.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 603 Decline']);
    expect(bridgeOf(call.id)).toContain(leg);
    expect(sim.pbx.hears(call.id)).toBe('call');
    await until(async () => (await audits('carol', id)).length > 0, 3000, 'audited');
    const [a] = await audits('carol', id);
    expect(a).toMatchObject({ action: 'directTransfer', result: 'denied', detail: { source: 'phone', target: 'dave' } });
    expect(JSON.stringify(a!.detail)).toMatch(/directTransfer/);
    await call.hangup();
  });

  it('a REFER on a channel that is not the answering leg of a call agentgate drives is declined', async () => {
    // A PJSIP channel in the app that no dispatch owns (made by hand, as another tool could).
    const auth = `Basic ${Buffer.from('agentgate:secret').toString('base64')}`;
    const post = (path: string, body?: unknown): Promise<Response> =>
      fetch(`${sim.ariUrl}/ari${path}`, {
        method: 'POST',
        headers: { authorization: auth, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
    expect(
      (
        await post('/channels/create?endpoint=PJSIP/2004&app=agentgate&appArgs=other&channelId=stray', {
          variables: { 'PJSIP_TRANSFER_HANDLING()': 'ari-only' },
        })
      ).status,
    ).toBe(200);
    await until(() => sim.pbx.channel('stray') !== undefined, 2000, 'created');
    expect((await post('/channels/stray/dial?timeout=5')).status).toBe(204);
    await until(() => sim.pbx.channels().find((c) => c.id === 'stray')?.state === 'Up', 3000, 'answered');
    sim.phoneRefer('stray', '1003');
    await until(() => sim.transferNotifies('stray').length === 2, 3000, 'NOTIFYs');
    expect(sim.transferNotifies('stray')).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 603 Decline']);
  });

  it('Asterisk refusing to move the customer: the phone is told 503 (not 200 OK) and the transfer is audited failed', async () => {
    const { call, id, leg } = await talking('alice', 'PJSIP/2001');
    sim.faults.failRest(/POST \/channels\/[^/]+\/continue/, 500, { message: 'Internal Server Error' });
    sim.phoneRefer(leg, '0612345678');
    await until(() => sim.transferNotifies(leg).length === 2, 3000, 'NOTIFYs');
    expect(sim.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 503 Service Unavailable']);
    await until(async () => (await audits('alice', id)).length > 0, 3000, 'audited');
    expect((await audits('alice', id))[0]).toMatchObject({ action: 'transfer', result: 'failed', detail: { ended: 'TRANSFERRED' } });
    await call.hangup();
  });

  it('the customer hanging up while the phone transfer is in progress leaves nothing behind (no leg, no bridge, no claim), audited', async () => {
    const { call, id, leg } = await talking('alice', 'PJSIP/2001');
    sim.faults.delayOneRest(/transfer_progress/, 300);
    sim.phoneRefer(leg, '0612345678');
    await call.hangup();
    expect((await call.ended()).how).toBe('hungup');
    await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'nothing left');
    await until(async () => (await store.leaseHolder('agent:alice')) === null, 3000, 'claim released');
    await until(async () => (await audits('alice', id)).length > 0, 3000, 'audited');
    expect((await audits('alice', id))[0]).toMatchObject({
      action: 'transfer',
      result: 'conflict',
      detail: { reason: 'the call ended meanwhile' },
    });
  });

  it('a REFER Asterisk executed itself (leg without ari-only) is audited as not controlled; the customer stays connected, and nothing is left once done', async () => {
    const { call, id, leg } = await talking('alice', 'PJSIP/2001');
    // As on an Asterisk older than 22.3 or a leg made by another agentgate: default (core) handling.
    const auth = `Basic ${Buffer.from('agentgate:secret').toString('base64')}`;
    const set = await fetch(`${sim.ariUrl}/ari/channels/${leg}/variable?variable=PJSIP_TRANSFER_HANDLING()&value=core`, {
      method: 'POST',
      headers: { authorization: auth },
    });
    expect(set.status).toBe(204);
    sim.phoneRefer(leg, '1003');
    await until(async () => (await audits('alice', id)).length > 0, 3000, 'audited');
    expect((await audits('alice', id))[0]).toMatchObject({
      action: 'transfer',
      result: 'uncontrolled',
      detail: { call: id, source: 'phone', target: '1003', note: expect.stringMatching(/executed by Asterisk, not controlled/) },
    });
    // The customer is neither hung up nor continued: it talks to Asterisk's Local channel in the bridge.
    await until(async () => (await calls()).length === 0, 3000, 'no longer a call agentgate drives');
    const local = sim.pbx.channels().find((c) => c.name.startsWith('Local/1003@'))!;
    expect(bridgeOf(call.id).sort()).toEqual([call.id, local.id].sort());
    expect(sim.pbx.channel(call.id)).toBeDefined();
    await until(async () => (await store.leaseHolder('agent:alice')) === null, 3000, 'alice free');
    // The customer hangs up: the Local channel and the bridge go too.
    await call.hangup();
    await until(() => sim.pbx.channels().length === 0 && sim.pbx.bridges().length === 0, 3000, 'nothing left');
  });
});

describe("the phone's Hold button (re-INVITE)", () => {
  it('with the hold flag: GET /v1/calls shows on hold by the phone, then talking again; audited ok, no violation counted', async () => {
    const before = await metric('agentgate_phone_hold_without_flag_total');
    const { call, id, leg } = await talking('alice', 'PJSIP/2001');
    sim.phoneHold(leg);
    await until(async () => (await calls()).find((c) => c.id === id)?.state === 'on_hold', 3000, 'on hold');
    expect((await calls()).find((c) => c.id === id)).toMatchObject({ holdBy: 'phone' });
    sim.phoneUnhold(leg);
    await until(async () => (await calls()).find((c) => c.id === id)?.state === 'talking', 3000, 'off hold');
    await until(async () => (await audits('alice', id)).length === 2, 3000, 'audited');
    expect((await audits('alice', id)).map((a) => `${a.action}:${a.result}`).reverse()).toEqual(['hold:ok', 'unhold:ok']);
    expect((await audits('alice', id))[0]!.detail).toMatchObject({ source: 'phone', call: id });
    expect(await metric('agentgate_phone_hold_without_flag_total')).toBe(before);
    await call.hangup();
  });

  it('without the hold flag: still on hold (Asterisk cannot refuse a re-INVITE), audited as a policy violation and counted', async () => {
    const before = await metric('agentgate_phone_hold_without_flag_total');
    const { call, id, leg } = await talking('carol', 'PJSIP/2002');
    sim.phoneHold(leg);
    await until(async () => (await calls()).find((c) => c.id === id)?.state === 'on_hold', 3000, 'on hold');
    await until(async () => (await audits('carol', id)).length > 0, 3000, 'audited');
    const [a] = await audits('carol', id);
    expect(a).toMatchObject({ action: 'hold', result: 'violation', detail: { source: 'phone', decision: { allowed: false } } });
    expect(JSON.stringify(a!.detail)).toContain('carol has no hold flag');
    expect(await metric('agentgate_phone_hold_without_flag_total')).toBe(before + 1);
    // The call goes on: the customer is still bridged with the agent.
    expect(bridgeOf(call.id)).toContain(leg);
    await call.hangup();
  });
});
