export { buildRecord, recordId, type WindowTimes, windowTimes } from './record-builder.js';
export {
  type UsageCloudEvent,
  type UsageEventData,
  type UsageEventFields,
  type UsageRecord,
  usageEvent,
} from './usage-record.js';
