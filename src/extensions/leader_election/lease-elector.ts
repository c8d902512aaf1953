import { hostname } from 'node:os';
import * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { Host, LeaderProgress, Leadership } from '../../component/component.js';
import type { EpochMs } from '../../metering/types.js';
import type { LeaderElectionConfig } from './config.js';

/** Lease annotations carrying the leader's progress to its successor. */
export const HANDOFF_ANNOTATION = 'meterbridge.io/handoff';
export const COMMITTED_ANNOTATION = 'meterbridge.io/committed-through';
export const JOBS_HANDOFF_ANNOTATION = 'meterbridge.io/jobs-handoff';

/** The Lease calls the elector makes (client-node's CoordinationV1Api; tests may pass another). */
export interface LeaseApi {
  read(name: string, namespace: string): Promise<k8s.V1Lease>;
  create(namespace: string, lease: k8s.V1Lease): Promise<k8s.V1Lease>;
  replace(name: string, namespace: string, lease: k8s.V1Lease): Promise<k8s.V1Lease>;
}

export function coordinationLeaseApi(kc: k8s.KubeConfig): LeaseApi {
  const api = kc.makeApiClient(k8s.CoordinationV1Api);
  return {
    read: (name, namespace) => api.readNamespacedLease({ name, namespace }),
    create: (namespace, body) => api.createNamespacedLease({ namespace, body }),
    replace: (name, namespace, body) => api.replaceNamespacedLease({ name, namespace, body }),
  };
}

type Outcome = 'leading' | 'standby' | 'conflict' | 'error';

/** Monotonic milliseconds: expiry and the fence never follow wall-clock steps. */
const mono = () => performance.now();

/**
 * Leader election over one `coordination.k8s.io/v1` Lease, the client-go way (client-node 2.0 has no helper):
 * read, then create or replace with the read `resourceVersion` (409: another replica won the race).
 * - A standby takes the Lease over once `leaseDurationSeconds` have passed, on its own monotonic clock, since it
 *   last saw the record change (tolerates clock offset between replicas, as client-go does).
 * - The leader renews every `retry_period`; `holds()` is false once `renew_deadline` has passed since the start
 *   of its last good renewal, and then the service is asked to stop (the process exits, a restart makes it a
 *   standby): it never commits or delivers after that, even while the Lease has not expired yet for others.
 * - Release (graceful shutdown) writes `leaseDurationSeconds: 1` and no holder, so a standby takes over at once.
 */
export class LeaseElector implements Leadership {
  readonly identity: string;
  private readonly leaseDurationS: number;
  private host: Host | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private leading = false;
  private lost = false;
  /** Monotonic start of the last renewal (or acquisition) the API server accepted. */
  private renewedAt = Number.NEGATIVE_INFINITY;
  /** The last record seen, and when (monotonic) it was first seen as it is. */
  private observed:
    | { key: string; holder: string | undefined; durationS: number; handoff?: EpochMs; jobsHandoff?: EpochMs }
    | undefined;
  private observedAt = Number.NEGATIVE_INFINITY;
  private readonly leadingListeners: Array<(handoff: EpochMs | undefined) => void> = [];
  private progress: () => LeaderProgress | undefined = () => undefined;
  private jobsProgress: () => EpochMs | undefined = () => undefined;
  private failures = 0;
  /** The handoff point published when this replica won the Lease. */
  private inherited: EpochMs | undefined;

  constructor(
    private readonly config: LeaderElectionConfig,
    private readonly api: LeaseApi,
    private readonly log: Logger,
  ) {
    this.identity = config.identity ?? hostname();
    this.leaseDurationS = config.lease_duration / 1000;
  }

  holds(): boolean {
    return this.leading && !this.lost && mono() - this.renewedAt < this.config.renew_deadline;
  }

  publishedHandoff(): EpochMs | undefined {
    return this.observed?.handoff;
  }

  /** A listener added after the Lease was won (the first attempt runs in `start`) is called at once. */
  onLeading(listener: (handoff: EpochMs | undefined) => void): void {
    this.leadingListeners.push(listener);
    if (this.holds()) listener(this.inherited);
  }

  reportProgress(progress: () => LeaderProgress | undefined): void {
    this.progress = progress;
  }

  publishedJobsHandoff(): EpochMs | undefined {
    return this.observed?.jobsHandoff;
  }

  reportJobsHandoff(handoff: () => EpochMs | undefined): void {
    this.jobsProgress = handoff;
  }

  /** One attempt now (so the published handoff is known before the connector starts), then the loop. */
  async start(host: Host): Promise<void> {
    this.host = host;
    this.running = true;
    await this.attempt();
    this.loop = this.run();
  }

  /** Stops the loop; a leader that still holds the Lease publishes its progress and releases it. */
  async shutdown(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    this.wake?.();
    await this.loop;
    if (this.holds()) await this.release();
    this.leading = false;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        // Standbys add up to 20 % jitter (client-go's JitterFactor 1.2), so they do not race in step.
        const wait = this.leading ? this.config.retry_period : this.config.retry_period * (1 + Math.random() * 0.2);
        this.timer = setTimeout(resolve, wait);
      });
      if (!this.running) return;
      await this.attempt();
    }
  }

  private async attempt(): Promise<void> {
    const outcome = await this.tryAcquireOrRenew();
    if (this.leading && !this.holds() && !this.lost) this.loseLeadership(outcome);
  }

  /** The fence: from here on this replica neither commits nor delivers; the service stops. */
  private loseLeadership(outcome: Outcome): void {
    this.lost = true;
    this.log.error(
      { identity: this.identity, lease: this.config.lease_name, outcome, renewDeadlineMs: this.config.renew_deadline },
      'lost the Lease: stopped committing and delivering; exiting so that a restart joins as a standby',
    );
    this.host?.requestShutdown('leader_election: lost the Lease', { failed: true });
  }

  private async tryAcquireOrRenew(): Promise<Outcome> {
    const startedAt = mono();
    const { lease_name: name, namespace } = this.config;
    let current: k8s.V1Lease;
    try {
      current = await this.bounded(this.api.read(name, namespace));
    } catch (err) {
      if (statusOf(err) !== 404) return this.failed(err, 'read');
      try {
        await this.bounded(this.api.create(namespace, this.leaseBody(undefined, startedAt)));
      } catch (createErr) {
        return statusOf(createErr) === 409 ? 'conflict' : this.failed(createErr, 'create');
      }
      this.won(startedAt, undefined);
      return 'leading';
    }
    this.observe(current);
    const holder = current.spec?.holderIdentity;
    const heldByOther = holder !== undefined && holder !== '' && holder !== this.identity;
    if (heldByOther && this.leading) {
      if (!this.lost) this.loseLeadership('standby'); // another replica took it over: fence at once
      return 'standby';
    }
    if (heldByOther && mono() - this.observedAt < (this.observed?.durationS ?? this.leaseDurationS) * 1000) {
      return 'standby';
    }
    if (this.lost) return 'standby';
    const inherited = this.observed?.handoff;
    try {
      const next = await this.bounded(this.api.replace(name, namespace, this.leaseBody(current, startedAt)));
      this.observe(next);
    } catch (err) {
      return statusOf(err) === 409 ? 'conflict' : this.failed(err, 'update');
    }
    this.failures = 0;
    if (!this.leading) this.won(startedAt, inherited);
    else this.renewedAt = startedAt;
    return 'leading';
  }

  private won(startedAt: number, handoff: EpochMs | undefined): void {
    this.leading = true;
    this.inherited = handoff;
    this.renewedAt = startedAt;
    this.log.info(
      {
        identity: this.identity,
        lease: `${this.config.namespace}/${this.config.lease_name}`,
        handoff: handoff === undefined ? undefined : new Date(handoff).toISOString(),
      },
      'leadership acquired',
    );
    for (const listener of this.leadingListeners) listener(handoff);
  }

  /** The Lease as this replica writes it: holder, times, transitions, and its published progress. */
  private leaseBody(current: k8s.V1Lease | undefined, startedAt: number, release = false): k8s.V1Lease {
    const now = new k8s.V1MicroTime(Date.now() - (mono() - startedAt));
    const spec = current?.spec ?? {};
    const mine = spec.holderIdentity === this.identity;
    const annotations = { ...(current?.metadata?.annotations ?? {}) };
    const progress = this.leading ? this.progress() : undefined;
    if (progress) {
      annotations[HANDOFF_ANNOTATION] = new Date(progress.handoff).toISOString();
      annotations[COMMITTED_ANNOTATION] = new Date(progress.committedThrough).toISOString();
    }
    const jobs = this.leading ? this.jobsProgress() : undefined;
    if (jobs !== undefined) annotations[JOBS_HANDOFF_ANNOTATION] = new Date(jobs).toISOString();
    return {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...(current?.metadata ?? {}),
        name: this.config.lease_name,
        namespace: this.config.namespace,
        annotations,
      },
      spec: {
        ...(release ? {} : { holderIdentity: this.identity }),
        leaseDurationSeconds: release ? 1 : this.leaseDurationS,
        acquireTime: mine && spec.acquireTime ? microTime(spec.acquireTime) : now,
        renewTime: now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (current !== undefined && !mine ? 1 : 0),
      },
    };
  }

  private observe(lease: k8s.V1Lease): void {
    const spec = lease.spec ?? {};
    const key = `${lease.metadata?.resourceVersion}`;
    if (this.observed?.key === key) return;
    const time = (name: string) => {
      const raw = lease.metadata?.annotations?.[name];
      const t = raw === undefined ? Number.NaN : Date.parse(raw);
      return Number.isFinite(t) ? t : undefined;
    };
    const handoff = time(HANDOFF_ANNOTATION);
    const jobsHandoff = time(JOBS_HANDOFF_ANNOTATION);
    this.observed = {
      key,
      holder: spec.holderIdentity,
      durationS: spec.leaseDurationSeconds ?? this.leaseDurationS,
      ...(handoff !== undefined ? { handoff } : {}),
      ...(jobsHandoff !== undefined ? { jobsHandoff } : {}),
    };
    this.observedAt = mono();
  }

  private async release(): Promise<void> {
    const { lease_name: name, namespace } = this.config;
    try {
      const current = await this.bounded(this.api.read(name, namespace));
      if (current.spec?.holderIdentity !== this.identity) return;
      await this.bounded(this.api.replace(name, namespace, this.leaseBody(current, mono(), true)));
      this.log.info({ identity: this.identity }, 'Lease released');
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'releasing the Lease failed: standbys take over when it expires');
    }
  }

  private failed(err: unknown, what: string): Outcome {
    this.failures++;
    // Sampled: the first failures, then every tenth (an API server outage must not flood the log).
    if (this.failures <= 3 || this.failures % 10 === 0) {
      this.log.warn(
        { err: (err as Error).message, status: statusOf(err), failures: this.failures },
        `Lease ${what} failed`,
      );
    }
    return 'error';
  }

  /** A request answers within one retry period or counts as failed (it may still land: the fence is time). */
  private bounded<T>(request: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('Lease request timed out')), this.config.retry_period);
    });
    request.catch(() => undefined);
    return Promise.race([request, timeout]).finally(() => clearTimeout(timer));
  }
}

/** client-node reads a MicroTime back as a string or a Date; written back it needs 6 fractional digits. */
function microTime(value: unknown): k8s.V1MicroTime {
  const ms = value instanceof Date ? value.getTime() : Date.parse(String(value));
  return new k8s.V1MicroTime(Number.isFinite(ms) ? ms : Date.now());
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
