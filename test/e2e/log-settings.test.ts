import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../support/cli.js';

/** JSON log lines of a command's stderr (progress and other text skipped). */
function logLines(stderr: string): Array<{ level: string; msg: string }> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: string; msg: string });
}

/** A `run` config that stops by itself: two simulated hours at full speed; its own level is `error`. */
function runConfig(dir: string): string {
  const path = join(dir, 'config.yaml');
  writeFileSync(
    path,
    `receivers:
  simulator: { scenario: ai-cloud, duration: 2h, speed: max, stop_when_done: true }
connectors:
  usage: { window: 1h, grace: 1s, cluster_id: log-test }
exporters:
  file: { path: ${join(dir, 'records.jsonl')} }
extensions:
  storage: { path: ${join(dir, 'state.db')} }
service:
  extensions: [storage]
  pipelines:
    metrics: { receivers: [simulator], exporters: [usage] }
    usage: { receivers: [usage], exporters: [file] }
  telemetry: { logs: { level: error } }
`,
  );
  return path;
}

describe('log level and format of the commands (flag > LOG_LEVEL/LOG_FORMAT > config > info/json)', () => {
  it('LOG_LEVEL=debug meterbridge demo --days 1 prints debug lines (the demo config says warn)', () => {
    const dir = tempDir('log-demo');
    const r = runCli(['demo', '--days', '1', '--progress', 'off', '--store', join(dir, 'demo.db')], {
      env: { LOG_LEVEL: 'debug' },
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = logLines(r.stderr);
    expect(lines.filter((l) => l.level === 'debug' && l.msg === 'window closed')).toHaveLength(24);
  });

  it('run: LOG_LEVEL beats the config, --log-level beats LOG_LEVEL, --log-format pretty writes text lines', () => {
    const quiet = runCli(['run', '-c', runConfig(tempDir('log-run'))]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(logLines(quiet.stderr)).toEqual([]);

    const env = runCli(['run', '-c', runConfig(tempDir('log-run'))], { env: { LOG_LEVEL: 'debug' } });
    expect(env.code, env.stderr).toBe(0);
    expect(logLines(env.stderr).filter((l) => l.level === 'debug' && l.msg === 'window closed')).toHaveLength(2);

    const flag = runCli(['run', '-c', runConfig(tempDir('log-run')), '--log-level', 'info', '--log-format', 'pretty'], {
      env: { LOG_LEVEL: 'debug', LOG_FORMAT: 'json' },
    });
    expect(flag.code, flag.stderr).toBe(0);
    expect(logLines(flag.stderr)).toEqual([]);
    expect(flag.stderr).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: meterbridge started /m);
    expect(flag.stderr).not.toContain('DEBUG');
  });

  it('an unknown level or format is a usage error (exit 2) naming its source', () => {
    const dir = tempDir('log-bad');
    const r = runCli(['run', '-c', runConfig(dir), '--log-format', 'xml'], { env: { LOG_LEVEL: 'loud' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'meterbridge run: LOG_LEVEL must be one of trace, debug, info, warn, error (got "loud")',
    );
    expect(r.stderr).toContain('meterbridge run: --log-format must be one of json, pretty (got "xml")');
  });
});
