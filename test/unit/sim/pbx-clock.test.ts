/**
 * The simulated PBX on a manual clock: every delay a script or the dialplan takes is a clock timer,
 * so minutes of ringing run in a millisecond and the order of what a phone does is exact.
 */
import { describe, expect, it } from 'vitest';
import { Pbx, PbxError, type AriEvent } from '../../../src/sim/pbx/pbx.js';
import { manualClock } from '../../support/manual-clock.js';

const START = Date.UTC(2026, 10, 24, 15, 36, 32, 409);

function pbxOnManualClock(): { pbx: Pbx; clock: ReturnType<typeof manualClock>; events: AriEvent[] } {
  const clock = manualClock(START);
  const pbx = new Pbx({ clock });
  pbx.heldApps.add('app');
  const events: AriEvent[] = [];
  pbx.on('ari-event', (e: AriEvent) => events.push(e));
  return { pbx, clock, events };
}

/** StasisStart of a created PJSIP channel comes a moment (setImmediate) after the create returns. */
const aMoment = (): Promise<void> => new Promise((r) => setImmediate(r));

/** What fn threw (undefined when it did not). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

describe('the simulated PBX on a manual clock', () => {
  it('answers PJSIP/1001 exactly 1 s of clock time after the dial, stamping events with the clock', async () => {
    const { pbx, clock, events } = pbxOnManualClock();
    const leg = pbx.create({ endpoint: 'PJSIP/1001', app: 'app' });
    await aMoment();
    pbx.dial(leg.id, {});
    clock.advance(999);
    expect(pbx.channel(leg.id)?.state).toBe('Ringing');
    clock.advance(1);
    expect(pbx.channel(leg.id)?.state).toBe('Up');
    const up = events.find((e) => e.type === 'ChannelStateChange' && (e.channel as { state: string }).state === 'Up');
    expect(up?.timestamp).toBe('2026-11-24T15:36:33.409+0000');
    expect(leg.id.startsWith(`${Math.floor(START / 1000)}.`)).toBe(true);
  });

  it('ends a leg nobody answers at the dial timeout (cause 19), not a millisecond before', async () => {
    const { pbx, clock } = pbxOnManualClock();
    const leg = pbx.create({ endpoint: 'PJSIP/1002', app: 'app' });
    await aMoment();
    pbx.dial(leg.id, { timeout: 600 });
    clock.advance(599_999);
    expect(pbx.channel(leg.id)?.state).toBe('Ringing');
    clock.advance(1);
    expect(pbx.channel(leg.id)).toBeUndefined();
    expect(pbx.hangupRecord(leg.id)).toMatchObject({ cause: 19, how: 'hungup', answered: false });
    expect(clock.pending()).toBe(0);
  });

  it('enters Stasis on a created Local leg only after localStasisDelayMs; a /dial before gets 409', () => {
    const { pbx, clock } = pbxOnManualClock();
    const leg = pbx.create({ endpoint: 'Local/answer@agents', app: 'app' });
    clock.advance(14);
    expect(thrownBy(() => pbx.dial(leg.id, {}))).toMatchObject({ status: 409 });
    clock.advance(1);
    pbx.dial(leg.id, {});
    clock.advance(0);
    expect(pbx.channel(leg.id)?.state).toBe('Up');
  });

  it("cancels a channel's pending timers when it is hung up", async () => {
    const { pbx, clock } = pbxOnManualClock();
    const leg = pbx.create({ endpoint: 'PJSIP/1001', app: 'app' });
    await aMoment();
    pbx.dial(leg.id, { timeout: 30 });
    expect(clock.pending()).toBe(2);
    pbx.hangup(leg.id, 'normal', 16);
    expect(clock.pending()).toBe(0);
  });

  it.each([
    ['answer', (p: Pbx, id: string) => p.answer(id)],
    ['dial', (p: Pbx, id: string) => p.dial(id, {})],
    ['ring', (p: Pbx, id: string) => p.mediaOp(id)],
    ['play', (p: Pbx, id: string) => p.play(id, 'sound:beep')],
    ['continue', (p: Pbx, id: string) => p.continueInDialplan(id, {})],
  ])('answers %s on a channel not (yet) in Stasis with 409 "Channel not in Stasis application"', (_name, op) => {
    const { pbx } = pbxOnManualClock();
    const leg = pbx.create({ endpoint: 'PJSIP/1002', app: 'app' }); // StasisStart not yet sent
    const err = thrownBy(() => op(pbx, leg.id));
    expect(err).toBeInstanceOf(PbxError);
    expect(err).toMatchObject({ status: 409, body: { message: 'Channel not in Stasis application' } });
  });
});
