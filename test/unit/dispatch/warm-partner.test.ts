/**
 * The partner of a warm transfer leaving on request (src/domain/dispatch/direct-transfer.ts through
 * the machine): `hangup` asked on the partner's side releases only the partner; the call's agent and
 * the customer stay bridged. (The rest of direct transfer: direct-transfer.test.ts.)
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
