/**
 * `writeBatch(db, ops)`: `db.batch(ops)` — the same operations, atomically — as fast as the
 * database allows. The DAG and its views commit thousands of operations per batch, and how they
 * reach classic-level decides much of a write's cost: a chained batch whose operations carry no
 * options (the root's own encodings) costs the main thread a fraction of an array batch
 * `db.batch(ops)`, and one whose operations carry options (a sublevel, an encoding) costs the most.
 *
 * So when `db` is a root database with utf-8 keys and byte values (Hyperlog opens its own that
 * way) and every operation has a string key and aims at it or at a sublevel of it with utf-8 keys
 * and byte or utf-8 values, the operations go into a chained batch with the sublevel's prefix
 * already on the key, the value as bytes, and no options.
 * Anything else is one `db.batch(ops)`.
 */
import type { LevelDb, LevelOperation } from './types.js'

interface MaybeSublevel {
  keyEncoding(): { format: string }
  valueEncoding(): { format: string }
  parent?: unknown
  db?: unknown
  prefix?: unknown
}

interface OperationFields {
  type: 'put' | 'del'
  key: unknown
  value?: unknown
  keyEncoding?: unknown
  valueEncoding?: unknown
  sublevel?: unknown
}

/** Per database: the formats of its encodings, as far as they matter here (they never change). */
const formats = new WeakMap<object, 'bytes' | 'utf8' | null>()

export function writeBatch(db: LevelDb, ops: readonly LevelOperation[]): Promise<void> {
  if (ops.length === 0) return Promise.resolve()
  if (prefixOf(db as unknown as MaybeSublevel, db) !== '') return db.batch(ops as never[])
  const keys = new Array<string>(ops.length)
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as OperationFields
    if (typeof op.key !== 'string' || op.keyEncoding !== undefined || op.valueEncoding !== undefined)
      return db.batch(ops as never[])
    const target = (op.sublevel ?? db) as MaybeSublevel
    const prefix = prefixOf(target, db)
    if (prefix === null) return db.batch(ops as never[])
    if (op.type === 'put') {
      const value = op.value
      if (value instanceof Uint8Array ? !holdsBytes(target) : typeof value !== 'string' || holdsBytes(target))
        return db.batch(ops as never[])
    }
    keys[i] = prefix + op.key
  }
  const batch = db.batch()
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i] as OperationFields
    // A utf-8 sublevel's string value: its bytes, as that sublevel's encoding would store them.
    if (op.type === 'put') batch.put(keys[i], typeof op.value === 'string' ? Buffer.from(op.value) : op.value)
    else batch.del(keys[i])
  }
  return batch.write()
}

/**
 * The prefix `target`'s keys take in `root` when `target` is `root` itself or one of its sublevels
 * with utf-8 keys and byte values and `root` is a root database with such encodings too; else null.
 */
function prefixOf(target: MaybeSublevel, root: LevelDb): string | null {
  const rootDb = root as unknown as MaybeSublevel
  if (rootDb.parent != null || !holdsBytes(rootDb)) return null
  if (target === rootDb) return ''
  if (target.db !== root || typeof target.prefix !== 'string' || formatOf(target) === null) return null
  return target.prefix
}

function holdsBytes(db: MaybeSublevel): boolean {
  return formatOf(db) === 'bytes'
}

/** 'bytes' (utf-8 keys, view or buffer values), 'utf8' (utf-8 keys and values), else null. */
function formatOf(db: MaybeSublevel): 'bytes' | 'utf8' | null {
  let format = formats.get(db)
  if (format === undefined) {
    format = null
    try {
      const value = db.valueEncoding().format
      if (db.keyEncoding().format === 'utf8') {
        if (value === 'view' || value === 'buffer') format = 'bytes'
        else if (value === 'utf8') format = 'utf8'
      }
    } catch {
      format = null
    }
    formats.set(db, format)
  }
  return format
}
