import type { HoldingsConsumer } from '../../../component/component.js';
import { type EpochMs, type Holding, seriesKey } from '../../../metering/types.js';

/** Records what the receiver tells the usage connector; `current()` is what each resource holds now. */
export class RecordingConsumer implements HoldingsConsumer {
  readonly calls: Array<{ resource: string; at: EpochMs; holdings: readonly Holding[] }> = [];
  readonly resyncs: Array<{ prefix: string; present: ReadonlySet<string>; at: EpochMs }> = [];
  private readonly state = new Map<string, readonly Holding[]>();

  constructor(private readonly resume: EpochMs | undefined = undefined) {}

  setHoldings(resource: string, at: EpochMs, holdings: readonly Holding[]): void {
    this.calls.push({ resource, at, holdings });
    if (holdings.length === 0) this.state.delete(resource);
    else this.state.set(resource, holdings);
  }

  resync(prefix: string, present: ReadonlySet<string>, at: EpochMs): void {
    this.resyncs.push({ prefix, present, at });
    for (const r of [...this.state.keys()]) if (r.startsWith(prefix) && !present.has(r)) this.state.delete(r);
  }

  async advance(): Promise<void> {}

  resumePoint(): EpochMs | undefined {
    return this.resume;
  }

  /** `series key → Σ quantity/per` over every resource holding now, as `num/den` strings. */
  current(): Map<string, string> {
    const sums = new Map<string, { num: bigint; den: bigint }>();
    for (const holdings of this.state.values()) {
      for (const h of holdings) {
        const k = seriesKey(h.series);
        const s = sums.get(k) ?? { num: 0n, den: 1n };
        const per = h.per ?? 1n;
        sums.set(k, { num: s.num * per + h.quantity * s.den, den: s.den * per });
      }
    }
    const out = new Map<string, string>();
    for (const [k, { num, den }] of sums) {
      const g = gcd(num, den);
      out.set(k, den / g === 1n ? String(num / g) : `${num / g}/${den / g}`);
    }
    return out;
  }

  /** Resources holding something now. */
  resources(): string[] {
    return [...this.state.keys()].sort();
  }
}

function gcd(a: bigint, b: bigint): bigint {
  return b === 0n ? (a < 0n ? -a : a) : gcd(b, a % b);
}
