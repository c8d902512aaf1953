import type { Attributes, Counter, Meter, ObservableGauge, ObservableResult } from '@opentelemetry/api';
import type { FailureReason } from './push-failure.js';

/** Self-metrics of one delivery worker, all with attribute `exporter`. A no-op without a Meter. */
export class DeliveryMetrics {
  private readonly attributes: Attributes;
  private readonly sent: Counter | undefined;
  private readonly failed: Counter | undefined;
  private readonly parked: Counter | undefined;
  private readonly lag: ObservableGauge | undefined;
  private readonly observeLag: (result: ObservableResult) => void;

  constructor(exporter: string, meter: Meter | undefined, readLag: () => number | undefined) {
    this.attributes = { exporter };
    this.sent = meter?.createCounter('meterbridge_exporter_sent_records_total', {
      description: 'Usage records accepted by the backend',
      unit: '{record}',
    });
    this.failed = meter?.createCounter('meterbridge_exporter_failed_requests_total', {
      description: 'Failed push requests, by reason (transient, throttled, timeout, aborted, unknown, permanent)',
      unit: '{request}',
    });
    this.parked = meter?.createCounter('meterbridge_exporter_parked_records_total', {
      description: 'Usage records parked in the dead-letter table after a permanent rejection',
      unit: '{record}',
    });
    this.lag = meter?.createObservableGauge('meterbridge_outbox_lag_records', {
      description: 'Usage records in the outbox not yet delivered or parked',
      unit: '{record}',
    });
    this.observeLag = (result) => {
      const lag = readLag();
      if (lag !== undefined) result.observe(lag, this.attributes);
    };
    this.lag?.addCallback(this.observeLag);
  }

  recordSent(records: number): void {
    this.sent?.add(records, this.attributes);
  }

  recordFailure(reason: FailureReason): void {
    this.failed?.add(1, { ...this.attributes, reason });
  }

  recordParked(records: number): void {
    this.parked?.add(records, this.attributes);
  }

  /** Stops observing the lag (the worker stopped). */
  close(): void {
    this.lag?.removeCallback(this.observeLag);
  }
}
