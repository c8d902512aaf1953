import type { UsageCloudEvent, UsageRecord } from '../../records/usage-record.js';
import { renderTemplate } from '../http/record-template.js';
import type { OpenMeterMeterConfig } from './config.js';

/** The media type OpenMeter's v1 handler compares byte for byte: no `; charset=…` parameter. */
export const CLOUDEVENTS_BATCH = 'application/cloudevents-batch+json';

/**
 * The record's CloudEvent as OpenMeter ingests it: unchanged except `subject`, which becomes the configured
 * customer key. `source` + `id` stay as the usage connector made them: OpenMeter deduplicates on them.
 */
export function toOpenMeterEvent(record: UsageRecord, subjectTemplate: string): UsageCloudEvent {
  const subject = subjectTemplate === '{tenant}' ? record.event.subject : renderTemplate(subjectTemplate, record);
  return subject === record.event.subject ? record.event : { ...record.event, subject };
}

/** Body of `POST /api/v1/events` for a batch (`Content-Type: application/cloudevents-batch+json`). */
export function ingestBody(records: readonly UsageRecord[], subjectTemplate: string): string {
  return JSON.stringify(records.map((r) => toOpenMeterEvent(r, subjectTemplate)));
}

/** `MeterCreate` body for one configured meter: the record's decimal `quantity`, aggregated. */
export interface OpenMeterMeterCreate {
  readonly slug: string;
  readonly name: string;
  readonly description?: string;
  readonly aggregation: OpenMeterMeterConfig['aggregation'];
  readonly eventType: string;
  readonly valueProperty: string;
  readonly groupBy: Readonly<Record<string, string>>;
}

export function meterCreateBody(meter: OpenMeterMeterConfig): OpenMeterMeterCreate {
  return {
    slug: meter.slug,
    name: meter.slug,
    ...(meter.description === undefined ? {} : { description: meter.description }),
    aggregation: meter.aggregation,
    eventType: meter.event_type ?? meter.slug,
    valueProperty: '$.quantity',
    groupBy: Object.fromEntries(meter.group_by.map((key) => [key, `$.${key}`])),
  };
}
