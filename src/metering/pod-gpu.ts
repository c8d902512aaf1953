import { add, type Rational, ZERO } from './rational.js';

/**
 * What DCGM said about the GPUs of one pod over one window (the prometheus receiver computes it from the
 * same raw samples as its window meters; the jobs connector adds it to the pod's job). Exact: integrals as
 * rationals, the peak as the integer DCGM reports.
 */
export interface PodGpuWindow {
  readonly namespace: string;
  readonly pod: string;
  /** Σ over the pod's GPU series of ∫ utilization dt, percent·ms, and the ms those series cover. */
  readonly utilization?: { readonly integral: Rational; readonly coveredMs: bigint };
  /** The pod's share of its devices' energy increases, mJ (a device shared by k pods: 1/k each). */
  readonly energyMj?: Rational;
  /** The highest framebuffer use of any one of its GPUs, MiB (DCGM_FI_DEV_FB_USED). */
  readonly peakFramebufferMiB?: bigint;
}

/** A job's DCGM figures, summed over its pods and windows. */
export interface GpuStats {
  readonly utilizationIntegral: Rational;
  readonly coveredMs: bigint;
  readonly energyMj: Rational;
  readonly peakFramebufferMiB: bigint | undefined;
}

export const NO_GPU_STATS: GpuStats = Object.freeze({
  utilizationIntegral: ZERO,
  coveredMs: 0n,
  energyMj: ZERO,
  peakFramebufferMiB: undefined,
});

export function addGpuStats(a: GpuStats, w: PodGpuWindow): GpuStats {
  const peak = w.peakFramebufferMiB;
  return {
    utilizationIntegral: w.utilization ? add(a.utilizationIntegral, w.utilization.integral) : a.utilizationIntegral,
    coveredMs: a.coveredMs + (w.utilization?.coveredMs ?? 0n),
    energyMj: w.energyMj ? add(a.energyMj, w.energyMj) : a.energyMj,
    peakFramebufferMiB:
      peak === undefined || (a.peakFramebufferMiB !== undefined && a.peakFramebufferMiB >= peak)
        ? a.peakFramebufferMiB
        : peak,
  };
}
