import { defineConfig } from 'vitest/config';

// The multi-process scale harness (npm run test:scale): not part of npm test.
export default defineConfig({
  test: {
    include: ['test/scale/**/*.scale.ts'],
    testTimeout: 25 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
