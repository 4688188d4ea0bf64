/**
 * Direct transfer to a colleague (src/domain/dispatch/direct-transfer.ts through the machine's
 * transition): the colleague's ring-all, its join into the call's bridge, blind and warm, failures,
 * and the customer or the agents leaving at each step, with the exact commands each step gives.
 */
import { describe, expect, it } from 'vitest';
import {
  startDispatch,
  transition,
  type DispatchCommand,
  type DispatchConfig,
  type DispatchEvent,
  type DispatchState,
} from '../../../src/domain/dispatch/machine.js';

const config: DispatchConfig = { answer: 'late', ringTimeoutSec: 30, onWinnerHangupBeforeBridge: 'keep_ringing' };

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

const talking = (): DispatchState =>
  play(
    startDispatch({
      id: 'd',
      agentId: 'alice',
      callerId: 'caller',
      now: 0,
      config,
      addresses: [{ endpoint: 'PJSIP/1', delayMs: 0 }],
      claimHeld: true,
    }).state,
    [
      { type: 'LegStasisStarted', legId: 'd-leg1' },
      { type: 'LegAnswered', legId: 'd-leg1', at: 1000 },
      { type: 'Bridged', at: 1100 },
    ],
  ).state;

const twoDevices = [
  { endpoint: 'PJSIP/2', delayMs: 0 },
  { endpoint: 'PJSIP/3', delayMs: 0 },
];
const request = (
  mode: 'blind' | 'warm',
  over: Partial<Extract<DispatchEvent, { type: 'DirectTransferRequested' }>> = {},
): DispatchEvent => ({
  type: 'DirectTransferRequested',
  at: 2000,
  target: 'bob',
  mode,
  addresses: twoDevices,
  ...over,
});
const ringingTarget = (mode: 'blind' | 'warm'): DispatchState =>
  play(talking(), [request(mode), { type: 'LegStasisStarted', legId: 'd-t1-leg1' }, { type: 'LegStasisStarted', legId: 'd-t1-leg2' }])
    .state;
const answeredOn1 = (mode: 'blind' | 'warm'): DispatchState =>
  play(ringingTarget(mode), [{ type: 'LegAnswered', legId: 'd-t1-leg1', at: 3000 }]).state;
const joined = (mode: 'blind' | 'warm'): { state: DispatchState; commands: DispatchCommand[] } =>
  play(answeredOn1(mode), [{ type: 'TransferJoined', legId: 'd-t1-leg1', at: 3100 }]);
const failedOn = (s: DispatchState): DispatchState =>
  play(s, [
    { type: 'LegEnded', legId: 'd-t1-leg1', cause: 19, at: 4000 },
    { type: 'LegEnded', legId: 'd-t1-leg2', cause: 19, at: 4000 },
  ]).state;

describe('starting a round', () => {
  it('blind: the customer hears MOH and every address of the target is created, under the call, with its own overall timer', () => {
    const { state, commands } = play(talking(), [request('blind', { mohClass: 'jazz' })]);
    expect(commands).toEqual([
      { type: 'StartCallerMoh', mohClass: 'jazz' },
      { type: 'StartTimer', name: 'xfer:overall', ms: 30000 },
      { type: 'CreateLeg', legId: 'd-t1-leg1', endpoint: 'PJSIP/2' },
      { type: 'CreateLeg', legId: 'd-t1-leg2', endpoint: 'PJSIP/3' },
    ]);
    expect(state.round?.target).toBe('bob');
    expect(state.round?.mode).toBe('blind');
    expect(state.agentId).toBe('alice');
  });

  it("warm: no MOH (the agent keeps talking to the customer); a timeout given is the round's overall timer", () => {
    const { commands } = play(talking(), [request('warm', { timeoutSec: 12, addresses: [twoDevices[0]!] })]);
    expect(commands).toEqual([
      { type: 'StartTimer', name: 'xfer:overall', ms: 12000 },
      { type: 'CreateLeg', legId: 'd-t1-leg1', endpoint: 'PJSIP/2' },
    ]);
  });

  it("each of the target's devices is dialled once it is in Stasis, with its own ring timer under the round", () => {
    const { commands } = play(talking(), [request('blind'), { type: 'LegStasisStarted', legId: 'd-t1-leg1' }]);
    expect(commands).toEqual([
      { type: 'DialLeg', legId: 'd-t1-leg1', timeoutSec: 30 },
      { type: 'StartTimer', name: 'xfer:leg:d-t1-leg1', ms: 30000 },
    ]);
  });

  it('blind while already on hold: the music is not started twice', () => {
    const held = play(talking(), [{ type: 'HoldRequested', at: 1500 }]).state;
    expect(play(held, [request('blind')]).commands.map((c) => c.type)).toEqual(['StartTimer', 'CreateLeg', 'CreateLeg']);
  });

  it('is refused (no command) when a round runs already, when not talking, or with a partner in the call', () => {
    expect(play(ringingTarget('blind'), [request('blind')]).commands).toEqual([]);
    const ringing = startDispatch({ id: 'd', agentId: 'a', callerId: 'c', now: 0, config, addresses: twoDevices, claimHeld: true }).state;
    expect(play(ringing, [request('blind')]).state.round).toBeUndefined();
    expect(play(joined('warm').state, [request('blind', { target: 'carol' })]).commands).toEqual([]);
  });

  it('every address offline: the round fails at once (UNAVAILABLE), the target claim is released, the customer stays with the agent', () => {
    const { state, commands } = play(talking(), [request('blind', { addresses: [], allOffline: true })]);
    expect(commands).toEqual([
      { type: 'StartCallerMoh' },
      { type: 'ReleaseClaim', agentId: 'bob' },
      { type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'UNAVAILABLE' },
      { type: 'StopCallerMoh' },
    ]);
    expect(state.round).toBeUndefined();
    expect(state.phase).toBe('talking');
  });
});

describe('the target answers', () => {
  it("the answering device joins the call's bridge (not a new one), and the customer is not answered again", () => {
    const { commands } = play(ringingTarget('blind'), [{ type: 'LegAnswered', legId: 'd-t1-leg1', at: 3000 }]);
    expect(commands).toEqual([
      { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg1' },
      { type: 'JoinBridge', legId: 'd-t1-leg1', bridgeId: 'd-bridge' },
    ]);
  });

  it('blind: once joined, the other device is hung up answered_elsewhere, MOH stops, the agent leg is hung up and its claim released; the target is the agent', () => {
    const { state, commands } = joined('blind');
    expect(commands).toEqual([
      { type: 'CancelTimer', name: 'xfer:overall' },
      { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg2' },
      { type: 'HangupLeg', legId: 'd-t1-leg2', reason: 'answered_elsewhere' },
      { type: 'StopCallerMoh' },
      { type: 'TransferOutcome', target: 'bob', outcome: 'answered', endpoint: 'PJSIP/2' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'ReleaseClaim', agentId: 'alice' },
    ]);
    expect(state.agentId).toBe('bob');
    expect(state.winner).toBe('d-t1-leg1');
    expect(state.claimHeld).toBe(true);
    expect(state.round).toBeUndefined();
    expect(state.partner).toBeUndefined();
    expect(state.legs.map((l) => l.id)).toEqual(['d-leg1', 'd-t1-leg1', 'd-t1-leg2']);
  });

  it('blind: the old agent leg ending afterwards changes nothing; the new agent hanging up ends the call (ANSWERED, its claim released)', () => {
    const after = play(joined('blind').state, [{ type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 3200 }]);
    expect(after.commands).toEqual([]);
    const end = play(after.state, [{ type: 'LegEnded', legId: 'd-t1-leg1', cause: 16, at: 5000 }]);
    expect(end.commands).toEqual([
      { type: 'HangupCaller' },
      { type: 'DestroyBridge', bridgeId: 'd-bridge' },
      { type: 'ReleaseAgent' },
      { type: 'Finished', result: 'ANSWERED' },
    ]);
  });

  it('blind while the customer was on hold: the target joining stops the hold music (once); a hold by the phone is left to the phone', () => {
    for (const [hold, stops] of [
      ['HoldRequested', true],
      ['PhoneHeld', false],
    ] as const) {
      const held = play(talking(), [{ type: hold, at: 1500 }]).state;
      const { state, commands } = play(held, [
        request('blind'),
        { type: 'LegStasisStarted', legId: 'd-t1-leg1' },
        { type: 'LegAnswered', legId: 'd-t1-leg1', at: 3000 },
        { type: 'TransferJoined', legId: 'd-t1-leg1', at: 3100 },
      ]);
      expect(commands.filter((c) => c.type === 'StopCallerMoh')).toHaveLength(stops ? 1 : 0);
      expect(state.hold).toBeUndefined();
      expect(state.agentId).toBe('bob');
    }
  });

  it('warm: the target joins a three-party call (no MOH to stop, the agent stays)', () => {
    const { state, commands } = joined('warm');
    expect(commands.slice(3)).toEqual([{ type: 'TransferOutcome', target: 'bob', outcome: 'answered', endpoint: 'PJSIP/2' }]);
    expect(state.partner).toEqual({ legId: 'd-t1-leg1', agentId: 'bob' });
    expect(state.agentId).toBe('alice');
    expect(state.winner).toBe('d-leg1');
  });

  it('warm: hangup by the agent releases only the agent; the customer stays with the target', () => {
    const { state, commands } = play(joined('warm').state, [{ type: 'AgentReleaseRequested', at: 4000 }]);
    expect(commands).toEqual([
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'ReleaseClaim', agentId: 'alice' },
    ]);
    expect(state.phase).toBe('talking');
    expect(state.agentId).toBe('bob');
    expect(state.winner).toBe('d-t1-leg1');
    expect(state.partner).toBeUndefined();
    // its leg ending afterwards is no agent leaving
    expect(play(state, [{ type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 4100 }]).commands).toEqual([]);
  });

  it("warm: the agent's phone hanging up hands the call to the target too (no hang-up sent, the claim released)", () => {
    const { state, commands } = play(joined('warm').state, [{ type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 4000 }]);
    expect(commands).toEqual([{ type: 'ReleaseClaim', agentId: 'alice' }]);
    expect(state.agentId).toBe('bob');
    expect(state.legs.find((l) => l.id === 'd-leg1')).toMatchObject({ status: 'ended', cause: 16, outcome: 'answered' });
  });

  it('warm on hold: the agent leaving stops the music agentgate started', () => {
    const held = play(joined('warm').state, [{ type: 'HoldRequested', at: 3500 }]).state;
    expect(play(held, [{ type: 'AgentReleaseRequested', at: 4000 }]).commands).toEqual([
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'ReleaseClaim', agentId: 'alice' },
      { type: 'StopCallerMoh' },
    ]);
  });

  it('warm: the target leaving releases the target only; the agent and the customer go on', () => {
    const { state, commands } = play(joined('warm').state, [{ type: 'LegEnded', legId: 'd-t1-leg1', cause: 16, at: 4000 }]);
    expect(commands).toEqual([{ type: 'ReleaseClaim', agentId: 'bob' }]);
    expect(state.partner).toBeUndefined();
    expect(state.phase).toBe('talking');
    expect(state.agentId).toBe('alice');
    expect(state.legs.find((l) => l.id === 'd-t1-leg1')).toMatchObject({ status: 'ended', cause: 16 });
    expect(state.legs.find((l) => l.id === 'd-leg1')?.status).toBe('bridged');
  });

  it("warm: the end of the target's other device (hung up as answered elsewhere) is recorded and changes nothing else", () => {
    const { state, commands } = play(joined('warm').state, [{ type: 'LegEnded', legId: 'd-t1-leg2', cause: 16, at: 3200 }]);
    expect(commands).toEqual([]);
    expect(state.partner).toEqual({ legId: 'd-t1-leg1', agentId: 'bob' });
    expect(state.legs.find((l) => l.id === 'd-t1-leg2')).toMatchObject({ status: 'ended', cause: 16 });
  });

  it('warm: end hangs up the target, the agent and the customer; both claims released', () => {
    const { state, commands } = play(joined('warm').state, [{ type: 'EndRequested', at: 4000 }]);
    expect(commands).toEqual([
      { type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' },
      { type: 'ReleaseClaim', agentId: 'bob' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'HangupCaller' },
      { type: 'DestroyBridge', bridgeId: 'd-bridge' },
      { type: 'ReleaseAgent' },
      { type: 'Finished', result: 'ENDED' },
    ]);
    expect(state.result).toBe('ENDED');
  });

  it('warm: the customer hanging up hangs up both agents', () => {
    const { commands } = play(joined('warm').state, [{ type: 'CallerHungUp', at: 4000 }]);
    expect(commands.filter((c) => c.type === 'HangupLeg' || c.type === 'ReleaseClaim' || c.type === 'ReleaseAgent')).toEqual([
      { type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' },
      { type: 'ReleaseClaim', agentId: 'bob' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'ReleaseAgent' },
    ]);
  });

  it('a failed join hangs the device up and the others keep ringing', () => {
    const { state, commands } = play(answeredOn1('blind'), [{ type: 'TransferJoinFailed', legId: 'd-t1-leg1', detail: 'x', at: 3100 }]);
    expect(commands).toEqual([{ type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' }]);
    const after = play(state, [{ type: 'LegEnded', legId: 'd-t1-leg1', cause: 16, at: 3200 }]).state;
    expect(after.round?.child.phase).toBe('ringing');
    expect(after.round?.child.winner).toBeUndefined();
  });

  it('a join for a round that is over, or a leg it does not know, changes nothing', () => {
    expect(play(talking(), [{ type: 'TransferJoined', legId: 'd-t1-leg1', at: 1 }]).commands).toEqual([]);
    expect(play(ringingTarget('blind'), [{ type: 'TransferJoined', legId: 'x', at: 1 }]).commands).toEqual([]);
  });

  it("a join reported for another channel while the target's answer is being joined does not complete the transfer", () => {
    const { state, commands } = play(answeredOn1('blind'), [{ type: 'TransferJoined', legId: 'd-leg1', at: 3100 }]);
    expect(commands).toEqual([]);
    expect(state.agentId).toBe('alice');
    expect(state.round?.child.phase).toBe('bridging');
  });
});

describe('nobody answers', () => {
  it('blind, no answer: the target claim is released and the customer is back with the agent (MOH off)', () => {
    const { state, commands } = play(ringingTarget('blind'), [
      { type: 'LegEnded', legId: 'd-t1-leg1', cause: 19, at: 4000 },
      { type: 'LegEnded', legId: 'd-t1-leg2', cause: 19, at: 4000 },
    ]);
    expect(commands).toEqual([
      { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg2' },
      { type: 'CancelTimer', name: 'xfer:overall' },
      { type: 'ReleaseClaim', agentId: 'bob' },
      { type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'NOANSWER' },
      { type: 'StopCallerMoh' },
    ]);
    expect(state.agentId).toBe('alice');
    expect(state.phase).toBe('talking');
    expect(state.round).toBeUndefined();
  });

  it('a busy device: BUSY outcome (agentgate hangs the busy leg up), back with the agent', () => {
    const { commands } = play(ringingTarget('warm'), [
      { type: 'LegDialStatus', legId: 'd-t1-leg1', dialStatus: 'BUSY' },
      { type: 'LegEnded', legId: 'd-t1-leg1', cause: 17, at: 4000 },
      { type: 'LegEnded', legId: 'd-t1-leg2', cause: 19, at: 4000 },
    ]);
    expect(commands).toContainEqual({ type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'BUSY' });
    expect(commands).not.toContainEqual({ type: 'StopCallerMoh' });
  });

  it("the round's overall timer hangs up every device (normal) and fails TIMEOUT", () => {
    const { commands } = play(ringingTarget('blind'), [{ type: 'TimerFired', name: 'xfer:overall', at: 32000 }]);
    expect(commands).toEqual([
      { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg1' },
      { type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' },
      { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg2' },
      { type: 'HangupLeg', legId: 'd-t1-leg2', reason: 'normal' },
      { type: 'ReleaseClaim', agentId: 'bob' },
      { type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'TIMEOUT' },
      { type: 'StopCallerMoh' },
    ]);
  });

  it('the agent left while the target rang: the customer waits on MOH, then goes on with TRANSFER_FAILED', () => {
    const left = play(ringingTarget('warm'), [{ type: 'AgentReleaseRequested', at: 2500 }]);
    expect(left.commands).toEqual([
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'ReleaseClaim', agentId: 'alice' },
      { type: 'StartCallerMoh' },
    ]);
    expect(left.state.phase).toBe('talking');
    const gone = play(left.state, [{ type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 2600 }]);
    expect(gone.commands).toEqual([]);
    const { state, commands } = play(gone.state, [
      { type: 'LegEnded', legId: 'd-t1-leg1', cause: 19, at: 4000 },
      { type: 'LegEnded', legId: 'd-t1-leg2', cause: 19, at: 4000 },
    ]);
    expect(commands.slice(2)).toEqual([
      { type: 'ReleaseClaim', agentId: 'bob' },
      { type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'NOANSWER' },
      { type: 'StopCallerMoh' },
      { type: 'DestroyBridge', bridgeId: 'd-bridge' },
      { type: 'SetCallerVar', name: 'AGENTGATE_RESULT', value: 'TRANSFER_FAILED' },
      { type: 'ContinueCaller', fallback: undefined },
      { type: 'Finished', result: 'TRANSFER_FAILED' },
    ]);
    expect(state.result).toBe('TRANSFER_FAILED');
    expect(state.claimHeld).toBe(false);
    expect(state.hungUpBy).toBe('agentgate');
    expect(state.endedAt).toBe(4000);
  });

  it('the agent left a held customer while the target rang: the round failing stops the hold music before the customer goes on', () => {
    const held = play(talking(), [{ type: 'HoldRequested', at: 1500 }]).state;
    const left = play(held, [
      request('warm'),
      { type: 'LegStasisStarted', legId: 'd-t1-leg1' },
      { type: 'LegStasisStarted', legId: 'd-t1-leg2' },
      { type: 'AgentReleaseRequested', at: 2500 },
    ]);
    expect(left.commands).not.toContainEqual({ type: 'StartCallerMoh' });
    const { commands } = play(left.state, [{ type: 'TimerFired', name: 'xfer:overall', at: 32000 }]);
    expect(commands.filter((c) => c.type === 'StopCallerMoh' || c.type === 'ContinueCaller').map((c) => c.type)).toEqual([
      'StopCallerMoh',
      'ContinueCaller',
    ]);
  });

  it("the agent's phone hung up while the target rang (blind): no second hang-up; the target answering takes the call", () => {
    const left = play(ringingTarget('blind'), [{ type: 'LegEnded', legId: 'd-leg1', cause: 16, at: 2500 }]);
    expect(left.commands).toEqual([{ type: 'ReleaseClaim', agentId: 'alice' }]);
    const { state, commands } = play(left.state, [
      { type: 'LegAnswered', legId: 'd-t1-leg2', at: 3000 },
      { type: 'TransferJoined', legId: 'd-t1-leg2', at: 3100 },
    ]);
    expect(commands.slice(-2)).toEqual([
      { type: 'StopCallerMoh' },
      { type: 'TransferOutcome', target: 'bob', outcome: 'answered', endpoint: 'PJSIP/3' },
    ]);
    expect(state.agentId).toBe('bob');
    expect(state.winner).toBe('d-t1-leg2');
    expect(state.claimHeld).toBe(true);
    expect(play(state, [{ type: 'AgentReleaseRequested', at: 5000 }]).state.result).toBe('AGENT_HANGUP');
  });

  it("the devices that rang are the call's legs afterwards: one answering late is hung up as answered elsewhere", () => {
    const s = play(ringingTarget('blind'), [
      { type: 'LegDialStatus', legId: 'd-t1-leg1', dialStatus: 'BUSY' },
      { type: 'LegEnded', legId: 'd-t1-leg1', cause: 17, at: 4000 },
      { type: 'TimerFired', name: 'xfer:overall', at: 32000 },
    ]).state;
    expect(s.round).toBeUndefined();
    expect(s.legs.map((l) => l.id)).toEqual(['d-leg1', 'd-t1-leg1', 'd-t1-leg2']);
    expect(play(s, [{ type: 'LegAnswered', legId: 'd-t1-leg2', at: 32001 }]).commands).toEqual([
      { type: 'HangupLeg', legId: 'd-t1-leg2', reason: 'answered_elsewhere' },
    ]);
  });

  it('a repeated release while the target rings changes nothing', () => {
    const left = play(ringingTarget('warm'), [{ type: 'AgentReleaseRequested', at: 2500 }]).state;
    expect(play(left, [{ type: 'AgentReleaseRequested', at: 2600 }]).commands).toEqual([]);
  });
});

describe('the call ends while the target rings', () => {
  it('the customer hangs up: every target device hung up normally, its timers cancelled, both claims released, nothing left', () => {
    const { state, commands } = play(ringingTarget('blind'), [{ type: 'CallerHungUp', at: 2500 }]);
    expect(commands).toEqual([
      { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg1' },
      { type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' },
      { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg2' },
      { type: 'HangupLeg', legId: 'd-t1-leg2', reason: 'normal' },
      { type: 'CancelTimer', name: 'xfer:overall' },
      { type: 'ReleaseClaim', agentId: 'bob' },
      { type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'CALLER_HANGUP' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'DestroyBridge', bridgeId: 'd-bridge' },
      { type: 'ReleaseAgent' },
      { type: 'Finished', result: 'ANSWERED' },
    ]);
    expect(state.round).toBeUndefined();
    expect(state.timers).toEqual([]);
  });

  it('end hangs up the ringing devices too (result ENDED)', () => {
    const { commands } = play(ringingTarget('warm'), [{ type: 'EndRequested', at: 2500 }]);
    expect(commands.filter((c) => c.type === 'HangupLeg' || c.type === 'HangupCaller' || c.type === 'TransferOutcome')).toEqual([
      { type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' },
      { type: 'HangupLeg', legId: 'd-t1-leg2', reason: 'normal' },
      { type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'ENDED' },
      { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
      { type: 'HangupCaller' },
    ]);
  });

  it('a transfer to a number or a requeue while the target rings stops the round first (devices hung up, claim released)', () => {
    const target = { context: 'agentgate-transfer', extension: '0612', priority: 1 };
    for (const e of [
      { type: 'TransferRequested', at: 2500, to: '0612', target },
      { type: 'RequeueRequested', at: 2500, queue: 'sales', target },
    ] as DispatchEvent[]) {
      const { state, commands } = play(ringingTarget('blind'), [e]);
      expect(commands.slice(0, 7)).toEqual([
        { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg1' },
        { type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' },
        { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg2' },
        { type: 'HangupLeg', legId: 'd-t1-leg2', reason: 'normal' },
        { type: 'CancelTimer', name: 'xfer:overall' },
        { type: 'ReleaseClaim', agentId: 'bob' },
        { type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'ENDED' },
      ]);
      expect(state.result).toBe(e.type === 'TransferRequested' ? 'TRANSFERRED' : 'REQUEUED');
      expect(state.round).toBeUndefined();
    }
  });

  // Was a gap (docs/mutation.md, direct-transfer.ts), fixed: the phone's REFER and a transfer Asterisk
  // executed end the call, so they stop the round and hang up a warm partner too.
  // The round stopped by the phone's REFER or by Asterisk's own transfer: test/unit/dispatch/direct-transfer-exits.test.ts.
  it("the agent's phone transferring the customer with a warm partner in the call hangs up the partner and releases its claim", () => {
    const target = { context: 't', extension: '100', priority: 1 };
    for (const e of [
      { type: 'PhoneTransferRequested', at: 4000, to: '100', target },
      { type: 'TransferredByPbx', at: 4000, to: '100' },
    ] satisfies DispatchEvent[]) {
      const { state, commands } = play(joined('warm').state, [e]);
      expect(commands).toContainEqual({ type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' });
      expect(commands.filter((c) => c.type === 'ReleaseClaim')).toEqual([{ type: 'ReleaseClaim', agentId: 'bob' }]);
      expect(state).toMatchObject({ phase: 'done', result: 'TRANSFERRED', claimHeld: false });
      expect(state.partner).toBeUndefined();
    }
  });

  it('a target device answering after the customer left is hung up normally', () => {
    const gone = play(answeredOn1('blind'), [{ type: 'CallerHungUp', at: 3050 }]);
    expect(gone.commands).toContainEqual({ type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' });
    expect(play(gone.state, [{ type: 'TransferJoined', legId: 'd-t1-leg1', at: 3100 }]).commands).toEqual([]);
  });

  it("the target timers are the round's: other timers and legs go to the ring-all table", () => {
    const s = ringingTarget('blind');
    expect(play(s, [{ type: 'TimerFired', name: 'overall', at: 1 }]).commands).toEqual([]);
    expect(play(s, [{ type: 'LegRinging', legId: 'd-t1-leg1' }]).state.round?.child.legs[0]?.status).toBe('ringing');
  });

  it('a device of a timed-out round ending during the next round changes nothing', () => {
    const timedOut = play(ringingTarget('blind'), [{ type: 'TimerFired', name: 'xfer:overall', at: 32000 }]).state;
    const second = play(timedOut, [request('warm', { at: 33000, addresses: [twoDevices[0]!] })]).state;
    const { state, commands } = play(second, [{ type: 'LegEnded', legId: 'd-t1-leg1', cause: 16, at: 33100 }]);
    expect(commands).toEqual([]);
    expect(state.round?.target).toBe('bob');
    expect(state.phase).toBe('talking');
  });

  it('after a failed round a second one can start (new leg ids)', () => {
    const { commands } = play(failedOn(ringingTarget('blind')), [request('warm', { addresses: [twoDevices[0]!] })]);
    expect(commands).toContainEqual({ type: 'CreateLeg', legId: 'd-t2-leg1', endpoint: 'PJSIP/2' });
  });
});
