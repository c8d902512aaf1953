import type { NodeProfile } from './node-profile.js';
import { WELL_KNOWN } from './well-known.js';

/** An amount of physical GPUs, `quantity / per`, of one MIG profile (or whole/shared GPUs when absent). */
export interface GpuShare {
  readonly quantity: bigint;
  readonly per: bigint;
  readonly migProfile?: string;
}

const MIG_RESOURCE = /^nvidia\.com\/mig-((\d+)g\..+)$/;

/** Whether a resource name is counted as GPUs (see {@link gpuShares}). */
export function isGpuResource(name: string): boolean {
  return (
    name === WELL_KNOWN.nvidiaGpu ||
    name === WELL_KNOWN.nvidiaGpuShared ||
    name === WELL_KNOWN.amdGpu ||
    name === WELL_KNOWN.gaudi ||
    MIG_RESOURCE.test(name)
  );
}

/** Compute slices of one physical GPU of `sku`: 4 for A30 and RTX PRO 6000, else 7 (A100, H100, H200, B200…). */
export function migSlicesPerGpu(sku: string): bigint {
  return /(^|-)a30(-|$)/.test(sku) || sku.includes('rtx-pro-6000') ? 4n : 7n;
}

/**
 * Turns device-plugin resources (node capacity or a pod's effective requests) into physical-GPU shares
 * on a node with profile `node`:
 * - `nvidia.com/gpu`: N per R (R = `nvidia.com/gpu.replicas` when > 1); on a MIG-single node each one is
 *   a slice of the product label's profile: N×g per S;
 * - `nvidia.com/gpu.shared`: N per R;
 * - `nvidia.com/mig-<g>g.<mem>`: N×g per S×Rm, mig_profile `<g>g.<mem>` (Rm = `nvidia.com/mig-<profile>.replicas` when > 1);
 * - `amd.com/gpu`, `habana.ai/gaudi`: N.
 * Zero amounts are left out.
 */
export function gpuShares(resources: ReadonlyMap<string, bigint>, node: NodeProfile): GpuShare[] {
  const shares: GpuShare[] = [];
  const slices = migSlicesPerGpu(node.gpuSku);
  for (const [name, n] of resources) {
    if (n === 0n) continue;
    if (name === WELL_KNOWN.nvidiaGpu) {
      const profile = node.migSingleProfile;
      if (profile) shares.push({ quantity: n * migGrains(profile), per: slices, migProfile: profile });
      else shares.push({ quantity: n, per: node.gpuReplicas });
    } else if (name === WELL_KNOWN.nvidiaGpuShared) {
      shares.push({ quantity: n, per: node.gpuReplicas });
    } else if (name === WELL_KNOWN.amdGpu || name === WELL_KNOWN.gaudi) {
      shares.push({ quantity: n, per: 1n });
    } else {
      const m = MIG_RESOURCE.exec(name);
      if (m?.[1] && m[2]) {
        const replicas = node.migReplicas.get(m[1]) ?? 1n;
        shares.push({ quantity: n * BigInt(m[2]), per: slices * replicas, migProfile: m[1] });
      }
    }
  }
  return shares;
}

/** Compute slices `g` of a profile `<g>g.<mem>`. */
function migGrains(profile: string): bigint {
  const m = /^(\d+)g\./.exec(profile);
  return m?.[1] ? BigInt(m[1]) : 1n;
}
