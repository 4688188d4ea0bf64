/**
 * Start-call resolution on fakes: who is rung, and what the caller hears when nobody can be.
 * Every refusal sends the caller back to the dialplan with AGENTGATE_RESULT set first.
 */
import { describe, expect, it } from 'vitest';
import { startCall } from '../../../../src/app/dispatch/start-call.js';
import { flakyStore } from '../../../support/flaky-store.js';
import { flush, unitRig, type UnitRig } from '../../../support/fake-call-control.js';

const CALLER = { id: 'caller-1', name: 'PJSIP/5551234-00000001', caller: { number: '5551234', name: 'Customer' } };

/** The result the dialplan reads, and whether the caller was continued after it. */
function sentBack(rig: UnitRig): { result: unknown; continued: boolean; rung: number } {
  const log = rig.calls.log();
  const setVar = rig.calls.sent.find((s) => s.op === 'setVar' && s.args[1] === 'AGENTGATE_RESULT');
  return {
    result: setVar?.args[2],
    continued: log.indexOf('continueInDialplan caller-1') > log.indexOf('setVar caller-1'),
    rung: log.filter((l) => l === 'createChannel').length,
  };
}

describe('dispatch start-call resolution', () => {
  it('an unknown agent: NOAGENT, nothing rung', async () => {
    const rig = unitRig();
    await startCall(rig.ctx, CALLER, ['dispatch', 'nobody']);
    await flush();
    expect(sentBack(rig)).toEqual({ result: 'NOAGENT', continued: true, rung: 0 });
  });

  it('an agent with inbound calls off: NOAGENT, not claimed', async () => {
    const rig = unitRig();
    await startCall(rig.ctx, CALLER, ['dispatch', 'bob']);
    await flush();
    expect(sentBack(rig)).toEqual({ result: 'NOAGENT', continued: true, rung: 0 });
    expect(await rig.store.leaseHolder('agent:bob')).toBeNull();
  });

  it('an agent already claimed by another call: NOAGENT, the other call keeps the claim', async () => {
    const rig = unitRig();
    await rig.store.acquireLease('agent:alice', 'other-call', 18_000);
    await startCall(rig.ctx, CALLER, ['dispatch', 'alice']);
    await flush();
    expect(sentBack(rig)).toEqual({ result: 'NOAGENT', continued: true, rung: 0 });
    expect((await rig.store.leaseHolder('agent:alice'))?.holder).toBe('other-call');
  });

  it("every address offline: UNAVAILABLE (as Dial's CHANUNAVAIL), the claim released", async () => {
    const rig = unitRig();
    for (const e of ['PJSIP/2001', 'PJSIP/2002', 'PJSIP/2003']) rig.calls.endpoints.set(e, 'offline');
    await startCall(rig.ctx, CALLER, ['dispatch', 'alice']);
    await flush();
    expect(sentBack(rig)).toEqual({ result: 'UNAVAILABLE', continued: true, rung: 0 });
    expect(await rig.store.leaseHolder('agent:alice')).toBeNull();
  });

  it('one address offline: only the others are rung', async () => {
    const rig = unitRig();
    rig.calls.endpoints.set('PJSIP/2002', 'offline');
    await startCall(rig.ctx, CALLER, ['dispatch', 'alice']);
    await flush();
    expect(rig.calls.sent.filter((s) => s.op === 'createChannel').map((s) => (s.args[0] as { endpoint: string }).endpoint)).toEqual([
      'PJSIP/2001',
      'PJSIP/2003',
    ]);
  });

  it('the Store down: NOAGENT at once (one call at a time cannot be promised), nothing rung', async () => {
    const store = flakyStore();
    store.down = true;
    const rig = unitRig({ store });
    await startCall(rig.ctx, CALLER, ['dispatch', 'alice']);
    await flush();
    expect(sentBack(rig)).toEqual({ result: 'NOAGENT', continued: true, rung: 0 });
  });

  it('a timeout argument that is not whole seconds: NOAGENT naming the argument', async () => {
    const rig = unitRig();
    const timeline: string[] = [];
    rig.emitter.on('timeline', (t: { text: string }) => timeline.push(t.text));
    await startCall(rig.ctx, CALLER, ['dispatch', 'alice', '1.5']);
    await flush();
    expect(sentBack(rig).result).toBe('NOAGENT');
    expect(timeline[0]).toMatch(/dialplan argument 3 \(timeout\)/);
  });
});
