/**
 * A seeded pseudo-random generator for the reliability tests: every random choice of a scenario
 * comes from one seed, so a failure is replayed with `SEED=<seed> npm test`.
 *
 * The stream itself is kv-random's mulberry32. `fork(label)` derives an independent stream, so a
 * choice that depends on runtime state (how many heads a key has after a cut sync) consumes
 * numbers from its own stream and never shifts the choices of the steps after it.
 */
import { randomGenerator } from './kv-random.js'
import { mix } from '../../src/util/mix32.js'

export class Prng {
  readonly seed: number
  private readonly nextFloat: () => number

  constructor(seed: number) {
    this.seed = seed >>> 0
    this.nextFloat = randomGenerator(this.seed)
  }

  /** A float in [0, 1). */
  next(): number {
    return this.nextFloat()
  }

  /** An integer in [min, max] (both included). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(list: readonly T[]): T {
    if (list.length === 0) throw new RangeError('pick from an empty list')
    return list[Math.floor(this.next() * list.length)]!
  }

  /** Picks by weight: `{ a: 3, b: 1 }` gives 'a' three times as often as 'b'. */
  weighted<K extends string>(weights: Record<K, number>): K {
    const entries = Object.entries(weights) as Array<[K, number]>
    let roll = this.next() * entries.reduce((sum, [, w]) => sum + w, 0)
    for (const [key, weight] of entries) {
      roll -= weight
      if (roll < 0) return key
    }
    return entries[entries.length - 1]![0]
  }

  /** Each element kept with probability `p`, order kept. */
  subset<T>(list: readonly T[], p: number): T[] {
    return list.filter(() => this.chance(p))
  }

  /** An integer spread evenly over orders of magnitude in [min, max]. */
  logInt(min: number, max: number): number {
    return Math.floor(Math.exp(Math.log(min) + this.next() * (Math.log(max + 1) - Math.log(min))))
  }

  /** An independent stream for `label`, the same for the same seed and label. */
  fork(label: string | number): Prng {
    return new Prng(mix(this.seed, String(label)))
  }
}

/** Folds a label into a seed (FNV-1a over the label, then a murmur3 finalizer). */
export { mix }

/**
 * The seed to replay, from `SEED` (decimal or 0x-hex), or null when unset. `SEED=random` draws a
 * fresh one (printed by the tests), to explore beyond the fixed seeds a normal run uses.
 */
export function seedFromEnv(name = 'SEED'): number | null {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return null
  if (raw === 'random') return (Math.random() * 2 ** 32) >>> 0
  const seed = Number(raw)
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) {
    throw new RangeError(`${name} must be an integer in [0, 2^32) or "random", got ${raw}`)
  }
  return seed
}

/** True under `npm run test:extensive`. */
export const EXTENSIVE = process.env.EXTENSIVE === '1' || process.env.EXTENSIVE === 'true'
