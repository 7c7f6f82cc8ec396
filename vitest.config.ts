import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most of the suite waits on real processes, servers and timers rather than the CPU, and
    // every file has its own schema, queue prefix, bucket and ports: three files at a time
    // halve the run on a 2-core machine (vitest's default there is one).
    maxWorkers: 3,
  },
});
