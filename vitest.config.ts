import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

/**
 * Real servers (kube-apiserver + etcd, the OpenTelemetry Collector, Prometheus, Chromium) are built or
 * installed by test/harness/setup-*.sh (run by scripts/test.sh) and started once per run by the
 * test/harness/global-*.ts setups found here.
 */
const globalSetup = readdirSync(new URL('./test/harness/', import.meta.url))
  .filter((f) => /^global-.*\.ts$/.test(f))
  .sort()
  .map((f) => `./test/harness/${f}`);

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    pool: 'forks',
    maxWorkers: 2,
    globalSetup,
  },
});
