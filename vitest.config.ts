import { defineConfig } from 'vitest/config';

// Integration tests open real sockets (simulator ARI/AMI, Redis); every server listens on port 0.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
    // Conformance diffs must be readable in full.
    chaiConfig: { truncateThreshold: 0 },
  },
});
