import { createHash } from 'node:crypto';
import type { RandomGenerator } from 'pure-rand';
import { xoroshiro128plus } from 'pure-rand';

/** A closed range of milliseconds, `5s..120s` in a scenario. */
export interface MsRange {
  readonly min: number;
  readonly max: number;
}

/** 32-bit FNV-1a of a string: derives a stream's seed from the scenario seed and the stream's name. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * One named random stream (pure-rand xoroshiro128+). Every process of the simulation (a node slot, a
 * tenant's job stream, a PVC) draws from its own stream, so adding a tenant does not change the others.
 */
export class RandomStream {
  private readonly rng: RandomGenerator;

  constructor(seed: number, name: string) {
    this.rng = xoroshiro128plus(fnv1a(`${seed}/${name}`) ^ Math.imul(seed | 0, 0x9e3779b1));
  }

  /** Uniform in the open interval (0, 1). */
  float(): number {
    return ((this.rng.unsafeNext() >>> 0) + 0.5) / 4294967296;
  }

  /** Uniform integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1));
  }

  /** Uniform milliseconds in a range. */
  ms(range: MsRange): number {
    return this.int(range.min, range.max);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Exponentially distributed milliseconds with the given mean, at least 1. */
  exp(meanMs: number): number {
    return Math.max(1, Math.round(-Math.log(this.float()) * meanMs));
  }
}

/** A deterministic, UUID-shaped uid for an object, derived from the seed and the object's unique key. */
export function simUid(seed: number, key: string): string {
  const h = createHash('sha1').update(`${seed}|${key}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
