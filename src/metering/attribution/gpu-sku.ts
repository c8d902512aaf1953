import { WELL_KNOWN } from './well-known.js';

/**
 * GKE `cloud.google.com/gke-accelerator` (and the cluster-autoscaler `k8s.amazonaws.com/accelerator`)
 * values → the name GPU Feature Discovery would give the same GPU, so one SKU has one name everywhere.
 * Values not listed are used lower-cased as they are.
 */
const ACCELERATOR_LABEL_SKUS: ReadonlyMap<string, string> = new Map([
  ['nvidia-tesla-t4', 'tesla-t4'],
  ['nvidia-tesla-v100', 'tesla-v100-sxm2-16gb'],
  ['nvidia-tesla-p100', 'tesla-p100-pcie-16gb'],
  ['nvidia-tesla-a100', 'nvidia-a100-sxm4-40gb'],
  ['nvidia-a100-80gb', 'nvidia-a100-sxm4-80gb'],
  ['nvidia-a10g', 'nvidia-a10g'],
  ['nvidia-l4', 'nvidia-l4'],
  ['nvidia-l40s', 'nvidia-l40s'],
  ['nvidia-h100-80gb', 'nvidia-h100-80gb-hbm3'],
  ['nvidia-h100-mega-80gb', 'nvidia-h100-80gb-hbm3'],
  ['nvidia-h200-141gb', 'nvidia-h200'],
  ['nvidia-b200', 'nvidia-b200'],
]);

/** AMD PCI device ids (`amd.com/gpu.device-id`) → SKU. */
const AMD_DEVICE_SKUS: ReadonlyMap<string, string> = new Map([
  ['74a1', 'amd-instinct-mi300x-oam'],
  ['74a5', 'amd-instinct-mi325x-oam'],
  ['740c', 'amd-instinct-mi250x'],
  ['740f', 'amd-instinct-mi210'],
]);

/**
 * Instance type → SKU, the last resort. An entry ending in `.` or `-` matches every instance type that
 * starts with it (a family); other entries match exactly. Compared lower-case.
 */
const INSTANCE_TYPE_SKUS: ReadonlyArray<readonly [string, string]> = [
  // AWS
  ['p6-b200.', 'nvidia-b200'],
  ['p5.', 'nvidia-h100-80gb-hbm3'],
  ['p5e.', 'nvidia-h200'],
  ['p5en.', 'nvidia-h200'],
  ['p4d.', 'nvidia-a100-sxm4-40gb'],
  ['p4de.', 'nvidia-a100-sxm4-80gb'],
  ['p3.', 'tesla-v100-sxm2-16gb'],
  ['g6e.', 'nvidia-l40s'],
  ['g6.', 'nvidia-l4'],
  ['g5.', 'nvidia-a10g'],
  ['g4dn.', 'tesla-t4'],
  ['dl1.', 'habana-gaudi'],
  // Google Cloud
  ['a4-highgpu-', 'nvidia-b200'],
  ['a3-ultragpu-', 'nvidia-h200'],
  ['a3-megagpu-', 'nvidia-h100-80gb-hbm3'],
  ['a3-highgpu-', 'nvidia-h100-80gb-hbm3'],
  ['a3-edgegpu-', 'nvidia-h100-80gb-hbm3'],
  ['a2-ultragpu-', 'nvidia-a100-sxm4-80gb'],
  ['a2-highgpu-', 'nvidia-a100-sxm4-40gb'],
  ['a2-megagpu-', 'nvidia-a100-sxm4-40gb'],
  ['g2-standard-', 'nvidia-l4'],
  // Azure
  ['standard_nd96isr_h200_v5', 'nvidia-h200'],
  ['standard_nd96isr_h100_v5', 'nvidia-h100-80gb-hbm3'],
  ['standard_nd96amsr_a100_v4', 'nvidia-a100-sxm4-80gb'],
  ['standard_nd96asr_v4', 'nvidia-a100-sxm4-40gb'],
  ['standard_nd96is_mi300x_v5', 'amd-instinct-mi300x-oam'],
];

/** Exported for documentation and tests. */
export const GPU_SKU_TABLES = {
  acceleratorLabel: ACCELERATOR_LABEL_SKUS,
  amdDeviceId: AMD_DEVICE_SKUS,
  instanceType: INSTANCE_TYPE_SKUS,
} as const;

/**
 * The normalised GPU SKU of a node from its labels, or `undefined` when no source names it
 * (the caller writes `unknown`; a SKU is never guessed). Order:
 * 1. `nvidia.com/gpu.product` lower-cased, a `-MIG-…` or `-SHARED` suffix stripped;
 * 2. `cloud.google.com/gke-accelerator`, then `k8s.amazonaws.com/accelerator` (mapped by the table above);
 * 3. `amd.com/gpu.product-name` (or `beta.`), lower-cased with `_` → `-`; then the AMD device id table;
 * 4. the instance-type table.
 */
export function normaliseGpuSku(labels: Readonly<Record<string, string>>, instanceType?: string): string | undefined {
  const product = nonEmpty(labels[WELL_KNOWN.gpuProduct]);
  if (product) return stripProductSuffix(product.toLowerCase());
  for (const key of [WELL_KNOWN.gkeAccelerator, WELL_KNOWN.awsAccelerator]) {
    const value = nonEmpty(labels[key])?.toLowerCase();
    if (value) return ACCELERATOR_LABEL_SKUS.get(value) ?? value;
  }
  const amdName = nonEmpty(labels[WELL_KNOWN.amdProductName]) ?? nonEmpty(labels[WELL_KNOWN.amdProductNameBeta]);
  if (amdName) return amdName.toLowerCase().replace(/[\s_]+/g, '-');
  const amdId = nonEmpty(labels[WELL_KNOWN.amdDeviceId]) ?? nonEmpty(labels[WELL_KNOWN.amdDeviceIdBeta]);
  const amdSku = amdId ? AMD_DEVICE_SKUS.get(amdId.toLowerCase()) : undefined;
  if (amdSku) return amdSku;
  return instanceType ? skuOfInstanceType(instanceType) : undefined;
}

/** The SKU the instance-type table gives, if any. */
export function skuOfInstanceType(instanceType: string): string | undefined {
  const type = instanceType.toLowerCase();
  for (const [pattern, sku] of INSTANCE_TYPE_SKUS) {
    const family = pattern.endsWith('.') || pattern.endsWith('-');
    if (family ? type.startsWith(pattern) : type === pattern) return sku;
  }
  return undefined;
}

/** `nvidia-a100-sxm4-40gb-mig-1g.5gb` → `nvidia-a100-sxm4-40gb`; `tesla-t4-shared` → `tesla-t4`. */
function stripProductSuffix(product: string): string {
  return product.replace(/-mig-.*$/, '').replace(/-shared$/, '');
}

/** The MIG profile of a MIG-single product label (`NVIDIA-A100-SXM4-40GB-MIG-1g.5gb` → `1g.5gb`). */
export function migProfileOfProduct(labels: Readonly<Record<string, string>>): string | undefined {
  const product = nonEmpty(labels[WELL_KNOWN.gpuProduct]);
  const m = product ? /-MIG-(\d+g\.[^-]+)/i.exec(product) : null;
  return m?.[1]?.toLowerCase();
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}
