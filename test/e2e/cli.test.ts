import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';

const BAD = resolve(import.meta.dirname, '../fixtures/bad.yaml');
const GOOD = resolve(import.meta.dirname, '../fixtures/good.yaml');

describe('meterbridge validate', () => {
  it('exits non-zero and names every error of a bad config by its path', () => {
    const r = runCli(['validate', '-c', BAD]);
    expect(r.code).toBe(2); // as `run` with the same config: docs/errors.md, Exit status
    const marked = readFileSync(BAD, 'utf8')
      .split('\n')
      .filter((l) => l.includes('# ERROR')).length;
    const issueLines = r.stderr.split('\n').filter((l) => /^ {2}\S+.*: /.test(l));
    expect(issueLines.length).toBeGreaterThanOrEqual(marked);
    for (const path of [
      'receivers::simulator',
      'receivers::kubernets',
      'connectors::usage::window',
      'exporters::file/out::path',
      'service::pipelines::usage',
      'service::telemetry::logs::level',
    ]) {
      expect(r.stderr).toContain(path);
    }
  });

  it('accepts a good config', () => {
    const r = runCli(['validate', '-c', GOOD]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('meterbridge demo', () => {
  it('bills a simulated month exactly: --days 30 --seed 7 --json reports 0 differences', () => {
    const dir = tempDir('demo');
    const r = runCli(['demo', '--days', '30', '--seed', '7', '--json', '--store', join(dir, 'demo.db')], {
      timeoutMs: 600_000,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.differences).toBe(0);
    // Job records (jobs connector) against the simulation's planned jobs: outcome, times, usage, tenant.
    expect(doc.job_differences).toBe(0);
    expect(doc.job_records).toBeGreaterThan(1000);
    expect(doc.seed).toBe(7);
    expect(doc.days).toBe(30);
    for (const tenant of ['team-alpha', 'team-beta', 'team-gpu', 'unattributed']) {
      expect(Object.keys(doc.tenants)).toContain(tenant);
    }
    // Per-tenant, per-meter, per-SKU figures as decimal strings, billed equal to truth.
    const h100 = doc.tenants['team-gpu'].gpu_hours['nvidia-h100-80gb-hbm3'];
    expect(h100.billed).toMatch(/^\d+\.\d{9}$/);
    expect(h100.billed).toBe(h100.truth);
    expect(doc.delivered).toEqual([{ exporter: 'file', lag: 0, dead_letters: 0 }]);
    // The unattributed bucket is shown above but billed to nobody: the file exporter never receives it.
    const events = readFileSync(doc.records_file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { subject: string; type: string });
    expect(events.some((e) => e.type === 'gpu_job')).toBe(true);
    expect(events.filter((e) => e.type.startsWith('gpu_job')).every((e) => e.subject !== 'unattributed')).toBe(true);
    const subjects = events.filter((e) => !e.type.startsWith('gpu_job')).map((e) => e.subject);
    expect(subjects.length).toBeGreaterThan(0);
    expect(subjects.length).toBeLessThan(doc.records);
    expect(subjects.filter((s) => s === 'unattributed')).toEqual([]);
  });

  it('prints the per-tenant table and the ground-truth verdict', () => {
    const dir = tempDir('demo-table');
    const r = runCli(['demo', '--days', '2', '--store', join(dir, 'demo.db')], { timeoutMs: 300_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^tenant\s+node-h\s+cpu core-h/m);
    expect(r.stdout).toContain('team-gpu');
    expect(r.stdout).toMatch(/^team-gpu\s+nvidia-h100-80gb-hbm3\s/m);
    expect(r.stdout).toMatch(/^ground truth: exact/m);
    expect(r.stdout.trim().split('\n').at(-1)).toMatch(/^job records: exact \(\d+ jobs compared, 0 differences\)/);
  });

  it('rejects a bad option with a clear message', () => {
    const r = runCli(['demo', '--days', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--days');
  });
});
