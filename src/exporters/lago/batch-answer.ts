/**
 * What a Lago `422` on `POST /api/v1/events/batch` says about each event. Lago (Postgres event store) checks
 * the batch as a whole and answers with `error_details` keyed by the event's index:
 * `{"0":{"transaction_id":["value_already_exist"]},"3":{"timestamp":["invalid_format"]}}`. The batch is
 * all-or-nothing: nothing of it was stored. Indices whose only error is `transaction_id: value_already_exist`
 * are already in Lago (delivered); indices with any other error are bad; the others must be sent again.
 */
export type BatchAnswer =
  | {
      readonly kind: 'per-event';
      readonly duplicates: ReadonlySet<number>;
      readonly rejected: ReadonlyMap<number, string>;
    }
  /** The details do not name events (`{"events":["too_many_events"]}`, garbage, no details). */
  | { readonly kind: 'unattributed'; readonly reason: string };

export function readBatchAnswer(body: unknown, batchSize: number): BatchAnswer {
  const details =
    body !== null && typeof body === 'object' ? (body as Record<string, unknown>).error_details : undefined;
  if (details === null || typeof details !== 'object' || Array.isArray(details)) {
    return { kind: 'unattributed', reason: 'no error_details' };
  }
  const entries = Object.entries(details as Record<string, unknown>);
  if (entries.length === 0) return { kind: 'unattributed', reason: 'empty error_details' };
  const duplicates = new Set<number>();
  const rejected = new Map<number, string>();
  for (const [key, value] of entries) {
    const index = /^\d+$/.test(key) ? Number(key) : -1;
    if (index < 0 || index >= batchSize || value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { kind: 'unattributed', reason: `error_details ${describe({ [key]: value })}` };
    }
    const fields = value as Record<string, unknown>;
    const onlyDuplicate =
      Object.keys(fields).length === 1 &&
      Array.isArray(fields.transaction_id) &&
      fields.transaction_id.length > 0 &&
      fields.transaction_id.every((e) => e === 'value_already_exist');
    if (onlyDuplicate) duplicates.add(index);
    else rejected.set(index, describe(fields));
  }
  return { kind: 'per-event', duplicates, rejected };
}

/** Compact JSON of the backend's reason, bounded (it goes into the dead-letter table and logs). */
function describe(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 240 ? `${text.slice(0, 240)}…` : text;
}
