/**
 * Key ranges of `ViewDb` range reads and watches (level-style `gt`/`gte`/`lt`/`lte`), compared as
 * stored bytes (`keyBytes`), so staged writes and committed data sort alike.
 */
import { keyBytes, type LevelSublevel } from './view-batch.js'
import { KappaError } from '../errors.js'

export interface KeyRange<K> {
  gt?: K
  gte?: K
  lt?: K
  lte?: K
}

/** A range's bounds as `keyBytes`. */
export interface RangeBounds {
  gt?: string
  gte?: string
  lt?: string
  lte?: string
}

const BOUNDS = ['gt', 'gte', 'lt', 'lte'] as const

export function rangeBounds<K>(
  level: LevelSublevel,
  range: KeyRange<K>,
  keyEncoding: string | undefined,
): RangeBounds {
  const bounds: RangeBounds = {}
  for (const name of BOUNDS) {
    const bound = range[name]
    if (bound === undefined) continue
    // abstract-level's rule: gte wins over gt, lte over lt.
    if ((name === 'gt' && range.gte !== undefined) || (name === 'lt' && range.lte !== undefined)) continue
    if (typeof bound !== 'string' && !(bound instanceof Uint8Array)) {
      throw KappaError.invalid(`range.${name} must be a string or bytes`)
    }
    bounds[name] = keyBytes(level, bound, keyEncoding)
  }
  return bounds
}

export function inRange(bytes: string, bounds: RangeBounds): boolean {
  if (bounds.gt !== undefined && !(bytes > bounds.gt)) return false
  if (bounds.gte !== undefined && !(bytes >= bounds.gte)) return false
  if (bounds.lt !== undefined && !(bytes < bounds.lt)) return false
  if (bounds.lte !== undefined && !(bytes <= bounds.lte)) return false
  return true
}

/** The range as abstract-level iterator options (only the bounds given). */
export function levelRange<K>(range: KeyRange<K>): KeyRange<K> {
  const out: KeyRange<K> = {}
  for (const name of BOUNDS) if (range[name] !== undefined) out[name] = range[name]
  return out
}
