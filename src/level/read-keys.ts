/**
 * `readKeys` / `readKeysSync`: reads a few keys of an abstract-level database (used by the DAG's
 * reads and by HyperKV's register). A handful of keys is read with `getSync` where
 * the database supports it, without a thread-pool round trip (records are small and mostly in
 * leveldb's caches); more keys go through one `getMany`.
 */
import type { LevelDb } from './types.js'

/** Up to this many keys are read synchronously. */
const SYNC_READS = 8

interface SyncReadable {
  supports: { getSync?: boolean }
  status: string
  getSync(key: unknown): unknown
}

/** The values of `keys` (undefined: absent), read synchronously when few enough, else with one `getMany`. */
export function readKeys<V>(db: LevelDb | object, keys: readonly unknown[]): Promise<(V | undefined)[]> {
  let values: (V | undefined)[] | null
  try {
    values = readKeysSync<V>(db, keys)
  } catch (err) {
    return Promise.reject(err as Error)
  }
  if (values) return Promise.resolve(values)
  return (db as LevelDb).getMany(keys as unknown[]) as Promise<(V | undefined)[]>
}

/** The values read synchronously (few keys, `getSync` supported), else null: use `readKeys`. */
export function readKeysSync<V>(db: LevelDb | object, keys: readonly unknown[]): (V | undefined)[] | null {
  if (keys.length === 0) return []
  const sync = db as unknown as SyncReadable
  if (keys.length > SYNC_READS || sync.supports.getSync !== true || sync.status !== 'open') return null
  const values = new Array<V | undefined>(keys.length)
  for (let i = 0; i < keys.length; i++) values[i] = sync.getSync(keys[i]) as V | undefined
  return values
}
