import type { UsageRecord } from '../../records/usage-record.js';
import type { EpochMs, OpenState, Residue } from '../../metering/types.js';

/** Open states to upsert and resources to delete (the ledger's CheckpointDelta). */
export interface OpenStatesDelta {
  readonly upserted: readonly OpenState[];
  readonly removed: readonly string[];
}

/** What the usage connector persists when it closes one window: all of it in one transaction. */
export interface WindowCommit {
  readonly windowStart: EpochMs;
  readonly windowEnd: EpochMs;
  /**
   * The window's records, read once inside the transaction: a generator lets each record be built just
   * before its row is written, so 10k records never live through a whole close (GC promotes them otherwise).
   */
  readonly records: Iterable<UsageRecord>;
  /** Holdings in force at `windowEnd` (the resume point): the whole set, replacing what is stored… */
  readonly openStates?: readonly OpenState[];
  /** …or only what changed since the previous commit (O(changes) rows; the ledger's CheckpointDelta). */
  readonly openStatesDelta?: OpenStatesDelta;
  /** Residues of every series that has one after this window, replacing what is stored… */
  readonly residues?: readonly Residue[];
  /** …or the new residue of each series rounded in this window (`num` 0 deletes it). */
  readonly residueUpdates?: readonly Residue[];
}

/** The state a restart resumes from. */
export interface Checkpoint {
  /** End of the last closed window: everything before it is billed. */
  readonly lastClosedEnd: EpochMs;
  readonly openStates: readonly OpenState[];
  readonly residues: readonly Residue[];
}

/** A record in the outbox with its sequence number (delivery order = window order). */
export interface OutboxEntry {
  readonly seq: number;
  readonly record: UsageRecord;
}

export interface DeadLetter {
  readonly exporter: string;
  readonly seq: number;
  readonly recordId: string;
  readonly meter: string;
  readonly tenant: string;
  readonly windowStart: EpochMs;
  readonly error: string;
  readonly parkedAt: EpochMs;
}

export interface OutboxStatus {
  readonly exporter: string;
  /** Records not yet delivered or parked. */
  readonly lag: number;
  readonly cursor: number;
  readonly deadLetters: number;
  readonly lastError?: string;
  readonly lastErrorAt?: EpochMs;
  readonly lastDeliveredAt?: EpochMs;
}

/** Usage summed per series over a time range, read by `report` and `demo`. */
export interface SeriesUsage {
  readonly meter: string;
  readonly tenant: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly series: string;
  readonly unit: string;
  readonly nanos: bigint;
  readonly records: number;
}

/**
 * The durable state of the bridge: checkpoint, records, one outbox cursor per exporter, dead letters.
 * Synchronous (SQLite); implemented by extensions/storage.
 */
export interface UsageStore {
  loadCheckpoint(): Checkpoint | undefined;
  /** The checkpoint's `lastClosedEnd` alone (cheap: no open states or residues are read). */
  loadCheckpointTime(): EpochMs | undefined;
  /** Persists a closed window atomically; a window already committed is rejected (idempotent restart). */
  commitWindow(commit: WindowCommit): void;
  /**
   * Writes open states already final at `at`, the end of the last closed window (the ledger's
   * `settledAtFloor`), between two window commits. Before the first window it records `at` as the resume point.
   */
  commitOpenStates(at: EpochMs, delta: OpenStatesDelta): void;

  /**
   * Appends job records (the jobs connector's) to the outbox in one transaction, apart from any window: a
   * record already stored (same series and start, hence the same id) is skipped. Returns how many were new.
   */
  commitJobRecords(records: readonly UsageRecord[]): number;
  /** Job records whose job ended in [from, to), in outbox order (`meterbridge report --by job`). */
  jobRecords(range: { from?: EpochMs; to?: EpochMs }): UsageRecord[];

  /** Registers an exporter's cursor (at the current end of the outbox for a new exporter, unless `fromStart`). */
  registerExporter(exporter: string, options?: { fromStart?: boolean }): void;
  /**
   * Up to `limit` records after the exporter's cursor, in sequence order; with `after`, after that sequence
   * number when it is past the cursor (the delivery helper reads ahead of requests still in flight).
   */
  readBatch(exporter: string, limit: number, after?: number): OutboxEntry[];
  /** Marks every record up to and including `seq` delivered for `exporter`. */
  advanceCursor(exporter: string, seq: number, at: EpochMs): void;
  /** Parks one record in the dead-letter table with the backend's reason. Delivery goes on past it. */
  park(exporter: string, entry: OutboxEntry, error: string, at: EpochMs): void;
  /** Remembers the last delivery error (for `outbox` status and the dashboard). */
  noteError(exporter: string, error: string, at: EpochMs): void;
  deadLetters(exporter?: string): DeadLetter[];
  /** Moves parked records of `exporter` (all, or the given ids) back to delivery. Returns how many. */
  replayDeadLetters(exporter: string, recordIds?: readonly string[]): number;
  /** Moves the exporter's cursor back so records from `from` on are delivered again (replay to a new backend). */
  rewind(exporter: string, from: EpochMs): number;
  status(): OutboxStatus[];
  /**
   * Start of the window of the oldest window record some registered exporter has not delivered (nor parked)
   * yet; undefined when every exporter has passed every record (a successor leader meters again from here).
   */
  undeliveredFrom(): EpochMs | undefined;
  /** The earliest job end among job records some registered exporter has not delivered (nor parked) yet. */
  undeliveredJobsFrom(): EpochMs | undefined;
  /** Deletes records older than `before` that every registered exporter has delivered. Returns how many. */
  pruneDelivered(before: EpochMs): number;

  /** The durable state a push receiver (otlp) wrote under `source`, by key. */
  loadReceiverState(source: string): Map<string, string>;
  /**
   * Writes a push receiver's state change in one transaction: every upsert and delete, or none (a receiver
   * answers its sender only after this returned; a StorageError means nothing was kept).
   */
  commitReceiverState(source: string, upserts: Iterable<readonly [string, string]>, deletes: Iterable<string>): void;

  usageBySeries(range: { from?: EpochMs; to?: EpochMs }): SeriesUsage[];
  close(): void;
}
