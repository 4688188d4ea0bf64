/**
 * ARI conformance for call control: every recording in
 * test/fixtures/asterisk-22.7/recordings/ari-callcontrol (hold, MOH, /continue, /redirect, snoop,
 * INFO DTMF, REFER with `core` and `ari-only` handling, endpoint and device states, click-to-call)
 * is replayed against the simulator and compared with what Asterisk 22.7 sent (see ari-replay.ts).
 * The recorded phones 1006 (INFO DTMF) and 1007 (REFER) act through the simulator's scripts of
 * them, at the recorded delay after their answer.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { recordings, replay } from './ari-replay.js';

const files = recordings('ari-callcontrol');

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('ARI call-control conformance with the recordings of Asterisk 22.7', () => {
  it('finds the call-control recordings', () => {
    expect(files.length).toBeGreaterThanOrEqual(9);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      await replay(file, (s) => (sim = s));
    }, 60_000);
  }
});
