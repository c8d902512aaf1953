import { describe, expect, it } from 'vitest';
import { buildJobRecord } from '../connectors/jobs/job-record.js';
import type { JobSummary } from '../connectors/jobs/job-book.js';
import type { JobMark } from '../receivers/simulator/simulation.js';
import { loadScenario } from '../receivers/simulator/load-scenario.js';
import { buildTimeline } from '../receivers/simulator/timeline.js';
import { compareJobs, expectedJob } from './demo-jobs.js';

const T0 = Date.UTC(2026, 0, 1);
const mark: JobMark = {
  tenant: 'team-a',
  namespace: 'team-a',
  kind: 'Job',
  name: 'train-00001',
  uid: 'job-1',
  start: T0,
  end: T0 + 90_000,
  outcome: 'preempted',
  reason: 'spot_reclaimed',
  holdings: [
    {
      series: { meter: 'gpu_hours', tenant: 'team-a', attributes: { gpu_sku: 'nvidia-l4', capacity_type: 'spot' } },
      quantity: 2n,
    },
    { series: { meter: 'cpu_core_hours', tenant: 'team-a', attributes: { capacity_type: 'spot' } }, quantity: 1500n },
  ],
};

function recordOf(m: JobMark, outcome = m.outcome) {
  const s: JobSummary = {
    identity: { kind: m.kind, name: m.name, namespace: m.namespace, uid: m.uid },
    tenant: m.tenant,
    start: m.start,
    end: m.end,
    usage: m.holdings.map((h) => ({
      series: h.series,
      amount: { num: h.quantity * BigInt(m.end - m.start), den: 1n },
    })),
    peakGpus: { num: 2n, den: 1n },
    pods: 1,
    ended: { outcome, reason: m.reason },
  };
  return buildJobRecord(s, { clusterId: 'demo', type: 'gpu_job' });
}

describe('demo: job records against the simulation’s planned jobs', () => {
  it('expects usage from the planned times and holdings', () => {
    expect(expectedJob(mark)).toMatchObject({
      gpu_seconds: '180.000000000',
      cpu_core_seconds: '135.000000000',
      memory_gib_seconds: '0.000000000',
      gpu_sku: 'nvidia-l4',
      capacity_type: 'spot',
    });
  });

  it('counts a wrong field, a missing record and an unplanned one; jobs not yet due are left out', () => {
    expect(compareJobs([recordOf(mark)], [mark], T0 + 90_000)).toEqual({ jobs: 1, differences: [] });
    const wrong = compareJobs([recordOf(mark, 'failed')], [mark], T0 + 90_000);
    expect(wrong.differences).toEqual([
      { job: 'team-a/train-00001', field: 'outcome', billed: 'failed', truth: 'preempted' },
    ]);
    expect(compareJobs([], [mark], T0 + 90_000).differences).toHaveLength(1);
    expect(compareJobs([], [mark], T0 + 89_999)).toEqual({ jobs: 0, differences: [] });
    expect(compareJobs([recordOf(mark)], [], T0).differences[0]?.truth).toBe('not planned');
  });

  it('the ai-cloud scenario plans jobs with owners and every kind of ending', () => {
    const timeline = buildTimeline(loadScenario('ai-cloud'), { seed: 7, duration: 10 * 86_400_000 });
    const marks = [...timeline.jobMarks()];
    const endings = new Set(marks.map((m) => `${m.kind} ${m.outcome} ${m.reason}`));
    expect(endings).toContain('Job succeeded completed');
    expect(endings).toContain('Job failed workload_failed');
    expect([...endings].some((e) => e.endsWith('preempted spot_reclaimed'))).toBe(true);
    expect([...endings].some((e) => e.startsWith('Pod '))).toBe(true);
    const owned = [...timeline.events()].find((e) => e.object.kind === 'Pod' && e.object.owner !== undefined);
    expect(owned?.object).toMatchObject({ owner: { kind: 'Job' } });
  });
});
