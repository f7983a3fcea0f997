/**
 * `ViewBatch`: the writes one view batch's `map` makes, staged until they are committed together
 * with the view's position in one atomic level batch (level-view.ts). Reads inside `map` see these
 * staged writes first (`lookup`), so a map can read what it wrote earlier in the same batch.
 */
import { KappaError } from '../errors.js'
import type { LevelDb, LevelSublevel } from '../level/types.js'

export type { LevelDb, LevelOperation, LevelSublevel } from '../level/types.js'

/** A level encoding as `db.keyEncoding(name)` / `db.valueEncoding(name)` return it. */
interface LevelEncoding {
  encode(value: unknown): unknown
  decode(value: unknown): unknown
  format: string
  commonName: string
}

export interface EncodingOptions {
  keyEncoding?: string
  valueEncoding?: string
}

export interface StagedOperation {
  type: 'put' | 'del'
  key: unknown
  value?: unknown
  keyEncoding?: string
  valueEncoding?: string
  /** Where the operation applies; it joins the batch of the view's root database. */
  sublevel: LevelSublevel
}

/** The staged state of one key: its encoded value, or deleted. */
type StagedValue = { deleted: true } | { deleted: false; encoded: unknown }

/** A key's last staged operation, with the key's `keyBytes`. */
export interface StagedKey {
  bytes: string
  op: StagedOperation
}

/** What a staged lookup found: nothing staged, a staged delete, or a staged value. */
export type Lookup = { staged: false } | { staged: true; value: unknown }

export class ViewBatch {
  readonly operations: StagedOperation[] = []
  /**
   * The staged state per key, built at the first `lookup` (most maps never read what they wrote:
   * staging them costs only the push) and kept current from then on.
   */
  #staged: Map<string, StagedValue> | null = null
  #sealed = false

  /** Adds an operation; throws once the batch is committed (a map writing after `next`). */
  stage(op: StagedOperation): void {
    if (this.#sealed) {
      throw new KappaError(
        'ERR_VIEW_FAILED',
        'a view wrote after its batch was done (after next() or the promise)',
      )
    }
    if (this.#staged) index(this.#staged, op)
    this.operations.push(op)
  }

  /** No more writes: the map is done. Reads then go to committed data only. */
  seal(): void {
    this.#sealed = true
  }

  get open(): boolean {
    return !this.#sealed
  }

  /**
   * The staged state of every key of `sublevel` (the last operation on each), sorted by
   * `keyBytes`: what a range read inside `map` merges with committed data.
   */
  stagedIn(sublevel: LevelSublevel): StagedKey[] {
    if (this.operations.length === 0) return []
    const latest = new Map<string, StagedOperation>()
    for (const op of this.operations) {
      if (aimsAt(op, sublevel)) latest.set(keyBytes(op.sublevel, op.key, op.keyEncoding), op)
    }
    const keys: StagedKey[] = []
    for (const [bytes, op] of latest) keys.push({ bytes, op })
    return keys.sort((a, b) => (a.bytes < b.bytes ? -1 : a.bytes > b.bytes ? 1 : 0))
  }

  /** The staged value of `key` in `sublevel`, decoded as a committed read would decode it. */
  lookup(sublevel: LevelSublevel, key: unknown, opts?: EncodingOptions): Lookup {
    if (this.operations.length === 0) return { staged: false }
    if (!this.#staged) {
      this.#staged = new Map()
      for (const op of this.operations) index(this.#staged, op)
    }
    const staged = this.#staged.get(stagingKey(sublevel, key, opts?.keyEncoding))
    if (!staged) return { staged: false }
    if (staged.deleted) return { staged: true, value: undefined }
    const encoding = valueEncodingOf(sublevel, opts?.valueEncoding)
    return { staged: true, value: encoding.decode(toFormat(staged.encoded, encoding.format)) }
  }
}

/** Records `op` as its key's latest staged state. */
function index(staged: Map<string, StagedValue>, op: StagedOperation): void {
  const key = stagingKey(op.sublevel, op.key, op.keyEncoding)
  if (op.type === 'del') staged.set(key, { deleted: true })
  else
    staged.set(key, {
      deleted: false,
      encoded: valueEncodingOf(op.sublevel, op.valueEncoding).encode(op.value),
    })
}

/**
 * One string per (sublevel, key) whatever the key's type or encoding: the sublevel prefix and the
 * key's bytes (`keyBytes`). A root database (no prefix) works too: it is the empty prefix.
 */
function stagingKey(sublevel: LevelSublevel, key: unknown, keyEncoding: string | undefined): string {
  return `${prefixOf(sublevel)}\0${keyBytes(sublevel, key, keyEncoding)}`
}

function prefixOf(sublevel: LevelSublevel): string {
  return sublevel.prefix ?? ''
}

/**
 * The key as stored, as a latin1 string (one char per byte of the encoded key): comparing two of
 * them compares the keys in the database's (bytewise) order. An ASCII string key is its own latin1
 * form, so the common case allocates nothing.
 */
export function keyBytes(sublevel: LevelSublevel, key: unknown, keyEncoding: string | undefined): string {
  const encoded = encodingOf(sublevel, 'keyEncoding', keyEncoding).encode(key)
  if (typeof encoded === 'string')
    return ASCII.test(encoded) ? encoded : Buffer.from(encoded).toString('latin1')
  const view = encoded as Uint8Array
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString('latin1')
}

/**
 * What a committed read with encoding `read` returns for a key or value written with encoding
 * `written` (each the sublevel's own when undefined).
 */
export function stored(
  sublevel: LevelSublevel,
  kind: 'keyEncoding' | 'valueEncoding',
  data: unknown,
  written: string | undefined,
  read: string | undefined,
): unknown {
  const encoder = encodingOf(sublevel, kind, written)
  const decoder = read === written ? encoder : encodingOf(sublevel, kind, read)
  return decoder.decode(toFormat(encoder.encode(data), decoder.format))
}

/** Whether `op` aims at `sublevel` (the same prefix: two sublevel objects of one name are one). */
export function aimsAt(op: StagedOperation, sublevel: LevelSublevel): boolean {
  return op.sublevel === sublevel || prefixOf(op.sublevel) === prefixOf(sublevel)
}

// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/

function valueEncodingOf(db: LevelDb, name: string | undefined): LevelEncoding {
  return encodingOf(db, 'valueEncoding', name)
}

/** Each database's default encodings, looked up once (abstract-level resolves them per call). */
const defaults = new WeakMap<object, { keyEncoding: LevelEncoding; valueEncoding: LevelEncoding }>()

/** The database's default encoding, or the named one (names are checked by abstract-level). */
export function encodingOf(db: LevelDb, kind: 'keyEncoding' | 'valueEncoding', name?: string): LevelEncoding {
  const lookup = db[kind] as unknown as (this: LevelDb, name?: string) => LevelEncoding
  if (name) return lookup.call(db, name)
  let known = defaults.get(db)
  if (!known) {
    known = {
      keyEncoding: (db.keyEncoding as unknown as () => LevelEncoding).call(db),
      valueEncoding: (db.valueEncoding as unknown as () => LevelEncoding).call(db),
    }
    defaults.set(db, known)
  }
  return known[kind]
}

/** Converts an encoded value to the storage format a decoder expects ('utf8', 'buffer' or 'view'). */
function toFormat(encoded: unknown, format: string): unknown {
  if (format === 'utf8')
    return typeof encoded === 'string' ? encoded : Buffer.from(encoded as Uint8Array).toString()
  if (typeof encoded === 'string') return Buffer.from(encoded)
  return encoded
}
