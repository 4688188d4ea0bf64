import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Vitest's own order, except that the few files that wait in real time (ari-client's reconnect
 * backoff, ~45 s) start first, so they overlap the rest instead of running alone at the end.
 */
const SLOW = ['reconnect-forever.test.ts'];
class SlowFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const slow = (f: TestSpecification): boolean => SLOW.some((s) => f.moduleId.endsWith(s));
    return [...sorted.filter(slow), ...sorted.filter((f) => !slow(f))];
  }
}

// Integration tests open real sockets (simulator ARI/AMI, Redis); every server listens on port 0.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
    sequence: { sequencer: SlowFirst },
    // At least two files at once: the slow file mostly waits, the rest go on beside it.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Conformance diffs must be readable in full.
    chaiConfig: { truncateThreshold: 0 },
  },
});
