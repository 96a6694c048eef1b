import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    environment: 'node',
    restoreMocks: true,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts', 'test/local/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'infra',
          sequence: { groupOrder: 1 },
          include: ['test/infra/**/*.test.ts'],
          // Infra tests synthesize the whole app (esbuild bundling included); give them room.
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          // Its own group (run last), since it runs a different number of files at once.
          sequence: { groupOrder: 2 },
          include: ['test/e2e/**/*.test.ts'],
          // The local cloud starts once for the whole suite (synth, DynamoDB Local, gateways).
          globalSetup: ['test/e2e/global-setup.ts'],
          // Two files at once, whatever the machine's cores: the crash test mostly waits out a
          // visibility timeout, and the others run beside it one by one (more at once starve the
          // shared local cloud on two cores).
          maxWorkers: 2,
          testTimeout: 30_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
