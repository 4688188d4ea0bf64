/**
 * Ways out of a direct transfer (src/domain/dispatch/direct-transfer.ts through the machine) that the
 * random liveness world (machine-liveness-transfer.test.ts) found or needed: the warm partner leaving
 * on request (`hangup` asked on the partner's side releases only the partner; the call's agent and the
 * customer stay bridged), and the customer sent on while the colleague rings (requeue, transfer to a
 * number, the phone's REFER, Asterisk's own transfer): the round's music stops before the customer
 * leaves, every colleague device is hung up and the colleague's claim released.
 * (The rest of direct transfer: direct-transfer.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import {
  startDispatch,
  transition,
  type DispatchCommand,
  type DispatchEvent,
  type DispatchState,
} from '../../../src/domain/dispatch/machine.js';

function play(state: DispatchState, events: DispatchEvent[]): { state: DispatchState; commands: DispatchCommand[] } {
  let s = state;
  let commands: DispatchCommand[] = [];
  for (const e of events) ({ state: s, commands } = transition(s, e));
  return { state: s, commands };
}

const START = [
  { type: 'LegStasisStarted', legId: 'd-leg1' },
  { type: 'LegAnswered', legId: 'd-leg1', at: 1000 },
  { type: 'Bridged', at: 1100 },
] satisfies DispatchEvent[];
const talking = (): DispatchState =>
  play(
    startDispatch({
      id: 'd',
      agentId: 'alice',
      callerId: 'caller',
      now: 0,
      config: { answer: 'late', ringTimeoutSec: 30, onWinnerHangupBeforeBridge: 'keep_ringing' },
      addresses: [{ endpoint: 'PJSIP/1', delayMs: 0 }],
      claimHeld: true,
    }).state,
    START,
  ).state;
const blindRinging = (): DispatchState =>
  play(talking(), [
    { type: 'DirectTransferRequested', at: 2000, target: 'bob', mode: 'blind', addresses: [{ endpoint: 'PJSIP/2', delayMs: 0 }] },
    { type: 'LegStasisStarted', legId: 'd-t1-leg1' },
  ]).state;

const threeParties = (): DispatchState =>
  play(
    startDispatch({
      id: 'd',
      agentId: 'alice',
      callerId: 'caller',
      now: 0,
      config: { answer: 'late', ringTimeoutSec: 30, onWinnerHangupBeforeBridge: 'keep_ringing' },
      addresses: [{ endpoint: 'PJSIP/1', delayMs: 0 }],
      claimHeld: true,
    }).state,
    [
      { type: 'LegStasisStarted', legId: 'd-leg1' },
      { type: 'LegAnswered', legId: 'd-leg1', at: 1000 },
      { type: 'Bridged', at: 1100 },
      { type: 'DirectTransferRequested', at: 2000, target: 'bob', mode: 'warm', addresses: [{ endpoint: 'PJSIP/2', delayMs: 0 }] },
      { type: 'LegStasisStarted', legId: 'd-t1-leg1' },
      { type: 'LegAnswered', legId: 'd-t1-leg1', at: 3000 },
      { type: 'TransferJoined', legId: 'd-t1-leg1', at: 3100 },
    ],
  ).state;

describe("the warm transfer's partner asks to leave", () => {
  it("only the partner's leg is hung up and its claim released; the agent stays the call's agent", () => {
    const { state, commands } = play(threeParties(), [{ type: 'AgentReleaseRequested', at: 4000, agent: 'bob' }]);
    expect(commands).toEqual([
      { type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' },
      { type: 'ReleaseClaim', agentId: 'bob' },
    ]);
    expect(state).toMatchObject({ phase: 'talking', agentId: 'alice', winner: 'd-leg1', claimHeld: true });
    expect(state.partner).toBeUndefined();
  });

  it("the partner's leg ending afterwards changes nothing more; the customer hanging up then ends the call as usual", () => {
    const left = play(threeParties(), [{ type: 'AgentReleaseRequested', at: 4000, agent: 'bob' }]).state;
    const ended = play(left, [{ type: 'LegEnded', legId: 'd-t1-leg1', cause: 16, at: 4100 }]);
    expect(ended.commands).toEqual([]);
    expect(ended.state.phase).toBe('talking');
    const done = play(ended.state, [{ type: 'CallerHungUp', at: 5000 }]);
    expect(done.state).toMatchObject({ phase: 'done', result: 'ANSWERED', claimHeld: false });
    expect(done.commands).toContainEqual({ type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' });
    expect(done.commands.filter((c) => c.type === 'ReleaseClaim' || c.type === 'ReleaseAgent')).toEqual([{ type: 'ReleaseAgent' }]);
  });

  it("a release naming the call's own agent (or nobody) is the agent leaving: the partner takes the call", () => {
    for (const e of [
      { type: 'AgentReleaseRequested', at: 4000, agent: 'alice' },
      { type: 'AgentReleaseRequested', at: 4000 },
    ] as DispatchEvent[]) {
      const { state, commands } = play(threeParties(), [e]);
      expect(commands).toEqual([
        { type: 'HangupLeg', legId: 'd-leg1', reason: 'normal' },
        { type: 'ReleaseClaim', agentId: 'alice' },
      ]);
      expect(state).toMatchObject({ agentId: 'bob', winner: 'd-t1-leg1' });
    }
  });
});

describe('the customer sent on while the colleague rings (blind: on the round’s music)', () => {
  const round = [
    { type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' },
    { type: 'CancelTimer', name: 'xfer:leg:d-t1-leg1' },
    { type: 'CancelTimer', name: 'xfer:overall' },
  ];
  it('requeue: the colleague’s device is hung up and its claim released, the music stops, then the customer goes to the queue', () => {
    const { state, commands } = play(blindRinging(), [
      { type: 'RequeueRequested', at: 3000, queue: 'sales', target: { context: 'q', extension: 'sales', priority: 1 } },
    ]);
    expect(commands.findIndex((c) => c.type === 'StopCallerMoh')).toBe(commands.findIndex((c) => c.type === 'TransferOutcome') + 1);
    for (const c of round) expect(commands).toContainEqual(c);
    expect(commands).toContainEqual({ type: 'ReleaseClaim', agentId: 'bob' });
    expect(commands.filter((c) => c.type === 'StopCallerMoh')).toHaveLength(1);
    expect(commands.findIndex((c) => c.type === 'StopCallerMoh')).toBeLessThan(commands.findIndex((c) => c.type === 'ContinueCaller'));
    expect(state).toMatchObject({ phase: 'done', result: 'REQUEUED' });
    expect(state.round).toBeUndefined();
  });

  it("the agent's phone REFERs: the round stops (music off, the colleague freed) before the transfer the phone asked for", () => {
    const { state, commands } = play(blindRinging(), [
      { type: 'PhoneTransferRequested', at: 3000, to: '100', target: { context: 't', extension: '100', priority: 1 } },
    ]);
    expect(commands.findIndex((c) => c.type === 'StopCallerMoh')).toBe(commands.findIndex((c) => c.type === 'TransferOutcome') + 1);
    for (const c of round) expect(commands).toContainEqual(c);
    expect(commands).toContainEqual({ type: 'ReleaseClaim', agentId: 'bob' });
    expect(commands).toContainEqual({ type: 'TransferOutcome', target: 'bob', outcome: 'failed', result: 'ENDED' });
    expect(state).toMatchObject({ phase: 'done', result: 'TRANSFERRED' });
  });

  it('Asterisk transferred the customer itself: the round stops likewise (the colleague freed)', () => {
    const { state, commands } = play(blindRinging(), [{ type: 'TransferredByPbx', at: 3000, to: '100' }]);
    expect(commands.findIndex((c) => c.type === 'StopCallerMoh')).toBe(commands.findIndex((c) => c.type === 'TransferOutcome') + 1);
    expect(commands).toContainEqual({ type: 'HangupLeg', legId: 'd-t1-leg1', reason: 'normal' });
    expect(commands).toContainEqual({ type: 'ReleaseClaim', agentId: 'bob' });
    expect(state).toMatchObject({ phase: 'done', result: 'TRANSFERRED', handedOver: true });
  });

  it('the customer hanging up or end: no music stop (nobody is left to hear it), the round stops', () => {
    for (const e of [
      { type: 'CallerHungUp', at: 3000 },
      { type: 'EndRequested', at: 3000 },
    ] as DispatchEvent[]) {
      const { commands } = play(blindRinging(), [e]);
      expect(commands.filter((c) => c.type === 'StopCallerMoh')).toEqual([]);
      expect(commands).toContainEqual({ type: 'ReleaseClaim', agentId: 'bob' });
    }
  });
});
