/**
 * The fixture exporter's script: what dcgm-exporter and cAdvisor "say" at scrape k, with explicit sample
 * timestamps `t0 + k × STEP_MS` (virtual time, 15 s apart like real DCGM scrapes, served once a second), so
 * the samples Prometheus stores are known exactly and the expected bills can be computed from this file.
 * It holds a counter reset, a DCGM blank sentinel, a NaN, MIG duplicates of one device, a series that
 * appears late, a loopback interface the default selector drops, and an unmapped namespace.
 */
export const STEP_MS = 15_000;
/** Scrapes 0..LAST_SCRAPE are served; later scrapes repeat the last one (same timestamp: a no-op). */
export const LAST_SCRAPE = 24;
export const BLANK = '9223372036854775794';

export type Family = 'dcgm' | 'cadvisor';

export interface ScriptSeries {
  readonly family: Family;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** The value text at scrape k; undefined: the series is absent from that scrape. */
  value(k: number): string | undefined;
}

const H100 = 'NVIDIA H100 80GB HBM3';
const gpuA = { gpu: '0', UUID: 'GPU-aaaa', device: 'nvidia0', modelName: H100, Hostname: 'node-a' };
const podA = { container: '', namespace: '', pod: '' };
const gpuB = { gpu: '0', UUID: 'GPU-bbbb', device: 'nvidia0', modelName: H100, Hostname: 'node-b' };
const migX = { GPU_I_PROFILE: '3g.40gb', GPU_I_ID: '1', container: 'main', namespace: 'team-x', pod: 'px' };
const migY = { GPU_I_PROFILE: '3g.40gb', GPU_I_ID: '2', container: 'main', namespace: 'team-y', pod: 'py' };

const energyB = (k: number) => 7_000_000_000 + 250_000 * k + k * k;

export const SCRIPT: readonly ScriptSeries[] = [
  // node-a: a dedicated node (tenant by node), GPU unallocated to a pod. Reset at k=9, NaN at k=12.
  {
    family: 'dcgm',
    name: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
    labels: { ...gpuA, ...podA },
    value: (k) => (k === 12 ? 'NaN' : String(k < 9 ? 100_000_000_000 + 300_000 * k : 50_000 + 300_000 * (k - 9))),
  },
  {
    family: 'dcgm',
    name: 'DCGM_FI_DEV_GPU_UTIL',
    labels: { ...gpuA, ...podA },
    value: (k) => (k === 5 ? BLANK : String((k * 7) % 101)),
  },
  // node-b: one MIG GPU, two instances serving two tenants; energy repeats the whole-GPU value per instance.
  {
    family: 'dcgm',
    name: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
    labels: { ...gpuB, ...migX },
    value: (k) => (k === 6 ? BLANK : String(energyB(k))),
  },
  {
    family: 'dcgm',
    name: 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION',
    labels: { ...gpuB, ...migY },
    value: (k) => String(energyB(k)),
  },
  { family: 'dcgm', name: 'DCGM_FI_DEV_GPU_UTIL', labels: { ...gpuB, ...migX }, value: (k) => (k < 12 ? '40' : '80') },
  { family: 'dcgm', name: 'DCGM_FI_DEV_GPU_UTIL', labels: { ...gpuB, ...migY }, value: (k) => String(10 * (k % 3)) },
  // Framebuffer used (MiB): GPU A without a pod; px peaks at 40 GiB at k=17, py grows 100 MiB a scrape.
  { family: 'dcgm', name: 'DCGM_FI_DEV_FB_USED', labels: { ...gpuA, ...podA }, value: () => '70000' },
  {
    family: 'dcgm',
    name: 'DCGM_FI_DEV_FB_USED',
    labels: { ...gpuB, ...migX },
    value: (k) => String(k === 17 ? 40_960 : 20_000 + k),
  },
  { family: 'dcgm', name: 'DCGM_FI_DEV_FB_USED', labels: { ...gpuB, ...migY }, value: (k) => String(8192 + 100 * k) },
  // cAdvisor: pod sandboxes' eth0 (reset at k=14), a pod that starts at k=4, an unmapped namespace, loopback.
  {
    family: 'cadvisor',
    name: 'container_network_transmit_bytes_total',
    labels: { container: '', interface: 'eth0', namespace: 'team-x', pod: 'p1', name: 'sb1' },
    value: (k) => String(k < 14 ? 1_000_000 * k + 17 : 4096 * (k - 13)),
  },
  {
    family: 'cadvisor',
    name: 'container_network_transmit_bytes_total',
    labels: { container: '', interface: 'eth0', namespace: 'team-y', pod: 'p2', name: 'sb2' },
    value: (k) => (k < 4 ? undefined : String(123_457 * k * k)),
  },
  {
    family: 'cadvisor',
    name: 'container_network_transmit_bytes_total',
    labels: { container: '', interface: 'eth0', namespace: 'kube-system', pod: 'coredns', name: 'sb3' },
    value: (k) => String(999 * k),
  },
  {
    family: 'cadvisor',
    name: 'container_network_transmit_bytes_total',
    labels: { container: '', interface: 'lo', namespace: 'team-x', pod: 'p1', name: 'sb1' },
    value: (k) => String(5 * k),
  },
];

/** The tenants config the tests use with this script. */
export const TENANTS = { namespaces: { 'team-x': 'tenant-x', 'team-y': 'tenant-y' }, nodes: { 'node-a': 'acme' } };

/** The exposition text of one family at scrape k (explicit timestamps in ms). */
export function render(family: Family, k: number, t0: number): string {
  const t = t0 + k * STEP_MS;
  const lines: string[] = [];
  const typed = new Set<string>();
  for (const s of SCRIPT) {
    if (s.family !== family) continue;
    const v = s.value(k);
    if (v === undefined) continue;
    if (!typed.has(s.name)) {
      typed.add(s.name);
      const type = s.name.endsWith('_total') || s.name.includes('ENERGY') ? 'counter' : 'gauge';
      lines.push(`# TYPE ${s.name} ${type}`);
    }
    const labels = Object.entries(s.labels)
      .map(([k2, v2]) => `${k2}=${JSON.stringify(v2)}`)
      .join(',');
    lines.push(`${s.name}{${labels}} ${v} ${t}`);
  }
  return `${lines.join('\n')}\n`;
}
