/**
 * The keys listView and kvView store, as order-preserving strings (utf-8 keys compare bytewise):
 *
 * - `escapeKey(s)`: `s` with `\x00` → `\x01\x01` and `\x01` → `\x01\x02`, so it never contains
 *   `\x00` and two escaped keys compare as the keys do. A `\x00` then ends a key unambiguously.
 * - `encodeSortKey(k)`: a list's sort key, numbers before strings: `n` + 16 hex digits of the
 *   double (sign-flipped so the hex order is the numeric order), or `s` + the escaped string;
 *   then `\x00`.
 * - Entry ids `<feed key hex>@<seq>` (`entryId`), and `seqKey(seq)`: a seq as 14 hex digits
 *   (every safe integer), so ties in a list sort by feed, then seq.
 */
import { KappaError } from '../errors.js'
import type { FeedKey } from '../feeds/index.js'
import type { Entry } from '../kappa/index.js'

/** What a list is sorted by: a string or a finite number (numbers sort before strings). */
export type SortKey = string | number

/** `<feed key hex>@<seq>`: the id of one entry of one feed. */
export type EntryId = `${string}@${number}`

export function entryId(entry: Pick<Entry, 'key' | 'seq'>): EntryId {
  return `${entry.key}@${entry.seq}`
}

/** The feed key and seq of an entry id; null when `id` is not one. */
export function parseEntryId(id: string): { key: FeedKey; seq: number } | null {
  const at = id.indexOf('@')
  if (at !== 64 || !/^[0-9a-f]{64}$/.test(id.slice(0, 64))) return null
  const seq = Number(id.slice(65))
  if (!Number.isSafeInteger(seq) || seq < 0 || String(seq) !== id.slice(65)) return null
  return { key: id.slice(0, 64) as FeedKey, seq }
}

/** Entry ids in feed-key order, then seq order: the same on every replica. */
export function compareEntryIds(a: string, b: string): number {
  const fa = a.slice(0, 64)
  const fb = b.slice(0, 64)
  if (fa !== fb) return fa < fb ? -1 : 1
  return Number(a.slice(65)) - Number(b.slice(65))
}

const ESCAPED = /[\x00\x01]/g // eslint-disable-line no-control-regex

export function escapeKey(key: string): string {
  return key.replace(ESCAPED, (c) => (c === '\x00' ? '\x01\x01' : '\x01\x02'))
}

export function unescapeKey(escaped: string): string {
  return escaped.replace(/\x01([\x01\x02])/g, (_m, c: string) => (c === '\x01' ? '\x00' : '\x01')) // eslint-disable-line no-control-regex
}

export function checkSortKey(key: unknown, what = 'sort key'): asserts key is SortKey {
  if (typeof key === 'string') return
  if (typeof key === 'number' && Number.isFinite(key)) return
  throw KappaError.invalid(`${what} must be a string or a finite number`)
}

export function encodeSortKey(key: SortKey): string {
  if (typeof key === 'string') return `s${escapeKey(key)}\x00`
  const bytes = Buffer.alloc(8)
  bytes.writeDoubleBE(key === 0 ? 0 : key) // -0 sorts as 0
  if (bytes[0]! & 0x80) for (let i = 0; i < 8; i++) bytes[i] = ~bytes[i]! & 0xff
  else bytes[0] = bytes[0]! | 0x80
  return `n${bytes.toString('hex')}\x00`
}

export function decodeSortKey(encoded: string): SortKey {
  const end = encoded.indexOf('\x00')
  const body = encoded.slice(1, end)
  if (encoded[0] === 's') return unescapeKey(body)
  const bytes = Buffer.from(body, 'hex')
  if (bytes[0]! & 0x80) bytes[0] = bytes[0]! & 0x7f
  else for (let i = 0; i < 8; i++) bytes[i] = ~bytes[i]! & 0xff
  return bytes.readDoubleBE()
}

/** A seq as 14 hex digits: every safe integer fits, and the hex order is the numeric order. */
export function seqKey(seq: number): string {
  return seq.toString(16).padStart(14, '0')
}

/** Two strings in the order of their utf-8 bytes (the database's order of utf-8 keys). */
export function compareUtf8(a: string, b: string): number {
  if (ASCII.test(a) && ASCII.test(b)) return a < b ? -1 : a > b ? 1 : 0
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

const ASCII = /^[\x00-\x7f]*$/ // eslint-disable-line no-control-regex

/** Sorts after every key that starts with `prefix` and continues with hex digits or `@`. */
export const AFTER_SUFFIXES = '~'
