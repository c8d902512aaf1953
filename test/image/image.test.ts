import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The repository's Dockerfile, built without a Docker daemon (scripts/build-image.sh: buildah with chroot
 * isolation, from a base assembled with mmdebstrap + the npm `node` package), and its entrypoint run as the
 * image says (scripts/image/run-image.sh: uid 1000, read-only root file system, writable state dir and /tmp).
 * Minutes, not seconds: the first build takes ~6-10 min on 2 shared cores, a rebuild after a src/ change less
 * (buildah reuses the npm ci layer). It runs where the builder is installed; MB_IMAGE=0 skips it.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CACHE =
  process.env.MB_IMAGE_CACHE ?? join(process.env.MB_CACHE_DIR ?? join(homedir(), '.cache', 'meterbridge'), 'image');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGE = `${join(CACHE, 'oci')}:${VERSION}`;

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, tool)));
}

function skipReason(): string {
  if (process.env.MB_IMAGE === '0') return 'MB_IMAGE=0';
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return 'needs root on Linux (mounts, chroot)';
  const missing = ['buildah', 'mmdebstrap', 'umoci', 'unshare'].filter((t) => !onPath(t));
  return missing.length > 0 ? `missing ${missing.join(', ')}: apt-get install buildah mmdebstrap umoci` : '';
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { cwd: ROOT, env: { ...process.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

interface ImageConfig {
  User?: string;
  WorkingDir?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Volumes?: Record<string, unknown>;
}

/** The built image's manifest digest and config, from the OCI layout. */
function imageConfig(): { digest: string; config: ImageConfig } {
  const layout = join(CACHE, 'oci');
  const blob = (digest: string) => JSON.parse(readFileSync(join(layout, 'blobs', ...digest.split(':')), 'utf8'));
  const refs = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
    manifests: { digest: string; annotations?: Record<string, string> }[];
  };
  const ref = refs.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === VERSION)!;
  const manifest = blob(ref.digest) as { config: { digest: string } };
  return { digest: ref.digest, config: (blob(manifest.config.digest) as { config: ImageConfig }).config };
}

const skip = skipReason();

describe.skipIf(skip)(
  `the image built from the Dockerfile without a daemon${skip ? ` (skipped: ${skip})` : ''}`,
  () => {
    let build: Run;
    beforeAll(async () => {
      build = await run(['scripts/build-image.sh', '--no-run'], 40 * 60_000);
    }, 41 * 60_000);

    it('builds with buildah into an OCI layout: uid 1000, the state dir as volume and working dir', () => {
      expect(build.code, build.stderr.slice(-3000)).toBe(0);
      const { config } = imageConfig();
      expect(config.User).toBe('1000:1000');
      expect(config.WorkingDir).toBe('/var/lib/meterbridge');
      expect(Object.keys(config.Volumes ?? {})).toEqual(['/var/lib/meterbridge']);
      expect(config.Entrypoint?.at(-1)).toBe('/app/bin/meterbridge.js');
      expect(config.Cmd).toEqual(['run', '-c', '/etc/meterbridge/config.yaml']);
    });

    it('runs `validate` on the example config as uid 1000 on a read-only root', async () => {
      const res = await run(
        [
          'scripts/image/run-image.sh',
          '--secret',
          'lago/api-key=test-key',
          '--env',
          'OPENMETER_API_KEY=test-key',
          IMAGE,
          'validate',
          '-c',
          '/app/config/examples/production.yaml',
        ],
        5 * 60_000,
      );
      expect(res.code, res.stderr).toBe(0);
      expect(res.stdout).toContain('/app/config/examples/production.yaml: valid');
      // The state directory ships in the image, owned by uid/gid 1000 (the unpacked bundle keeps owners).
      const state = statSync(
        join(CACHE, 'bundles', imageConfig().digest.replace(':', '-'), 'rootfs', 'var/lib/meterbridge'),
      );
      expect([state.uid, state.gid]).toEqual([1000, 1000]);
    });

    it(
      'runs `demo --days 1` to an exact ground truth, writing only to the state dir',
      async () => {
        const res = await run(
          ['scripts/image/run-image.sh', IMAGE, 'demo', '--days', '1', '--progress', 'off'],
          15 * 60_000,
        );
        expect(res.code, res.stderr.slice(-3000)).toBe(0);
        expect(res.stdout).toMatch(/ground truth: exact/);
        expect(res.stdout).toMatch(/store: \/var\/lib\/meterbridge\//);
      },
      16 * 60_000,
    );

    it('runs `run` with the relative default paths of the store, the alerts state and the file exporter', async () => {
      // No path is set: each default is relative, and must land in the writable working dir, not in /app.
      const config = [
        'receivers:',
        '  simulator: { scenario: ai-cloud, duration: 1d, speed: max, stop_when_done: true }',
        'connectors:',
        '  usage: { window: 1h, grace: 10s, cluster_id: image-test }',
        'exporters:',
        '  file: { path: records.jsonl }',
        'extensions:',
        '  storage: {}',
        '  alerts: { price_book: /app/config/examples/price-book.yaml }',
        'service:',
        '  extensions: [storage, alerts]',
        '  pipelines:',
        '    metrics: { receivers: [simulator], exporters: [usage] }',
        '    usage: { receivers: [usage], exporters: [file] }',
      ].join('\n');
      const res = await run(
        [
          'scripts/image/run-image.sh',
          '--secret',
          `config.yaml=${config}`,
          IMAGE,
          'run',
          '-c',
          '/etc/meterbridge/secrets/config.yaml',
        ],
        10 * 60_000,
      );
      expect(res.code, res.stderr.slice(-3000)).toBe(0);
      const lines = (res.stdout + res.stderr)
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; path?: string; component?: string });
      expect(lines).toContainEqual(
        expect.objectContaining({ component: 'storage', msg: 'store created', path: './meterbridge.db' }),
      );
      expect(lines).toContainEqual(expect.objectContaining({ component: 'alerts', msg: 'budget alerts armed' }));
      expect(lines.at(-1)?.msg).toBe('exiting');
    });

    it('has a read-only root: a store in the home of uid 1000 (writable but for the read-only root) is refused', async () => {
      const res = await run(
        [
          'scripts/image/run-image.sh',
          IMAGE,
          'demo',
          '--days',
          '1',
          '--progress',
          'off',
          '--store',
          '/home/node/demo.db',
        ],
        5 * 60_000,
      );
      expect(res.code).not.toBe(0);
      expect(res.stdout + res.stderr).toMatch(
        // The writer lock beside the store is the first file it opens (one writer per store).
        /\/home\/node\/demo\.db(\.lock: cannot open the writer lock|: cannot open the state store): unable to open database file/,
      );
    });
  },
);
