import { add, type Rational, rational, ZERO } from '../../src/metering/rational.js';
import { BLANK, LAST_SCRAPE, SCRIPT, STEP_MS, TENANTS } from './fixture-script.js';

/**
 * The bills the fixture script implies, computed straight from the script (scrape by scrape), independently
 * of the receiver's code: per window start, `meter|tenant|gpu_sku` → exact amount in the meter's base unit.
 */
export function expectedAmounts(t0: number, windows: number, windowMs: number, staleMs: number) {
  const out = new Map<number, Map<string, Rational>>();
  const put = (start: number, key: string, v: Rational) => {
    if (v.num === 0n) return;
    const m = out.get(start) ?? new Map<string, Rational>();
    out.set(start, m);
    m.set(key, add(m.get(key) ?? ZERO, v));
  };
  const windowOf = (t: number) => t0 + Math.floor((t - t0 - 1) / windowMs) * windowMs; // (a, b] holds t
  const ks = [...Array(LAST_SCRAPE + 1).keys()];
  const tOf = (k: number) => t0 + k * STEP_MS;
  const tenantOf = (labels: Readonly<Record<string, string>>) =>
    (TENANTS.namespaces as Record<string, string>)[labels.namespace ?? ''] ??
    (TENANTS.nodes as Record<string, string>)[labels.Hostname ?? ''] ??
    'unattributed';
  const counter = (text: string | undefined) =>
    text === undefined || text === 'NaN' || text === BLANK ? undefined : BigInt(text);
  const inc = (prev: bigint, v: bigint) => (v >= prev ? v - prev : v);
  const last = t0 + windows * windowMs;

  // Egress: every eth0 series on its own, tenant by namespace.
  for (const s of SCRIPT.filter((x) => x.family === 'cadvisor' && x.labels.interface !== 'lo')) {
    let prev: bigint | undefined;
    for (const k of ks) {
      const v = counter(s.value(k));
      if (v === undefined) continue;
      const t = tOf(k);
      if (prev !== undefined && t > t0 && t <= last)
        put(windowOf(t), `network_egress_gb|${tenantOf(s.labels)}|`, rational(inc(prev, v)));
      prev = v;
    }
  }

  // Energy: one timeline per UUID; an increase is split between the tenants of the valid series at that scrape.
  const energy = SCRIPT.filter((x) => x.name === 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION');
  for (const uuid of new Set(energy.map((s) => s.labels.UUID))) {
    let prev: bigint | undefined;
    for (const k of ks) {
      const valid = energy.filter((s) => s.labels.UUID === uuid && counter(s.value(k)) !== undefined);
      if (valid.length === 0) continue;
      const v = valid.map((s) => counter(s.value(k)) as bigint).reduce((a, b) => (a > b ? a : b));
      const t = tOf(k);
      if (prev !== undefined && t > t0 && t <= last) {
        const tenants = [...new Set(valid.map((s) => tenantOf(s.labels)))];
        for (const tenant of tenants)
          put(
            windowOf(t),
            `gpu_energy_kwh|${tenant}|nvidia-h100-80gb-hbm3`,
            rational(inc(prev, v), BigInt(tenants.length)),
          );
      }
      prev = v;
    }
  }

  // Utilization: each valid sample holds until the next valid one, at most staleMs, clipped to the window.
  for (let w = 0; w < windows; w++) {
    const a = t0 + w * windowMs;
    const b = a + windowMs;
    const acc = new Map<string, { integral: Rational; covered: bigint }>();
    for (const s of SCRIPT.filter((x) => x.name === 'DCGM_FI_DEV_GPU_UTIL')) {
      const valid = ks.filter((k) => s.value(k) !== BLANK);
      for (const [i, k] of valid.entries()) {
        const next = i + 1 < valid.length ? tOf(valid[i + 1]!) : Number.POSITIVE_INFINITY;
        const from = Math.max(tOf(k), a);
        const to = Math.min(next, tOf(k) + staleMs, b);
        if (to <= from) continue;
        const key = tenantOf(s.labels);
        const e = acc.get(key) ?? { integral: ZERO, covered: 0n };
        acc.set(key, {
          integral: add(e.integral, rational(BigInt(s.value(k) as string) * BigInt(to - from))),
          covered: e.covered + BigInt(to - from),
        });
      }
    }
    for (const [tenant, { integral, covered }] of acc) {
      put(a, `gpu_utilization|${tenant}|nvidia-h100-80gb-hbm3`, rational(integral.num, integral.den * covered));
      put(a, `gpu_utilization_hours|${tenant}|nvidia-h100-80gb-hbm3`, integral);
    }
  }
  return out;
}
