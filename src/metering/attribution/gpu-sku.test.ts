import { describe, expect, it } from 'vitest';
import { migProfileOfProduct, normaliseGpuSku, skuOfInstanceType } from './gpu-sku.js';

describe('normaliseGpuSku', () => {
  it.each([
    [{ 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' }, undefined, 'nvidia-h100-80gb-hbm3'],
    [{ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB-MIG-1g.5gb' }, undefined, 'nvidia-a100-sxm4-40gb'],
    [{ 'nvidia.com/gpu.product': 'NVIDIA-H100-NVL-MIG-1g.12gb' }, undefined, 'nvidia-h100-nvl'],
    [{ 'nvidia.com/gpu.product': 'Tesla-T4-SHARED' }, undefined, 'tesla-t4'],
    [{ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB-MIG-1g.5gb-SHARED' }, undefined, 'nvidia-a100-sxm4-40gb'],
    // GFD wins over the cloud label and the instance type
    [
      { 'nvidia.com/gpu.product': 'NVIDIA-L40S', 'cloud.google.com/gke-accelerator': 'nvidia-l4' },
      'p5.48xlarge',
      'nvidia-l40s',
    ],
    [{ 'cloud.google.com/gke-accelerator': 'nvidia-h100-80gb' }, undefined, 'nvidia-h100-80gb-hbm3'],
    [{ 'cloud.google.com/gke-accelerator': 'nvidia-tesla-a100' }, undefined, 'nvidia-a100-sxm4-40gb'],
    [{ 'cloud.google.com/gke-accelerator': 'nvidia-rtx-pro-6000' }, undefined, 'nvidia-rtx-pro-6000'],
    [{ 'k8s.amazonaws.com/accelerator': 'nvidia-tesla-t4' }, undefined, 'tesla-t4'],
    [{ 'amd.com/gpu.product-name': 'AMD_Instinct_MI300X_OAM' }, undefined, 'amd-instinct-mi300x-oam'],
    [{ 'beta.amd.com/gpu.product-name': 'AMD_Instinct_MI250X' }, undefined, 'amd-instinct-mi250x'],
    [{ 'amd.com/gpu.device-id': '74a1' }, undefined, 'amd-instinct-mi300x-oam'],
    [{ 'amd.com/gpu.device-id': 'ffff' }, undefined, undefined],
    [{}, 'p5.48xlarge', 'nvidia-h100-80gb-hbm3'],
    [{}, 'p4d.24xlarge', 'nvidia-a100-sxm4-40gb'],
    [{}, 'g6e.xlarge', 'nvidia-l40s'],
    [{}, 'g6.2xlarge', 'nvidia-l4'],
    [{}, 'a2-highgpu-1g', 'nvidia-a100-sxm4-40gb'],
    [{}, 'a3-megagpu-8g', 'nvidia-h100-80gb-hbm3'],
    [{}, 'Standard_ND96isr_H100_v5', 'nvidia-h100-80gb-hbm3'],
    [{}, 'dl1.24xlarge', 'habana-gaudi'],
    [{}, 'm5.large', undefined],
    [{}, 'p5', undefined],
    [{}, undefined, undefined],
    [{ 'nvidia.com/gpu.product': '' }, undefined, undefined],
  ])('%j on %s → %s', (labels, instanceType, sku) => {
    expect(normaliseGpuSku(labels, instanceType)).toBe(sku);
  });

  it('matches a family only at the separator', () => {
    expect(skuOfInstanceType('g6e.48xlarge')).toBe('nvidia-l40s');
    expect(skuOfInstanceType('g6f.large')).toBeUndefined();
  });

  it('reads the MIG-single profile from the product label', () => {
    expect(migProfileOfProduct({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB-MIG-3g.20gb' })).toBe('3g.20gb');
    expect(migProfileOfProduct({ 'nvidia.com/gpu.product': 'NVIDIA-A100-SXM4-40GB-MIG-1g.5gb-SHARED' })).toBe('1g.5gb');
    expect(migProfileOfProduct({ 'nvidia.com/gpu.product': 'NVIDIA-H100-80GB-HBM3' })).toBeUndefined();
  });
});
