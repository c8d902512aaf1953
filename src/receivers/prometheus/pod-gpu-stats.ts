import type { PodGpuWindow } from '../../metering/pod-gpu.js';
import { add, type Rational, rational, ZERO } from '../../metering/rational.js';
import type { EpochMs, TimeRange } from '../../metering/types.js';
import type { PrometheusReceiverConfig } from './config.js';
import { firstOf } from './labels.js';
import type { RawSeries } from './prometheus-api.js';
import { parseCounterValue, parseGaugeValue, type Sample, timeWeighted, windowIncrements } from './sample-math.js';

const PERCENT_MAX: Rational = { num: 100n, den: 1n };
/** Framebuffer samples above this are DCGM's blank sentinels, not MiB (no GPU has 2^40 MiB). */
const FRAMEBUFFER_MAX: Rational = { num: 1n << 40n, den: 1n };

/** The families the per-pod figures read (a window's samples: window-collector.ts `WindowSamples`). */
export interface PodGpuSamples {
  readonly utilization?: readonly RawSeries[];
  readonly energy?: readonly RawSeries[];
  readonly framebuffer?: readonly RawSeries[];
}

interface Acc {
  namespace: string;
  pod: string;
  integral: Rational;
  coveredMs: bigint;
  utilization: boolean;
  energyMj: Rational | undefined;
  peak: bigint | undefined;
}

/**
 * Per pod, what its GPUs did over one window, from the samples the window meters use plus the framebuffer
 * gauge: the utilization integral and coverage (same rule as the `gpu_utilization` meter), the pod's share
 * of each device's energy increases (same device merge and equal split as `gpu_energy_kwh`, but between the
 * pods whose series saw an increase) and the highest framebuffer sample in `[start, end)`. Series without a
 * pod label (a GPU no pod holds) count for no pod. Rejected samples are counted by the window meters.
 */
export function podGpuWindows(
  config: PrometheusReceiverConfig,
  window: TimeRange,
  samples: PodGpuSamples,
  scale: Rational,
): PodGpuWindow[] {
  const pods = new Map<string, Acc>();
  const { namespace_labels: nsLabels, pod_labels: podLabels, node_labels: nodeLabels } = config.tenants;
  const accOf = (labels: Readonly<Record<string, string>>): Acc | undefined => {
    const namespace = firstOf(labels, nsLabels);
    const pod = firstOf(labels, podLabels);
    if (namespace === undefined || pod === undefined) return undefined;
    const key = `${namespace}/${pod}`;
    let a = pods.get(key);
    if (!a) {
      a = { namespace, pod, integral: ZERO, coveredMs: 0n, utilization: false, energyMj: undefined, peak: undefined };
      pods.set(key, a);
    }
    return a;
  };

  for (const s of samples.utilization ?? []) {
    const parsed: Sample<Rational>[] = [];
    for (const { t, text } of s.samples) {
      const p = parseGaugeValue(text, scale, PERCENT_MAX);
      if (p.ok) parsed.push({ t, v: p.value });
    }
    const { integral, coveredMs } = timeWeighted(parsed, window, config.staleness);
    if (coveredMs === 0n) continue;
    const a = accOf(s.labels);
    if (!a) continue;
    a.integral = add(a.integral, integral);
    a.coveredMs += coveredMs;
    a.utilization = true;
  }

  for (const s of samples.framebuffer ?? []) {
    let peak: bigint | undefined;
    for (const { t, text } of s.samples) {
      if (t < window.start || t >= window.end) continue;
      const p = parseGaugeValue(text, { num: 1n, den: 1n }, FRAMEBUFFER_MAX);
      if (!p.ok || p.value.den !== 1n) continue; // MiB are whole numbers; anything else is not a reading
      if (peak === undefined || p.value.num > peak) peak = p.value.num;
    }
    if (peak === undefined) continue;
    const a = accOf(s.labels);
    if (a && (a.peak === undefined || peak > a.peak)) a.peak = peak;
  }

  // Energy: one timeline per physical device, each increase split between the pods whose series saw it.
  const devices = new Map<string, Map<EpochMs, { v: bigint; pods: Set<Acc> }>>();
  for (const s of samples.energy ?? []) {
    const ids = config.gpu_energy.device_labels.map((l) => s.labels[l] ?? '');
    const key = ids.every((x) => x === '')
      ? JSON.stringify(Object.entries(s.labels).sort())
      : JSON.stringify([firstOf(s.labels, nodeLabels), ...ids]);
    const points = devices.get(key) ?? new Map<EpochMs, { v: bigint; pods: Set<Acc> }>();
    devices.set(key, points);
    const a = accOf(s.labels);
    for (const { t, text } of s.samples) {
      const p = parseCounterValue(text);
      if (!p.ok) continue;
      const point = points.get(t);
      if (!point) points.set(t, { v: p.value, pods: new Set(a ? [a] : []) });
      else {
        if (p.value > point.v) point.v = p.value;
        if (a) point.pods.add(a);
      }
    }
  }
  for (const points of devices.values()) {
    const timeline = [...points].sort((x, y) => x[0] - y[0]).map(([t, { v }]) => ({ t, v }));
    for (const { t, increase } of windowIncrements(timeline, window, false)) {
      const shares = [...(points.get(t)?.pods ?? [])];
      for (const a of shares) a.energyMj = add(a.energyMj ?? ZERO, rational(increase, BigInt(shares.length)));
    }
  }

  return [...pods.values()]
    .filter((a) => a.utilization || a.energyMj !== undefined || a.peak !== undefined)
    .map((a) => ({
      namespace: a.namespace,
      pod: a.pod,
      ...(a.utilization ? { utilization: { integral: a.integral, coveredMs: a.coveredMs } } : {}),
      ...(a.energyMj !== undefined ? { energyMj: a.energyMj } : {}),
      ...(a.peak !== undefined ? { peakFramebufferMiB: a.peak } : {}),
    }));
}
