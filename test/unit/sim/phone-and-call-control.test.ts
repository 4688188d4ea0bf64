/**
 * What a simulated phone does on its own (REFER, hold, INFO DTMF) and the call control an app does
 * over ARI (transfer_progress, snoop, redirect, MOH, device states, /continue), on a manual clock:
 * the paths the ari-callcontrol recordings do not show, and the outcome each side notices.
 */
import { describe, expect, it } from 'vitest';
import { Pbx, PbxError, type AriEvent, type EndpointScript } from '../../../src/sim/pbx/pbx.js';
import { routeAri } from '../../../src/sim/ari/routes.js';
import { Simulator } from '../../../src/sim/index.js';
import { manualClock } from '../../support/manual-clock.js';

const aMoment = (): Promise<void> => new Promise((r) => setImmediate(r));

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

function setup(endpoints: Record<string, EndpointScript> = {}): {
  pbx: Pbx;
  clock: ReturnType<typeof manualClock>;
  events: AriEvent[];
  of: (id: string) => string[];
} {
  const clock = manualClock(Date.UTC(2026, 11, 1, 14, 0, 0, 0));
  const pbx = new Pbx({ clock, endpoints });
  pbx.heldApps.add('app');
  const events: AriEvent[] = [];
  pbx.on('ari-event', (e: AriEvent) => events.push(e));
  const of = (id: string): string[] =>
    events
      .filter(
        (e) =>
          (e.channel as { id?: string } | undefined)?.id === id ||
          (e.type === 'ChannelTransfer' && (e.referred_by as { source_channel: { id: string } }).source_channel.id === id),
      )
      .map((e) => String(e.type));
  return { pbx, clock, events, of };
}

/** A customer (in Stasis, answered) bridged with an answered leg to `endpoint`. */
async function bridgedCall(
  pbx: Pbx,
  clock: ReturnType<typeof manualClock>,
  endpoint: string,
  variables?: Record<string, string>,
): Promise<{ caller: string; leg: string; bridge: string }> {
  const caller = pbx.dialIn({
    app: 'app',
    args: ['dispatch'],
    from: 'PJSIP/trunk',
    callerNumber: '5551234',
    callerName: 'Customer',
    context: 'incoming',
    exten: '100',
  }).id;
  const leg = pbx.create({ endpoint, app: 'app', channelId: 'leg', variables }).id;
  await aMoment();
  pbx.dial(leg, { caller });
  clock.advance(1000);
  pbx.answer(caller);
  const bridge = pbx.createBridge({ bridgeId: 'b' }, 'app').id;
  pbx.addToBridge(bridge, [caller, leg]);
  return { caller, leg, bridge };
}

/** A phone that answers after 1 s and does nothing on its own. */
const QUIET: EndpointScript = { kind: 'answer', afterMs: 1000 };

describe('a phone REFERs its call (blind transfer)', () => {
  it('with core handling, the customer ends up talking to Local/<destination>@<the phone context> and the phone hears 100 Trying then 200 OK', async () => {
    const { pbx, clock, events, of } = setup({ 'PJSIP/1007': QUIET });
    const { caller, leg, bridge } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    events.length = 0;
    pbx.phoneRefer(leg, '1003');
    const start = events.find((e) => e.type === 'StasisStart')!;
    const local = start.channel as { id: string; name: string };
    expect(local.name).toMatch(/^Local\/1003@rec-xfer-[0-9a-f]{8};1$/);
    expect((start.replace_channel as { id: string }).id).toBe(leg);
    expect(pbx.getBridge(bridge).channels.sort()).toEqual([caller, local.id].sort());
    expect(pbx.channel(leg)).toMatchObject({ state: 'Up' }); // still in Stasis, out of the bridge
    expect(of(leg)).toEqual(['ChannelUnhold', 'ChannelVarset', 'ChannelLeftBridge', 'BridgeBlindTransfer']);
    const blind = events.find((e) => e.type === 'BridgeBlindTransfer')!;
    expect(blind).toMatchObject({ exten: '1003', context: 'rec-xfer', result: 'Success', is_external: true });
    expect((blind.transferee as { id: string }).id).toBe(caller);
    expect((blind.bridge as { channels: string[] }).channels.sort()).toEqual([caller, leg].sort()); // as it was before
    expect(pbx.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 200 OK']);
    // The app hangs the transferring leg up: StasisEnd, but no ChannelDestroyed (deferred termination).
    events.length = 0;
    pbx.hangup(leg, undefined, 16);
    expect(of(leg)).toEqual(['ChannelHangupRequest', 'StasisEnd']);
  });

  it('lands in the context TRANSFER_CONTEXT names, when the leg has one', async () => {
    const { pbx, clock, events } = setup({ 'PJSIP/1007': QUIET });
    const { leg } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    pbx.setVar(leg, 'TRANSFER_CONTEXT', 'rec-queue');
    pbx.phoneRefer(leg, '1003');
    expect(events.find((e) => e.type === 'BridgeBlindTransfer')).toMatchObject({ context: 'rec-queue' });
  });

  it('with ari-only handling, only the app is told; its decline reaches the phone as 100 Trying then 603, and later reports change nothing', async () => {
    const { pbx, clock, events, of } = setup({ 'PJSIP/1007': QUIET });
    const { caller, leg, bridge } = await bridgedCall(pbx, clock, 'PJSIP/1007', { 'PJSIP_TRANSFER_HANDLING()': 'ari-only' });
    events.length = 0;
    pbx.phoneRefer(leg, '1003');
    expect(events.map((e) => e.type)).toEqual(['ChannelTransfer']);
    expect(events[0]).not.toHaveProperty('state');
    expect(events[0]).toMatchObject({ refer_to: { requested_destination: { destination: '1003' } } });
    expect((events[0]!.referred_by as { connected_channel: { id: string } }).connected_channel.id).toBe(caller);
    expect(pbx.getBridge(bridge).channels.sort()).toEqual([caller, leg].sort());
    expect(pbx.transferNotifies(leg)).toEqual([]);
    pbx.transferProgress(leg, 'channel_declined');
    expect(pbx.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 603 Decline']);
    expect(events.at(-1)).toMatchObject({ type: 'ChannelTransfer', state: 'channel_declined' });
    const before = events.length;
    pbx.transferProgress(leg, 'channel_answered');
    expect(events.length).toBe(before);
    expect(pbx.transferNotifies(leg)).toHaveLength(2);
    expect(of(leg).filter((t) => t === 'ChannelTransfer')).toHaveLength(2);
  });

  it('tells the phone 503 when the app reports the destination unavailable, after the 100 Trying it already sent', async () => {
    const { pbx, clock } = setup({ 'PJSIP/1007': QUIET });
    const { leg } = await bridgedCall(pbx, clock, 'PJSIP/1007', { 'PJSIP_TRANSFER_HANDLING()': 'ari-only' });
    pbx.phoneRefer(leg, '1003');
    pbx.transferProgress(leg, 'channel_progress');
    pbx.transferProgress(leg, 'channel_progress');
    pbx.transferProgress(leg, 'channel_unavailable');
    expect(pbx.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 100 Trying', 'SIP/2.0 503 Service Unavailable']);
  });

  it('answers transfer_progress with 400 for an unknown state and 404 for an unknown channel; with no REFER pending it is a no-op', async () => {
    const { pbx, clock, events } = setup({ 'PJSIP/1007': QUIET });
    const { leg } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    expect(thrownBy(() => pbx.transferProgress(leg, 'bogus'))).toMatchObject({ status: 400, body: { message: 'Invalid states value' } });
    expect(thrownBy(() => pbx.transferProgress(leg, undefined))).toMatchObject({ status: 400 });
    expect(thrownBy(() => pbx.transferProgress('nosuch', 'channel_answered'))).toMatchObject({
      status: 404,
      body: { message: 'Channel not found' },
    });
    const before = events.length;
    pbx.transferProgress(leg, 'channel_answered');
    expect(events.length).toBe(before);
    expect(pbx.transferNotifies(leg)).toEqual([]);
  });

  it('a REFER from a leg in no bridge: Asterisk has nothing to transfer, the phone is told 503 and the app nothing', async () => {
    const { pbx, clock, events } = setup({ 'PJSIP/1007': QUIET });
    const leg = pbx.create({ endpoint: 'PJSIP/1007', app: 'app', channelId: 'alone' }).id;
    await aMoment();
    pbx.dial(leg, {});
    clock.advance(1000);
    events.length = 0;
    pbx.phoneRefer(leg, '1003');
    expect(events).toEqual([]);
    expect(pbx.transferNotifies(leg)).toEqual(['SIP/2.0 100 Trying', 'SIP/2.0 503 Service Unavailable']);
  });

  it('a scripted phone REFERs exactly `afterMs` after it answered, as the recorded 1007 does', async () => {
    const { pbx, clock, events } = setup({
      'PJSIP/2001': { kind: 'answer', afterMs: 1000, then: [{ afterMs: 1500, do: 'refer', destination: '1003' }] },
    });
    await bridgedCall(pbx, clock, 'PJSIP/2001');
    clock.advance(1499);
    expect(events.some((e) => e.type === 'BridgeBlindTransfer')).toBe(false);
    clock.advance(1);
    expect(events.some((e) => e.type === 'BridgeBlindTransfer')).toBe(true);
  });

  it('refuses a phone action on an unknown, unanswered or non-SIP channel, or a destination that is no extension', async () => {
    const { pbx, clock } = setup({ 'PJSIP/1007': QUIET });
    const { leg } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    expect(String(thrownBy(() => pbx.phoneRefer('nosuch', '1003')))).toMatch(/no channel nosuch/);
    expect(String(thrownBy(() => pbx.phoneRefer(leg, 'a b\r\n')))).toMatch(/destination must be an extension/);
    const ringing = pbx.create({ endpoint: 'PJSIP/1002', app: 'app' }).id;
    await aMoment();
    pbx.dial(ringing, {});
    expect(String(thrownBy(() => pbx.phoneDtmf(ringing, '1', 100)))).toMatch(/not answered/);
    const local = pbx.create({ endpoint: 'Local/answer@agents', app: 'app' }).id;
    expect(String(thrownBy(() => pbx.phoneHold(local)))).toMatch(/not a SIP phone/);
  });
});

describe('a phone holds, resumes and sends DTMF', () => {
  it('reports hold and resume from the phone as ChannelHold / ChannelUnhold on its own leg only', async () => {
    const { pbx, clock, of } = setup({ 'PJSIP/1007': QUIET });
    const { caller, leg } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    const callerBefore = of(caller).length;
    pbx.phoneHold(leg);
    pbx.phoneUnhold(leg);
    expect(of(leg).slice(-2)).toEqual(['ChannelHold', 'ChannelUnhold']);
    expect(of(caller).length).toBe(callerBefore);
    expect(pbx.sipLog(leg).map((m) => m.text)).toEqual(['re-INVITE a=sendonly', 're-INVITE a=sendrecv']);
  });

  it('gives the digit and the INFO duration to the leg that sent it, bridged or not, and nothing to the peer', async () => {
    const { pbx, clock, events, of } = setup({ 'PJSIP/1007': QUIET });
    const { caller, leg } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    const callerBefore = of(caller).length;
    pbx.phoneDtmf(leg, '#', 250);
    expect(events.at(-1)).toMatchObject({ type: 'ChannelDtmfReceived', digit: '#', duration_ms: 250, channel: { id: leg } });
    expect(of(caller).length).toBe(callerBefore);
    expect(String(thrownBy(() => pbx.phoneDtmf(leg, '12', 100)))).toMatch(/digit/);
    expect(String(thrownBy(() => pbx.phoneDtmf(leg, 'E', 100)))).toMatch(/digit/);
    expect(String(thrownBy(() => pbx.phoneDtmf(leg, '1', 0)))).toMatch(/durationMs/);
  });
});

describe('call control over ARI', () => {
  it('snoops: the snoop channel stays when the supervisor leaves, and ends with StasisEnd only when the snooped leg hangs up', async () => {
    const { pbx, clock, of } = setup({ 'PJSIP/1007': QUIET });
    const { leg } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    const snoop = pbx.snoop(leg, { spy: 'both', whisper: 'none', app: 'app', appArgs: 'monitor,listen', snoopId: 'sn' });
    expect(snoop).toMatchObject({ id: 'sn', state: 'Up' });
    expect(snoop.name).toMatch(new RegExp(`^Snoop/${leg}-[0-9a-f]{8}$`));
    await aMoment();
    const sup = pbx.createBridge({ bridgeId: 'sup' }, 'app').id;
    pbx.addToBridge(sup, ['sn']);
    pbx.hangup(leg, undefined, 16);
    expect(of('sn')).toEqual(['StasisStart', 'ChannelEnteredBridge', 'ChannelLeftBridge', 'StasisEnd']);
    expect(pbx.channel('sn')).toBeUndefined();
    expect(pbx.appChannelIds('app')).not.toContain('sn');
  });

  it('refuses a snoop with a bad whisper direction, and a snoopId already taken by any channel', async () => {
    const { pbx, clock } = setup({ 'PJSIP/1007': QUIET });
    const { leg, caller } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    expect(thrownBy(() => pbx.snoop(leg, { spy: 'both', whisper: 'sideways', app: 'app' }))).toMatchObject({
      status: 400,
      body: { message: 'Invalid direction specified for whisper' },
    });
    expect(thrownBy(() => pbx.snoop(leg, { spy: 'in', app: 'app', snoopId: caller }))).toMatchObject({
      status: 500,
      body: { message: 'Snoop channel could not be created' },
    });
  });

  it('redirects a PJSIP leg by sending its phone a REFER to the endpoint contact; unknown 404, not in Stasis 409', async () => {
    const { pbx, clock, events } = setup({ 'PJSIP/1007': QUIET });
    const { leg, bridge } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    const before = events.length;
    pbx.redirect(leg, 'PJSIP/1005');
    expect(events.length).toBe(before);
    expect(pbx.sipLog(leg).at(-1)?.text).toMatch(/^REFER Refer-To: sip:1005@127\.0\.0\.1:5075/);
    expect(pbx.getBridge(bridge).channels).toContain(leg);
    expect(thrownBy(() => pbx.redirect('nosuch', 'PJSIP/1005'))).toMatchObject({ status: 404 });
    const down = pbx.create({ endpoint: 'Local/ring@agents', app: 'app' }).id;
    expect(thrownBy(() => pbx.redirect(down, 'Local/x@y'))).toMatchObject({ status: 409 });
  });

  it('plays MOH to a bridge over softmix and back to simple_bridge when it stops; an unknown bridge is 404', async () => {
    const { pbx, clock } = setup({ 'PJSIP/1007': QUIET });
    const { bridge } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    pbx.startBridgeMoh(bridge, 'default');
    expect(pbx.getBridge(bridge).technology).toBe('softmix');
    pbx.stopBridgeMoh(bridge);
    expect(pbx.getBridge(bridge).technology).toBe('simple_bridge');
    expect(thrownBy(() => pbx.stopBridgeMoh(bridge))).toMatchObject({ status: 409, body: { message: "Bridge isn't playing music" } });
    expect(thrownBy(() => pbx.startBridgeMoh('nosuch', undefined))).toMatchObject({ status: 404, body: { message: 'Bridge not found' } });
  });

  it('shows a phone ringing while in a call as RINGINUSE (a created, undialled channel does not count), and refuses to set a PJSIP device', async () => {
    const { pbx, clock } = setup({ 'PJSIP/1007': QUIET, 'PJSIP/2002': { kind: 'ring' } });
    await bridgedCall(pbx, clock, 'PJSIP/1007');
    expect(pbx.deviceState('PJSIP/1007')).toEqual({ name: 'PJSIP/1007', state: 'INUSE' });
    const second = pbx.create({ endpoint: 'PJSIP/1007', app: 'app' }).id;
    expect(pbx.deviceState('PJSIP/1007').state).toBe('INUSE'); // a Down channel does not ring
    await aMoment();
    pbx.setEndpoint('PJSIP/1007', { kind: 'ring' });
    const third = pbx.create({ endpoint: 'PJSIP/1007', app: 'app' }).id;
    await aMoment();
    pbx.dial(third, {});
    expect(pbx.deviceState('PJSIP/1007').state).toBe('RINGINUSE');
    expect(second).not.toBe(third);
    expect(thrownBy(() => pbx.setDeviceState('PJSIP/1007'))).toMatchObject({
      status: 409,
      body: { message: 'Uncontrolled device specified' },
    });
  });

  it('keeps a caller continued into a waiting context alive and subscribed, and refuses /answer on it', async () => {
    const { pbx, clock, of } = setup({ 'PJSIP/1007': QUIET });
    const { caller, leg, bridge } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    pbx.continueInDialplan(caller, { context: 'rec-queue', extension: 's', priority: 1 });
    await aMoment();
    expect(pbx.channel(caller)?.dialplan).toMatchObject({ context: 'rec-queue', app_name: 'Wait' });
    expect(pbx.getBridge(bridge).channels).toEqual([leg]);
    expect(pbx.appChannelIds('app')).toContain(caller);
    expect(thrownBy(() => pbx.answer(caller))).toBeInstanceOf(PbxError);
    pbx.remoteHangup(caller);
    expect(of(caller).slice(-2)).toEqual(['ChannelHangupRequest', 'ChannelDestroyed']);
    expect(pbx.hangupRecord(caller)).toMatchObject({ how: 'hungup', continuedTo: { context: 'rec-queue', exten: 's', priority: 1 } });
  });

  it('routes GET /deviceStates/{name} with the slash encoded only, and PJSIP_TRANSFER_HANDLING() is write-only', async () => {
    const { pbx, clock } = setup({ 'PJSIP/1007': QUIET });
    const { leg } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    expect(routeAri(pbx, 'GET', '/deviceStates/PJSIP%2F1007', new URLSearchParams(), undefined)).toEqual({
      name: 'PJSIP/1007',
      state: 'INUSE',
    });
    expect(thrownBy(() => routeAri(pbx, 'GET', '/deviceStates/PJSIP/1007', new URLSearchParams(), undefined))).toMatchObject({
      status: 404,
      body: { message: 'Resource not found' },
    });
    pbx.setVar(leg, 'PJSIP_TRANSFER_HANDLING()', 'ari-only');
    expect(thrownBy(() => pbx.getVar(leg, 'PJSIP_TRANSFER_HANDLING()'))).toMatchObject({
      status: 500,
      body: { message: 'Unable to read provided function' },
    });
  });
});

describe('the phone API over the simulator', () => {
  it('lets a test or the demo make a phone act over HTTP, with 404 for an unknown channel and 400 for what the phone cannot do', async () => {
    const sim = await Simulator.start();
    try {
      const leg = sim.pbx.create({ endpoint: 'PJSIP/1001', app: 'agentgate', channelId: 'h-leg' }).id;
      await aMoment();
      const post = (path: string): Promise<Response> => fetch(`${sim.ariUrl}/sim/phones/${path}`, { method: 'POST' });
      expect((await post('nosuch/hold')).status).toBe(404);
      const early = await post(`${leg}/dtmf?digit=1`);
      expect(early.status).toBe(400);
      expect(((await early.json()) as { message: string }).message).toMatch(/not answered/);
      sim.pbx.dial(leg, {});
      await sim.waitForEvent((e) => e.type === 'Dial' && e.dialstatus === 'ANSWER');
      const dtmf = sim.waitForEvent((e) => e.type === 'ChannelDtmfReceived');
      expect((await post(`${leg}/dtmf?digit=5&durationMs=120`)).status).toBe(204);
      expect(await dtmf).toMatchObject({ digit: '5', duration_ms: 120 });
      expect((await post(`${leg}/hold`)).status).toBe(204);
      const log = (await (await fetch(`${sim.ariUrl}/sim/phones/${leg}/sip`)).json()) as { text: string }[];
      expect(log.map((m) => m.text)).toEqual(['INFO Signal=5 Duration=120', 're-INVITE a=sendonly']);
    } finally {
      await sim.stop();
    }
  });
});

describe('what a party hears', () => {
  it('a caller rung before the answer stops hearing ringback once answered (the 200 OK ends the 180); an answered caller rung hears it until DELETE /ring', () => {
    const { pbx } = setup();
    const caller = pbx.dialIn({
      app: 'app',
      args: ['dispatch'],
      from: 'PJSIP/trunk',
      callerNumber: '1',
      callerName: '',
      context: 'incoming',
      exten: '100',
    }).id;
    pbx.mediaOp(caller, 'ring', true);
    expect(pbx.hears(caller)).toBe('ringback');
    pbx.answer(caller);
    expect(pbx.hears(caller)).toBe('call');
    pbx.mediaOp(caller, 'ring', true);
    pbx.answer(caller);
    expect(pbx.hears(caller)).toBe('ringback');
    pbx.mediaOp(caller, 'ring', false);
    expect(pbx.hears(caller)).toBe('call');
  });
  it('a customer put on hold hears music and the agent stays on the line; taken off hold, they talk again', async () => {
    const { pbx, clock } = setup({ 'PJSIP/1007': QUIET });
    const { caller, leg, bridge } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    pbx.mediaOp(caller, 'hold', true);
    expect(pbx.hears(caller)).toBe('music');
    expect(pbx.hears(leg)).toBe('call');
    expect(pbx.getBridge(bridge).channels.sort()).toEqual([caller, leg].sort());
    pbx.mediaOp(caller, 'hold', false);
    expect(pbx.hears(caller)).toBe('call');
  });

  it('MOH of an unknown class plays nothing, MOH on the bridge reaches every member, ringback and silence are what they say', async () => {
    const { pbx, clock } = setup({ 'PJSIP/1007': QUIET });
    const { caller, leg, bridge } = await bridgedCall(pbx, clock, 'PJSIP/1007');
    pbx.mediaOp(caller, 'moh', true, 'nosuch');
    expect(pbx.hears(caller)).toBe('silence');
    pbx.mediaOp(caller, 'moh', true, 'default');
    expect(pbx.hears(caller)).toBe('music');
    pbx.mediaOp(caller, 'moh', false);
    pbx.startBridgeMoh(bridge, undefined);
    expect([pbx.hears(caller), pbx.hears(leg)]).toEqual(['music', 'music']);
    pbx.stopBridgeMoh(bridge);
    pbx.mediaOp(leg, 'ring', true);
    expect(pbx.hears(leg)).toBe('ringback');
    pbx.mediaOp(leg, 'silence', true);
    expect(pbx.hears(leg)).toBe('silence');
    expect(pbx.hears('nosuch')).toBeUndefined();
  });
});
