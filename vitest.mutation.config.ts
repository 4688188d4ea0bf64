import { defineConfig } from 'vitest/config';

/**
 * The tests StrykerJS runs against each mutant of src/domain (`npm run mutate`): the domain's unit
 * tests only. They need no socket, no Redis and no simulator, so a mutant costs milliseconds.
 */
export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts'],
    chaiConfig: { truncateThreshold: 0 },
  },
});
