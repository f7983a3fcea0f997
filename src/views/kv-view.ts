/**
 * `kvView(db, map, opts?)`: a multi-value register by key over any feeds, with links
 * (kappa-view-kv over unordered-materialized-kv): `map(entry)` returns the operations of an entry
 * — `{ key, links? }` each, the entry writing `key` and superseding the entries `links` names (by
 * `entryId`) — and each key's heads are its entries that no entry of the same key links to.
 *
 * Entries arrive in any order (across feeds, through replication): an entry linked before it
 * arrives never becomes a head, one linked after stops being one, so every replica that holds the
 * same entries has the same heads, listed in one order (feed key, then seq).
 *
 * Storage (the levelView's data sublevel, json values; keys escaped by `escapeKey`):
 *   `h!<key>` → the key's head ids, sorted (absent when it has none)
 *   `l!<key>\x00<id>` → true: an entry of `key` links to `id`
 *
 * Links are per key: a link from an entry of key A says nothing about key B. (umkv kept one link
 * record per id for all keys, which made the heads of B depend on arrival order when an A entry
 * linked a B entry.)
 */
import { EventEmitter } from 'node:events'
import { KappaError } from '../errors.js'
import { withCallback, type Callback } from '../util/callback.js'
import type { TypedReadable } from '../util/typed-readable.js'
import {
  levelView,
  type Entry,
  type Kappa,
  type LevelLike,
  type View,
  type ViewDb,
  type ViewHandle,
  type ViewIterator,
  type ViewRangeOptions,
  type ViewWatch,
  Watch,
} from '../kappa/index.js'
import { callEntryMap, fetchEntries, type EntryMap } from './entries.js'
import { compareEntryIds, compareUtf8, entryId, escapeKey, unescapeKey } from './keys.js'
import { RowStream, type RowSource } from './row-stream.js'
import { emitIfListened, toError } from '../util/errors.js'

/** One operation of an entry: it writes `key`, superseding the entries `links` names. */
export interface KvViewOp {
  key: string
  /** Entry ids (`entryId(entry)`, `<feed key hex>@<seq>`) this entry supersedes for `key`. */
  links?: readonly string[]
}

/** What a kvView's map returns for an entry: its operations; nothing leaves it out. */
export type KvViewMap<T> = EntryMap<T, KvViewOp | readonly KvViewOp[]>

/** A range of keys (level-style bounds). */
export interface KvViewRange {
  gt?: string
  gte?: string
  lt?: string
  lte?: string
}

export interface KvViewReadOptions extends KvViewRange {
  /** Most keys; -1 or absent: all. */
  limit?: number
  reverse?: boolean
}

/** A row of `createReadStream`: one per head of each key (kappa-view-kv's shape). */
export interface KvViewRow<T> {
  key: string
  value: Entry<T>
}

/** A key whose heads a committed batch changed, and its heads now. */
export interface KvViewChange<T> {
  key: string
  heads: Entry<T>[]
}

export interface KvWatchEvents<T> {
  /** The keys in range whose heads one committed batch changed, in key order. */
  change: [changes: KvViewChange<T>[]]
  /** Reading the heads' entries failed. */
  error: [err: Error]
}

/** `api.watch(range?)`: `'change'` after each committed batch that changed heads in range. */
export class KvWatch<T> extends Watch<KvWatchEvents<T>> {}

/** The api of a kvView (as the view defines it; mounted without `core`, see `BoundApi`). */
export interface KvViewApi<T> {
  /** The heads of `key` (feed key, then seq order); `[]` for a key without any. */
  get(this: ViewHandle, core: Kappa, key: string): Promise<Entry<T>[]>
  get(this: ViewHandle, core: Kappa, key: string, cb: Callback<Entry<T>[]>): void
  /** One row `{ key, value: entry }` per head of every key in range, in key order. */
  createReadStream(this: ViewHandle, core: Kappa, opts?: KvViewReadOptions): TypedReadable<KvViewRow<T>>
  /** Watches the heads: `'change'` with the keys in range each committed batch changed. */
  watch(this: ViewHandle, core: Kappa, range?: KvViewRange): KvWatch<T>
  /** `fn(key, entry)` for every entry with operations (its first one's key), once indexed. */
  onUpdate(this: ViewHandle, core: Kappa, fn: (key: string, entry: Entry<T>) => void): () => void
  /** `fn(entry)` for every entry whose first operation writes `key`, once indexed. */
  onUpdateKey(this: ViewHandle, core: Kappa, key: string, fn: (entry: Entry<T>) => void): () => void
}

export interface KvViewOptions {
  /** Entries per view batch (default 100). */
  maxBatch?: number
}

const HEADS = 'h!'
const LINK = 'l!'

const headsKey = (key: string): string => HEADS + escapeKey(key)
const linkKey = (key: string, id: string): string => `${LINK}${escapeKey(key)}\x00${id}`

export function kvView<T = unknown>(
  db: LevelLike,
  map: KvViewMap<T>,
  opts: KvViewOptions = {},
): View<T, KvViewApi<T>> {
  if (typeof map !== 'function') throw KappaError.invalid('kvView needs a map function')
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('kvView opts must be an object')
  return levelView<T, KvViewApi<T>, unknown>(
    db,
    { keyEncoding: 'utf8', valueEncoding: 'json' },
    (records: ViewDb<unknown>) => {
      /** The heads the batch in flight changed, by key: what its commit's watch events carry. */
      let changed = new Map<string, string[]>()
      /** The entries of the batch in flight with operations, and their first key. */
      let updated: Array<[string, Entry<T>]> = []
      const updates = new EventEmitter<{ update: [key: string, entry: Entry<T>] }>()
      updates.setMaxListeners(0)
      const committed = records.committed

      async function heads(this: ViewHandle, core: Kappa, key: string): Promise<Entry<T>[]> {
        if (typeof key !== 'string') throw KappaError.invalid('key must be a string')
        await this.ready()
        const ids = (await committed.get(headsKey(key))) as string[] | undefined
        return ids ? fetchEntries<T>(core, ids) : []
      }
      function get(this: ViewHandle, core: Kappa, key: string): Promise<Entry<T>[]>
      function get(this: ViewHandle, core: Kappa, key: string, cb: Callback<Entry<T>[]>): void
      function get(
        this: ViewHandle,
        core: Kappa,
        key: string,
        cb?: Callback<Entry<T>[]>,
      ): Promise<Entry<T>[]> {
        return withCallback(heads.call(this, core, key), cb)
      }

      return {
        maxBatch: opts.maxBatch,
        async map(entries: Entry<T>[]) {
          changed = new Map()
          updated = []
          // Every operation of the batch, grouped by key in order of first appearance.
          const byKey = new Map<string, Array<{ id: string; links: readonly string[] }>>()
          const linkedNow = new Map<string, Set<string>>()
          for (const entry of entries) {
            const ops = checkOps(await callEntryMap(map, entry))
            if (ops.length === 0) continue
            updated.push([ops[0]!.key, entry])
            const id = entryId(entry)
            for (const { key, links = [] } of ops) {
              let list = byKey.get(key)
              if (!list) byKey.set(key, (list = []))
              list.push({ id, links })
              let linked = linkedNow.get(key)
              if (!linked) linkedNow.set(key, (linked = new Set()))
              for (const link of links) linked.add(link)
            }
          }
          for (const [key, ops] of byKey) {
            const before = ((await records.get(headsKey(key))) as string[] | undefined) ?? []
            let after = before.slice()
            const linkedInBatch = linkedNow.get(key)!
            for (const { id, links } of ops) {
              for (const link of links) await records.put(linkKey(key, link), true)
              if (links.length > 0) after = after.filter((head) => !links.includes(head))
              if (linkedInBatch.has(id) || after.includes(id)) continue
              if ((await records.get(linkKey(key, id))) !== undefined) continue
              after.push(id)
            }
            after.sort(compareEntryIds)
            if (sameIds(before, after)) continue
            changed.set(key, after)
            if (after.length > 0) await records.put(headsKey(key), after)
            else await records.del(headsKey(key))
          }
        },
        indexed() {
          const batch = updated
          updated = []
          for (const [key, entry] of batch) updates.emit('update', key, entry)
        },
        api: {
          get,
          createReadStream(
            this: ViewHandle,
            core: Kappa,
            options?: KvViewReadOptions,
          ): TypedReadable<KvViewRow<T>> {
            const settings = readSettings(options)
            return new RowStream(rowSource<T>(this, core, committed, settings)) as TypedReadable<KvViewRow<T>>
          },
          watch(this: ViewHandle, core: Kappa, range: KvViewRange = {}): KvWatch<T> {
            const bounds = headsRange(checkRange(range))
            let recordWatch: ViewWatch<string, unknown> | null = null
            const watch = new KvWatch<T>(() => recordWatch?.close())
            let told = Promise.resolve()
            recordWatch = records.watch(bounds)
            recordWatch.on('change', (changes) => {
              const keys = changes
                .filter((c) => c.key.startsWith(HEADS))
                .map((c) => unescapeKey(c.key.slice(HEADS.length)))
              const now = [...new Set(keys)]
                .sort(compareUtf8)
                .map((key) => [key, changed.get(key) ?? []] as const)
              if (now.length === 0) return
              // Entries are read from the feeds; changes go out in commit order all the same.
              told = told.then(async () => {
                try {
                  const heads = await Promise.all(now.map(([, ids]) => fetchEntries<T>(core, ids)))
                  watch.emit(
                    'change',
                    now.map(([key], i) => ({ key, heads: heads[i]! })),
                  )
                } catch (err) {
                  emitIfListened(watch, 'error', toError(err))
                }
              })
            })
            return watch
          },
          onUpdate(this: ViewHandle, _core: Kappa, fn: (key: string, entry: Entry<T>) => void): () => void {
            if (typeof fn !== 'function') throw KappaError.invalid('onUpdate needs a function')
            updates.on('update', fn)
            return () => updates.off('update', fn)
          },
          onUpdateKey(
            this: ViewHandle,
            _core: Kappa,
            key: string,
            fn: (entry: Entry<T>) => void,
          ): () => void {
            if (typeof key !== 'string') throw KappaError.invalid('key must be a string')
            if (typeof fn !== 'function') throw KappaError.invalid('onUpdateKey needs a function')
            const listener = (k: string, entry: Entry<T>): void => {
              if (k === key) fn(entry)
            }
            updates.on('update', listener)
            return () => updates.off('update', listener)
          },
        },
      }
    },
  )
}

function checkOps(result: KvViewOp | readonly KvViewOp[] | null | undefined): readonly KvViewOp[] {
  if (result == null) return []
  const ops: readonly KvViewOp[] = Array.isArray(result) ? result : [result as KvViewOp]
  for (const op of ops) {
    if (op === null || typeof op !== 'object' || typeof op.key !== 'string') {
      throw KappaError.invalid('a kvView operation must be an object with a string key')
    }
    if (op.links !== undefined && (!Array.isArray(op.links) || op.links.some((l) => typeof l !== 'string'))) {
      throw KappaError.invalid('kvView operation links must be an array of entry ids')
    }
  }
  return ops
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}

function checkRange(range: KvViewRange): KvViewRange {
  if (range === null || typeof range !== 'object') throw KappaError.invalid('a key range must be an object')
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (range[bound] !== undefined && typeof range[bound] !== 'string') {
      throw KappaError.invalid(`range.${bound} must be a string`)
    }
  }
  return range
}

/**
 * A range of keys as a range of `h!` records (escaping keeps the order). As in abstract-level,
 * `gte` wins over `gt` and `lte` over `lt`.
 */
function headsRange(range: KvViewRange): ViewRangeOptions {
  const out: ViewRangeOptions = {}
  if (range.gte !== undefined) out.gte = headsKey(range.gte)
  else if (range.gt !== undefined) out.gt = headsKey(range.gt)
  else out.gte = HEADS
  if (range.lte !== undefined) out.lte = headsKey(range.lte)
  else if (range.lt !== undefined) out.lt = headsKey(range.lt)
  else out.lt = 'h"' // '"' follows '!'
  return out
}

interface ReadSettings {
  range: ViewRangeOptions
}

function readSettings(opts: KvViewReadOptions | undefined): ReadSettings {
  if (opts === undefined) return { range: headsRange({}) }
  const range = headsRange(checkRange(opts))
  const { limit = -1, reverse = false } = opts
  if (typeof limit !== 'number' || !Number.isInteger(limit))
    throw KappaError.invalid('limit must be an integer')
  if (typeof reverse !== 'boolean') throw KappaError.invalid('reverse must be a boolean')
  return { range: { ...range, limit, reverse } }
}

function rowSource<T>(
  handle: ViewHandle,
  core: Kappa,
  records: ViewDb<unknown>,
  settings: ReadSettings,
): RowSource<KvViewRow<T>> {
  let iterator: ViewIterator<[string, unknown]> | null = null
  let closed = false
  return {
    async next() {
      if (!iterator) {
        await handle.ready()
        if (closed) return null
        iterator = records.iterator(settings.range)
      }
      const r = await iterator.next()
      if (r.done || closed) return null
      const [record, ids] = r.value
      const key = unescapeKey(record.slice(HEADS.length))
      const entries = await fetchEntries<T>(core, ids as string[])
      return entries.map((value) => ({ key, value }))
    },
    async close() {
      closed = true
      await iterator?.close()
    },
  }
}
