import { isAmountConsumer, type ReceiverFactory } from '../../component/component.js';
import { MeterbridgeError } from '../../component/errors.js';
import type { MeterDefinition } from '../../metering/meters.js';
import { type OtlpReceiverConfig, otlpReceiverConfigSchema } from './config.js';
import { OtlpReceiver } from './otlp-receiver.js';

/** `receivers::otlp`: any metric of the platform's stack (inference tokens…) as exact per-window amounts. */
export const otlpReceiverFactory: ReceiverFactory<OtlpReceiverConfig> & {
  meters(config: OtlpReceiverConfig): MeterDefinition[];
} = {
  type: 'otlp',
  stability: 'development',
  kind: 'receiver',
  configSchema: otlpReceiverConfigSchema,
  description: 'OTLP/HTTP metrics (protobuf, JSON) billed as exact per-window amounts by the meters declared',
  createReceiver(settings, config, next) {
    if (!isAmountConsumer(next)) {
      throw new MeterbridgeError('MB_SERVICE', `receiver ${settings.id} needs the usage connector downstream`);
    }
    return new OtlpReceiver(settings, config, next);
  },
  meters: otlpMeters,
};

/**
 * The meter definitions the config declares. Amounts reach the connector as `nano-units / 10⁹` (sums) or
 * `nano-units × ms / (10⁹ × time unit)` (gauges), so billed = amount × scale.
 */
export function otlpMeters(config: OtlpReceiverConfig): MeterDefinition[] {
  const out = new Map<string, MeterDefinition>();
  for (const m of config.meters) {
    if (out.has(m.meter)) continue;
    const [decimal = '1', den = '1'] = m.scale.split('/');
    const [whole = '0', frac = ''] = decimal.split('.');
    out.set(m.meter, {
      code: m.meter,
      unit: m.unit,
      baseUnit: m.unit,
      num: BigInt(`${whole}${frac}`),
      den: 10n ** BigInt(frac.length) * BigInt(den),
      attributes: [...new Set([...Object.keys(m.dimensions), ...Object.keys(m.attributes)])].sort(),
      description: m.description || `${m.metric} (otlp)`,
      kind: 'amount',
    });
  }
  return [...out.values()];
}
