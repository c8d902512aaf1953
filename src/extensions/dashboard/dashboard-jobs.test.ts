import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Component } from '../../component/component.js';
import type { JobSummary } from '../../connectors/jobs/job-book.js';
import { buildJobRecord } from '../../connectors/jobs/job-record.js';
import { silentLogger } from '../../telemetry/logger.js';
import { testHost } from '../../../test/support/host.js';
import { SqliteUsageStore } from '../storage/sqlite-store.js';
import { dashboardConfigSchema } from './config.js';
import { dashboardFactory } from './factory.js';

const T0 = Date.UTC(2026, 2, 1);
const MIN = 60_000;

function job(tenant: string, name: string, minutes: number, ended: boolean): JobSummary {
  return {
    identity: { kind: 'Job', name, namespace: tenant, uid: `uid-${name}` },
    tenant,
    start: T0,
    end: T0 + minutes * MIN,
    usage: [
      {
        series: { meter: 'gpu_hours', tenant, attributes: { gpu_sku: 'nvidia-l4', capacity_type: 'on-demand' } },
        amount: { num: BigInt(minutes * MIN), den: 1n },
      },
    ],
    peakGpus: { num: 1n, den: 1n },
    pods: 1,
    ...(ended ? { ended: { outcome: 'succeeded', reason: 'completed' } } : {}),
  };
}

describe('dashboard: jobs table', () => {
  let dir: string;
  let store: SqliteUsageStore;
  let dashboard: Component & { url(): string | undefined };
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mb-dashboard-jobs-'));
    store = SqliteUsageStore.open(join(dir, 'state.db'));
    store.commitJobRecords([
      buildJobRecord(job('acme', 'a', 10, true), { clusterId: 'c', type: 'gpu_job' }),
      buildJobRecord(
        {
          ...job('beta', 'b', 20, true),
          // DCGM joined: 42.5 % over its GPU time, 20,480 MiB peak.
          gpu: {
            utilizationIntegral: { num: 425n * BigInt(20 * MIN), den: 10n },
            coveredMs: BigInt(20 * MIN),
            energyMj: { num: 0n, den: 1n },
            peakFramebufferMiB: 20_480n,
          },
        },
        { clusterId: 'c', type: 'gpu_job' },
      ),
      buildJobRecord(job('acme', 'long', 60, false), {
        clusterId: 'c',
        type: 'gpu_job_progress',
        progressAt: T0 + 60 * MIN,
      }),
    ]);
    dashboard = dashboardFactory.createExtension(
      { id: 'dashboard', logger: silentLogger() },
      dashboardConfigSchema.parse({ endpoint: '127.0.0.1:0' }),
    ) as Component & { url(): string | undefined };
    await dashboard.start(testHost({ store: () => store }));
  });
  afterAll(async () => {
    await dashboard?.shutdown();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('/api/jobs lists the finished jobs newest first, per tenant with ?tenant=; progress records are left out', async () => {
    const res = await fetch(new URL('api/jobs', dashboard.url()));
    const all = (await res.json()) as { jobs: Array<Record<string, string>> };
    expect(res.status, JSON.stringify(all)).toBe(200);
    expect(all.jobs.map((j) => [j.tenant, j.job, j.outcome, j.billed_gpu_seconds])).toEqual([
      ['beta', 'Job/b', 'succeeded', '1200.000000000'],
      ['acme', 'Job/a', 'succeeded', '600.000000000'],
    ]);
    expect(all.jobs.map((j) => [j.avg_utilization, j.peak_vram_gb])).toEqual([
      ['42.500000000', '20.000000000'],
      ['', ''],
    ]);
    const acme = (await (await fetch(new URL('api/jobs?tenant=acme', dashboard.url()))).json()) as { jobs: unknown[] };
    expect(acme.jobs).toHaveLength(1);
    const page = await (await fetch(dashboard.url() as string)).text();
    expect(page).toContain('data-testid="jobs"');
  });
});
