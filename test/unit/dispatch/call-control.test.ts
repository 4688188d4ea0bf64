/**
 * Call control of an answered dispatch (src/domain/dispatch/call-control.ts through the machine's
 * transition): each event in each phase, with the exact commands it gives.
 */
import { describe, expect, it } from 'vitest';
import {
  startDispatch,
  transition,
  type CallControlEvent,
  type DispatchCommand,
  type DispatchConfig,
  type DispatchEvent,
  type DispatchState,
} from '../../../src/domain/dispatch/machine.js';

const config: DispatchConfig = { answer: 'late', ringTimeoutSec: 30, onWinnerHangupBeforeBridge: 'keep_ringing' };
const transferTarget = { context: 'agentgate-transfer', extension: '0612345678', priority: 1 };
const requeueTarget = { context: 'agentgate-requeue', extension: 'sales', priority: 1 };

function play(state: DispatchState, events: DispatchEvent[]): { state: DispatchState; commands: DispatchCommand[] } {
  let s = state;
  let commands: DispatchCommand[] = [];
  for (const e of events) {
    const step = transition(s, e);
    s = step.state;
    commands = step.commands;
  }
  return { state: s, commands };
}

function ringing(over: Partial<DispatchConfig> = {}, queue?: string): DispatchState {
  return startDispatch({
    id: 'd',
    agentId: 'alice',
    callerId: 'caller',
    now: 0,
    config: { ...config, ...over },
    addresses: [{ endpoint: 'PJSIP/1', delayMs: 0 }],
    claimHeld: true,
    ...(queue === undefined ? {} : { queue }),
  }).state;
}
const bridging = (over: Partial<DispatchConfig> = {}): DispatchState =>
  play(ringing(over), [
    { type: 'LegStasisStarted', legId: 'd-leg1' },
    { type: 'LegAnswered', legId: 'd-leg1', at: 1000 },
  ]).state;
const talking = (over: Partial<DispatchConfig> = {}): DispatchState => play(bridging(over), [{ type: 'Bridged', at: 1100 }]).state;
const onHold = (): DispatchState => play(talking(), [{ type: 'HoldRequested', at: 2000, mohClass: 'default' }]).state;
const phoneHold = (): DispatchState => play(talking(), [{ type: 'PhoneHeld', at: 2000 }]).state;
const done = (): DispatchState => play(talking(), [{ type: 'CallerHungUp', at: 3000 }]).state;

const teardown = (result: string): DispatchCommand[] => [
  { type: 'DestroyBridge', bridgeId: 'd-bridge' },
  { type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: result },
];
const finished = (result: string): DispatchCommand[] => [{ type: 'ReleaseAgent' }, { type: 'Finished', result } as DispatchCommand];
const hangupAgent: DispatchCommand = { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' };

describe('call control while talking (exact commands)', () => {
  const cases: Array<{
    name: string;
    from: () => DispatchState;
    event: CallControlEvent;
    commands: DispatchCommand[];
    expectState: Partial<DispatchState>;
  }> = [
    {
      name: 'hold: music to the customer channel only, on hold since now, by the api',
      from: talking,
      event: { type: 'HoldRequested', at: 2000, mohClass: 'default' },
      commands: [{ type: 'StartCallerMoh', mohClass: 'default' }],
      expectState: { phase: 'talking', hold: { since: 2000, by: 'api' } },
    },
    {
      name: 'hold without a class: Asterisk default class',
      from: talking,
      event: { type: 'HoldRequested', at: 2500 },
      commands: [{ type: 'StartCallerMoh' }],
      expectState: { phase: 'talking', hold: { since: 2500, by: 'api' } },
    },
    {
      name: 'unhold of an api hold: the music stops',
      from: onHold,
      event: { type: 'UnholdRequested', at: 3000 },
      commands: [{ type: 'StopCallerMoh' }],
      expectState: { phase: 'talking', hold: undefined },
    },
    {
      name: 'unhold of a phone hold: state only (the phone plays its own hold)',
      from: phoneHold,
      event: { type: 'UnholdRequested', at: 3000 },
      commands: [],
      expectState: { phase: 'talking', hold: undefined },
    },
    {
      name: 'the phone holds: state only, by the phone',
      from: talking,
      event: { type: 'PhoneHeld', at: 2200 },
      commands: [],
      expectState: { phase: 'talking', hold: { since: 2200, by: 'phone' } },
    },
    {
      name: 'the phone unholds a phone hold: state only',
      from: phoneHold,
      event: { type: 'PhoneUnheld', at: 2600 },
      commands: [],
      expectState: { phase: 'talking', hold: undefined },
    },
    {
      name: 'the phone unholds an api hold: the music agentgate started stops',
      from: onHold,
      event: { type: 'PhoneUnheld', at: 2600 },
      commands: [{ type: 'StopCallerMoh' }],
      expectState: { phase: 'talking', hold: undefined },
    },
    {
      name: 'agent release: agent leg hung up, customer continued (next priority) with AGENT_HANGUP, claim released',
      from: talking,
      event: { type: 'AgentReleaseRequested', at: 5000 },
      commands: [hangupAgent, ...teardown('AGENT_HANGUP'), { type: 'ContinueCaller', fallback: undefined }, ...finished('AGENT_HANGUP')],
      expectState: { phase: 'done', result: 'AGENT_HANGUP', hungUpBy: 'agent', claimHeld: false, endedAt: 5000 },
    },
    {
      name: 'agent release while on hold: the music stops first',
      from: onHold,
      event: { type: 'AgentReleaseRequested', at: 5000 },
      commands: [
        { type: 'StopCallerMoh' },
        hangupAgent,
        ...teardown('AGENT_HANGUP'),
        { type: 'ContinueCaller', fallback: undefined },
        ...finished('AGENT_HANGUP'),
      ],
      expectState: { phase: 'done', result: 'AGENT_HANGUP', hold: undefined },
    },
    {
      name: 'end for everyone: agent leg and customer hung up, nobody continued',
      from: onHold,
      event: { type: 'EndRequested', at: 5000 },
      commands: [hangupAgent, { type: 'HangupCaller' }, { type: 'DestroyBridge', bridgeId: 'd-bridge' }, ...finished('ENDED')],
      expectState: { phase: 'done', result: 'ENDED', hungUpBy: 'agentgate', claimHeld: false },
    },
    {
      name: 'blind transfer: TRANSFERRED and the number set, customer continued to the target, agent hung up',
      from: talking,
      event: { type: 'TransferRequested', at: 5000, to: '0612345678', target: transferTarget },
      commands: [
        hangupAgent,
        ...teardown('TRANSFERRED'),
        { type: 'SetCallerVar', name: 'AGENTGATE_TRANSFER_TO', value: '0612345678' },
        { type: 'ContinueCaller', to: transferTarget },
        ...finished('TRANSFERRED'),
      ],
      expectState: { phase: 'done', result: 'TRANSFERRED', transferTo: '0612345678', hungUpBy: 'agentgate' },
    },
    {
      name: 'transfer while on hold: the music stops first',
      from: onHold,
      event: { type: 'TransferRequested', at: 5000, to: '0612345678', target: transferTarget },
      commands: [
        { type: 'StopCallerMoh' },
        hangupAgent,
        ...teardown('TRANSFERRED'),
        { type: 'SetCallerVar', name: 'AGENTGATE_TRANSFER_TO', value: '0612345678' },
        { type: 'ContinueCaller', to: transferTarget },
        ...finished('TRANSFERRED'),
      ],
      expectState: { phase: 'done', hold: undefined },
    },
    {
      name: 'requeue: REQUEUED and the queue set, customer continued to the queue location',
      from: talking,
      event: { type: 'RequeueRequested', at: 5000, queue: 'sales', target: requeueTarget },
      commands: [
        hangupAgent,
        ...teardown('REQUEUED'),
        { type: 'SetCallerVar', name: 'AGENTGATE_REQUEUE_QUEUE', value: 'sales' },
        { type: 'ContinueCaller', to: requeueTarget },
        ...finished('REQUEUED'),
      ],
      expectState: { phase: 'done', result: 'REQUEUED', requeueTo: 'sales', hungUpBy: 'agentgate' },
    },
    {
      name: 'requeue while on hold: the music stops first',
      from: onHold,
      event: { type: 'RequeueRequested', at: 5000, queue: 'sales', target: requeueTarget },
      commands: [
        { type: 'StopCallerMoh' },
        hangupAgent,
        ...teardown('REQUEUED'),
        { type: 'SetCallerVar', name: 'AGENTGATE_REQUEUE_QUEUE', value: 'sales' },
        { type: 'ContinueCaller', to: requeueTarget },
        ...finished('REQUEUED'),
      ],
      expectState: { phase: 'done', result: 'REQUEUED' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const before = c.from();
      const step = transition(before, c.event);
      expect(step.commands).toEqual(c.commands);
      expect(step.state).toMatchObject(c.expectState);
      for (const [k, v] of Object.entries(c.expectState)) if (v === undefined) expect(step.state[k as keyof DispatchState]).toBeUndefined();
    });
  }

  it('a transfer or release with a fallback configured still goes where asked (transfer) or to the fallback (release)', () => {
    const fallback = { context: 'after-agent', extension: 's', priority: 1 };
    expect(transition(talking({ fallback }), { type: 'AgentReleaseRequested', at: 5000 }).commands).toContainEqual({
      type: 'ContinueCaller',
      fallback,
    });
    expect(
      transition(talking({ fallback }), { type: 'TransferRequested', at: 5000, to: '123', target: transferTarget }).commands,
    ).toContainEqual({ type: 'ContinueCaller', to: transferTarget });
  });

  it('the agent leg is marked hung up by agentgate (normal clearing); its later end changes nothing', () => {
    const after = transition(talking(), { type: 'AgentReleaseRequested', at: 5000 }).state;
    expect(after.legs[0]).toMatchObject({ hangupReason: 'normal', status: 'bridged' });
    const ended = transition(after, { type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 5100 });
    expect(ended.commands).toEqual([]);
    expect(ended.state).toMatchObject({ phase: 'done', result: 'AGENT_HANGUP', legs: [{ status: 'ended', cause: 16 }] });
  });

  it('a second hold, an unhold when not held, a phone hold on an api hold change nothing', () => {
    for (const [from, e] of [
      [onHold, { type: 'HoldRequested', at: 9000 }],
      [onHold, { type: 'PhoneHeld', at: 9000 }],
      [phoneHold, { type: 'HoldRequested', at: 9000 }],
      [talking, { type: 'UnholdRequested', at: 9000 }],
      [talking, { type: 'PhoneUnheld', at: 9000 }],
    ] as Array<[() => DispatchState, CallControlEvent]>) {
      const before = from();
      const step = transition(before, e);
      expect(step.commands).toEqual([]);
      expect(step.state).toEqual(before);
    }
  });

  it('the customer hanging up while on hold ends it as any answered call: agent leg hung up, claim released, no music command', () => {
    const step = transition(onHold(), { type: 'CallerHungUp', at: 4000 });
    expect(step.commands).toEqual([hangupAgent, { type: 'DestroyBridge', bridgeId: 'd-bridge' }, ...finished('ANSWERED')]);
    expect(step.state).toMatchObject({ phase: 'done', claimHeld: false, result: 'ANSWERED' });
  });

  it('the agent hanging up the phone while on hold: the customer is hung up', () => {
    const step = transition(onHold(), { type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 4000 });
    expect(step.commands).toEqual([{ type: 'HangupCaller' }, { type: 'DestroyBridge', bridgeId: 'd-bridge' }, ...finished('ANSWERED')]);
  });

  it('the queue from the dialplan is kept in the state (and absent when none was given)', () => {
    expect(ringing({}, 'sales').queue).toBe('sales');
    expect('queue' in ringing()).toBe(false);
  });
});

describe("the agent's phone's transfer", () => {
  it('allowed REFER: the customer is continued to the target first, then the phone is told 200 OK, then its leg is hung up', () => {
    const step = transition(onHold(), { type: 'PhoneTransferRequested', at: 5000, to: '0612345678', target: transferTarget });
    expect(step.commands).toEqual([
      { type: 'StopCallerMoh' },
      ...teardown('TRANSFERRED'),
      { type: 'SetCallerVar', name: 'AGENTGATE_TRANSFER_TO', value: '0612345678' },
      { type: 'ContinueCaller', to: transferTarget },
      ...finished('TRANSFERRED'),
      { type: 'ReportTransfer', legId: 'd-leg1', state: 'channel_answered' },
      hangupAgent,
    ]);
    expect(step.state).toMatchObject({ phase: 'done', result: 'TRANSFERRED', transferTo: '0612345678', hungUpBy: 'agent' });
  });

  it("the agent answered on its second device: that device's REFER is answered and that leg is hung up (recorded as a normal clearing), not the first device's", () => {
    const twoDevices = startDispatch({
      id: 'd',
      agentId: 'alice',
      callerId: 'caller',
      now: 0,
      config,
      addresses: [
        { endpoint: 'PJSIP/1', delayMs: 0 },
        { endpoint: 'PJSIP/2', delayMs: 0 },
      ],
      claimHeld: true,
    }).state;
    const onSecond = play(twoDevices, [
      { type: 'LegStasisStarted', legId: 'd-leg1' },
      { type: 'LegStasisStarted', legId: 'd-leg2' },
      { type: 'LegAnswered', legId: 'd-leg2', at: 1000 },
      { type: 'Bridged', at: 1100 },
    ]).state;
    const { state, commands } = play(onSecond, [{ type: 'PhoneTransferRequested', at: 5000, to: '0612345678', target: transferTarget }]);
    expect(commands.slice(-2)).toEqual([
      { type: 'ReportTransfer', legId: 'd-leg2', state: 'channel_answered' },
      { type: 'HangupLeg', legId: 'd-leg2', reason: 'normal' },
    ]);
    expect(state.legs.find((l) => l.id === 'd-leg2')?.hangupReason).toBe('normal');
  });

  it('a transfer Asterisk executed itself: the caller is neither continued nor hung up and the bridge is kept; the agent leg goes', () => {
    const step = transition(talking(), { type: 'TransferredByPbx', at: 5000, to: '1003' });
    expect(step.commands).toEqual([hangupAgent, ...finished('TRANSFERRED')]);
    expect(step.state).toMatchObject({ phase: 'done', result: 'TRANSFERRED', transferTo: '1003', handedOver: true, hungUpBy: 'agent' });
  });
});

describe('call control outside talking is ignored (total)', () => {
  const events: CallControlEvent[] = [
    { type: 'HoldRequested', at: 9000, mohClass: 'default' },
    { type: 'UnholdRequested', at: 9000 },
    { type: 'PhoneHeld', at: 9000 },
    { type: 'PhoneUnheld', at: 9000 },
    { type: 'AgentReleaseRequested', at: 9000 },
    { type: 'EndRequested', at: 9000 },
    { type: 'TransferRequested', at: 9000, to: '1', target: transferTarget },
    { type: 'RequeueRequested', at: 9000, queue: 'sales', target: requeueTarget },
    { type: 'PhoneTransferRequested', at: 9000, to: '1', target: transferTarget },
    { type: 'TransferredByPbx', at: 9000, to: '1003' },
  ];
  const phases: Array<[string, () => DispatchState]> = [
    ['ringing', () => ringing()],
    ['bridging', () => bridging()],
    ['done', done],
  ];
  for (const [phase, from] of phases)
    for (const e of events)
      it(`${e.type} in ${phase}: no command, state unchanged`, () => {
        const before = from();
        const step = transition(before, e);
        expect(step.commands).toEqual([]);
        expect(step.state).toEqual(before);
      });
});
