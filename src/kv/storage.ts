/**
 * Where a HyperKV keeps its log and its register: `hyperkv({ log, db })` uses what it is given
 * (db default: the sublevel `kv` of the log's own database); `hyperkv(dir)` opens a hyperlog in
 * `dir` (json values) with the register inside the log's database, and closes it with the store.
 */
import { KappaError } from '../errors.js'
import { Hyperlog, hyperlog } from '../hyperlog/index.js'
import type { HyperKVDirOptions, HyperKVOptions, KvDatabase } from './types.js'

export interface KvStorage {
  log: Hyperlog<unknown>
  db: KvDatabase
  /** Closes what the store opened itself (nothing when the log was given). */
  close(): Promise<void>
}

export function openKvStorage(opts: HyperKVOptions | string, dirOpts?: HyperKVDirOptions): KvStorage {
  if (typeof opts === 'string') {
    if (opts.length === 0) throw KappaError.invalid('directory must be a non-empty string')
    if (dirOpts !== undefined && (dirOpts === null || typeof dirOpts !== 'object')) {
      throw KappaError.invalid('hyperkv(dir, opts): opts must be an object')
    }
    const log = hyperlog<unknown>(opts, {
      valueEncoding: 'json',
      maxFeeds: dirOpts?.maxFeeds,
      ...(dirOpts?.key !== undefined ? { key: dirOpts.key } : {}),
      membership: dirOpts?.membership,
      policy: dirOpts?.policy,
    })
    return { log, db: log.db.sublevel('kv') as unknown as KvDatabase, close: () => log.close() }
  }
  if (dirOpts !== undefined) throw KappaError.invalid('options beside { log } belong to the log')
  if (typeof opts !== 'object' || opts === null || !(opts.log instanceof Hyperlog)) {
    throw KappaError.invalid('hyperkv needs a directory or { log, db? } with a Hyperlog')
  }
  if (opts.log.valueEncoding !== 'json') {
    throw KappaError.invalid("hyperkv needs a hyperlog opened with valueEncoding: 'json'")
  }
  if (opts.db !== undefined && !isLevel(opts.db))
    throw KappaError.invalid('db must be an abstract-level database')
  const db = (opts.db ?? opts.log.db.sublevel('kv')) as unknown as KvDatabase
  return { log: opts.log, db, close: async () => {} }
}

function isLevel(db: unknown): boolean {
  const d = db as { sublevel?: unknown; batch?: unknown; get?: unknown } | null
  return (
    typeof d === 'object' && d !== null && typeof d.sublevel === 'function' && typeof d.batch === 'function'
  )
}
