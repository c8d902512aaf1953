import type { HoldingsConsumer } from '../../../component/component.js';
import { type EpochMs, type Holding, seriesKey } from '../../../metering/types.js';

/**
 * A HoldingsConsumer for tests that integrates holdings exactly over [floor, to), the way a ledger
 * resumed at `floor` would: no time before the resume point is billed twice. Result per series key as
 * an unreduced `num/den` pair of base·ms.
 */
export class IntegratingConsumer implements HoldingsConsumer {
  readonly advances: EpochMs[] = [];
  private readonly open = new Map<string, { since: EpochMs; holdings: readonly Holding[] }>();
  private readonly sums = new Map<string, Map<bigint, bigint>>();

  constructor(
    private readonly floor: EpochMs,
    private readonly to: EpochMs,
    private readonly resume: EpochMs | undefined = undefined,
    private readonly onAdvance: (now: EpochMs) => void | Promise<void> = () => {},
  ) {}

  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    this.close(resource, at);
    if (holdings.length > 0) this.open.set(resource, { since: Math.max(at, this.floor), holdings });
  }

  resync(prefix: string, present: ReadonlySet<string>, at: EpochMs): void {
    for (const resource of [...this.open.keys()]) {
      if (resource.startsWith(prefix) && !present.has(resource)) this.close(resource, at);
    }
  }

  async advance(now: EpochMs): Promise<void> {
    this.advances.push(now);
    await this.onAdvance(now);
  }

  resumePoint(): EpochMs | undefined {
    return this.resume;
  }

  /** Closes everything at `to` and returns Σ per series as { num, den } of base·ms. */
  totals(): Map<string, { num: bigint; den: bigint }> {
    for (const resource of [...this.open.keys()]) this.close(resource, this.to);
    const out = new Map<string, { num: bigint; den: bigint }>();
    for (const [key, byPer] of this.sums) {
      let num = 0n;
      let den = 1n;
      for (const [per, sum] of byPer) {
        num = num * per + sum * den;
        den *= per;
      }
      if (num !== 0n) out.set(key, { num, den });
    }
    return out;
  }

  private close(resource: string, at: EpochMs): void {
    const o = this.open.get(resource);
    if (!o) return;
    this.open.delete(resource);
    const ms = BigInt(Math.max(0, Math.min(at, this.to) - o.since));
    for (const h of o.holdings) {
      const key = seriesKey(h.series);
      let byPer = this.sums.get(key);
      if (!byPer) {
        byPer = new Map();
        this.sums.set(key, byPer);
      }
      const per = h.per ?? 1n;
      byPer.set(per, (byPer.get(per) ?? 0n) + h.quantity * ms);
    }
  }
}
