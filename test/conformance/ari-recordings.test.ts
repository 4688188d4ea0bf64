/**
 * ARI conformance: every recording in test/fixtures/asterisk-22.7/recordings/ari and /ari-pjsip is
 * replayed against the simulator and compared with what Asterisk 22.7 sent (see ari-replay.ts for
 * what is compared). The recordings are read at test time; a difference fails with a readable diff.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/sim/index.js';
import { recordings, replay, ROOT } from './ari-replay.js';

const files = [...recordings('ari'), ...recordings('ari-pjsip')];

let sim: Simulator | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe('ARI conformance with the recordings of Asterisk 22.7', () => {
  it('finds the recordings', () => {
    expect(existsSync(ROOT)).toBe(true);
    expect(files.length).toBeGreaterThanOrEqual(11);
  });

  for (const file of files) {
    it(`replays ${file}`, async () => {
      await replay(file, (s) => (sim = s));
    });
  }
});
