/**
 * `listView(db, map, opts?)`: entries ordered by a key the app's `map` derives (kappa-view-list's
 * job): `map(entry)` returns the entry's sort key(s), or nothing to leave it out; the api reads
 * ranges of the list in order (`read`), follows it live (`read({ live: true })`, `watch`) and
 * tells every insertion (`onInsert`).
 *
 * Storage (the levelView's data sublevel, utf-8): one row per (sort key, entry),
 * `encodeSortKey(key) + feed key hex + seqKey(seq)` → the entry id. Ties sort by feed key, then
 * seq — the same order on every replica, whatever order the entries arrived in. Values are read
 * back from the feeds.
 */
import { KappaError } from '../errors.js'
import { optsAndCallback } from '../util/callback.js'
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
import {
  AFTER_SUFFIXES,
  checkSortKey,
  compareUtf8,
  encodeSortKey,
  entryId,
  seqKey,
  type SortKey,
} from './keys.js'
import { RowStream, type RowSource } from './row-stream.js'

/** A range of sort keys (level-style bounds). */
export interface ListRange {
  gt?: SortKey
  gte?: SortKey
  lt?: SortKey
  lte?: SortKey
}

export interface ListReadOptions extends ListRange {
  /** Most entries (of the existing ones, with `live`); -1 or absent: all. */
  limit?: number
  /** Descending order. */
  reverse?: boolean
  /** Stay open: after the existing entries, every entry inserted in range, as it is indexed. */
  live?: boolean
  /** With `live`: the existing entries first (default true). */
  old?: boolean
}

export type ListCallback<T> = (err: Error | null, entries: Entry<T>[]) => void

export interface ListWatchEvents<T> {
  /** The entries one committed batch inserted in range, in list order (one per sort key). */
  change: [entries: Entry<T>[]]
}

/** `api.watch(range?)`: `'change'` after each committed batch that inserted entries in range. */
export class ListWatch<T> extends Watch<ListWatchEvents<T>> {}

/** The api of a listView (as the view defines it; mounted without `core`, see `BoundApi`). */
export interface ListViewApi<T> {
  /**
   * The entries in range, in order (ascending unless `reverse`), once this view has indexed every
   * entry present now: a stream, or with `cb` an array.
   */
  read(this: ViewHandle, core: Kappa, opts?: ListReadOptions): TypedReadable<Entry<T>>
  read(
    this: ViewHandle,
    core: Kappa,
    opts: ListReadOptions | ListCallback<T> | undefined,
    cb?: ListCallback<T>,
  ): void
  /** Watches the list: `'change'` with the entries each committed batch inserted in range. */
  watch(this: ViewHandle, core: Kappa, range?: ListRange): ListWatch<T>
  /** `fn(entry)` for every entry inserted (once per entry), after its batch is committed. Returns the unsubscribe. */
  onInsert(this: ViewHandle, core: Kappa, fn: (entry: Entry<T>) => void): () => void
}

export interface ListViewOptions {
  /** Entries per view batch (default 100). */
  maxBatch?: number
}

/** What a listView's map returns for an entry: its sort key or keys; nothing leaves it out. */
export type ListMap<T> = EntryMap<T, SortKey | readonly SortKey[]>

const FETCH_CHUNK = 64

export function listView<T = unknown>(
  db: LevelLike,
  map: ListMap<T>,
  opts: ListViewOptions = {},
): View<T, ListViewApi<T>> {
  if (typeof map !== 'function') throw KappaError.invalid('listView needs a map function')
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('listView opts must be an object')
  return levelView<T, ListViewApi<T>, string>(
    db,
    { keyEncoding: 'utf8', valueEncoding: 'utf8' },
    (rows: ViewDb<string>) => {
      /** The entries the batch in flight inserted, by id: what its commit's watch events carry. */
      let inserted = new Map<string, Entry<T>>()
      /** The entries a commit's row changes name: in list order, or (`inOrder` false) as written. */
      const entriesOf = (
        changes: ReadonlyArray<{ type: string; key: string; value?: string }>,
        inOrder = true,
      ): Entry<T>[] => {
        const entries: Entry<T>[] = []
        const ordered = inOrder ? [...changes].sort((x, y) => compareUtf8(x.key, y.key)) : changes
        for (const change of ordered) {
          const entry = change.type === 'put' && inserted.get(change.value!)
          if (entry) entries.push(entry)
        }
        return entries
      }
      const watchRows = (
        range: ListRange,
        listener: (entries: Entry<T>[]) => void,
      ): ViewWatch<string, string> => {
        const watch = rows.watch(rowRange(range))
        watch.on('change', (changes) => {
          const entries = entriesOf(changes)
          if (entries.length > 0) listener(entries)
        })
        return watch
      }

      function read(this: ViewHandle, core: Kappa, opts?: ListReadOptions): TypedReadable<Entry<T>>
      function read(
        this: ViewHandle,
        core: Kappa,
        opts: ListReadOptions | ListCallback<T> | undefined,
        cb?: ListCallback<T>,
      ): void
      function read(
        this: ViewHandle,
        core: Kappa,
        a?: ListReadOptions | ListCallback<T>,
        b?: ListCallback<T>,
      ): TypedReadable<Entry<T>> | void {
        const [options, cb] = optsAndCallback<ListReadOptions, ListCallback<T>>(a, b)
        let stream: TypedReadable<Entry<T>>
        try {
          const settings = readSettings(options)
          stream = new RowStream(
            listSource(this, core, rows.committed, settings, watchRows),
          ) as TypedReadable<Entry<T>>
        } catch (err) {
          if (!cb) throw err
          process.nextTick(cb, err as Error, [])
          return
        }
        if (!cb) return stream
        stream.toArray().then(
          (entries) => process.nextTick(cb, null, entries),
          (err: unknown) => process.nextTick(cb, err as Error, []),
        )
      }

      return {
        maxBatch: opts.maxBatch,
        async map(entries: Entry<T>[]) {
          inserted = new Map()
          const ops: Array<{ type: 'put'; key: string; value: string }> = []
          for (const entry of entries) {
            const result = await callEntryMap(map, entry)
            const keys: readonly SortKey[] = result == null ? [] : Array.isArray(result) ? result : [result]
            if (keys.length === 0) continue
            const id = entryId(entry)
            const tie = entry.key + seqKey(entry.seq)
            for (const key of keys) {
              checkSortKey(key, 'a listView sort key')
              ops.push({ type: 'put', key: encodeSortKey(key) + tie, value: id })
            }
            inserted.set(id, entry)
          }
          if (ops.length > 0) await rows.batch(ops)
        },
        api: {
          read,
          watch(this: ViewHandle, _core: Kappa, range: ListRange = {}): ListWatch<T> {
            checkRange(range)
            let rowWatch: ViewWatch<string, string> | null = null
            const watch = new ListWatch<T>(() => rowWatch?.close())
            rowWatch = watchRows(range, (entries) => watch.emit('change', entries))
            return watch
          },
          onInsert(this: ViewHandle, _core: Kappa, fn: (entry: Entry<T>) => void): () => void {
            if (typeof fn !== 'function') throw KappaError.invalid('onInsert needs a function')
            const watch = rows.watch()
            watch.on('change', (changes) => {
              const seen = new Set<Entry<T>>()
              for (const entry of entriesOf(changes, false)) {
                if (seen.has(entry)) continue
                seen.add(entry)
                fn(entry)
              }
            })
            return () => watch.close()
          },
        },
      }
    },
  )
}

interface ReadSettings {
  range: ListRange
  limit: number
  reverse: boolean
  live: boolean
  old: boolean
}

function readSettings(opts: ListReadOptions | undefined): ReadSettings {
  if (opts === undefined) return { range: {}, limit: -1, reverse: false, live: false, old: true }
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('read options must be an object')
  checkRange(opts)
  const { limit = -1, reverse = false, live = false, old = true } = opts
  if (typeof limit !== 'number' || !Number.isInteger(limit))
    throw KappaError.invalid('limit must be an integer')
  for (const [name, flag] of Object.entries({ reverse, live, old })) {
    if (typeof flag !== 'boolean') throw KappaError.invalid(`${name} must be a boolean`)
  }
  const { gt, gte, lt, lte } = opts
  return { range: { gt, gte, lt, lte }, limit, reverse, live, old }
}

function checkRange(range: ListRange): void {
  if (range === null || typeof range !== 'object') throw KappaError.invalid('a list range must be an object')
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    if (range[bound] !== undefined) checkSortKey(range[bound], `range.${bound}`)
  }
}

/**
 * A range of sort keys as a range of rows: every tie of a key lies between `enc(key)` and
 * `enc(key)~`. As in abstract-level, `gte` wins over `gt` and `lte` over `lt`.
 */
function rowRange(range: ListRange): ViewRangeOptions {
  const out: ViewRangeOptions = {}
  if (range.gte !== undefined) out.gte = encodeSortKey(range.gte)
  else if (range.gt !== undefined) out.gt = encodeSortKey(range.gt) + AFTER_SUFFIXES
  if (range.lte !== undefined) out.lt = encodeSortKey(range.lte) + AFTER_SUFFIXES
  else if (range.lt !== undefined) out.lt = encodeSortKey(range.lt)
  return out
}

/**
 * The rows of one `read`: the existing entries in range (fetched from the feeds in chunks), then,
 * live, the entries of each later commit. The watch starts as the snapshot is taken: events heard
 * before the snapshot started are in it and dropped, the others follow it.
 */
function listSource<T>(
  handle: ViewHandle,
  core: Kappa,
  rows: ViewDb<string>,
  settings: ReadSettings,
  watchRows: (range: ListRange, listener: (entries: Entry<T>[]) => void) => ViewWatch<string, string>,
): RowSource<Entry<T>> {
  let iterator: ViewIterator<string> | null = null
  let watch: ViewWatch<string, string> | null = null
  const live: Entry<T>[] = []
  let wake: (() => void) | null = null
  let closed = false
  let opened: Promise<void> | null = null
  const open = async (): Promise<void> => {
    await handle.ready()
    if (closed) return
    if (settings.old) {
      iterator = rows.values({
        ...rowRange(settings.range),
        reverse: settings.reverse,
        limit: settings.limit,
      })
    }
    if (settings.live) {
      const snapshot = iterator
      watch = watchRows(settings.range, (entries) => {
        if (snapshot && !snapshot.started) return
        live.push(...entries)
        wake?.()
      })
    }
  }
  return {
    async next() {
      opened ??= open()
      await opened
      if (closed) return null
      if (iterator) {
        const ids: string[] = []
        for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
          ids.push(r.value)
          if (ids.length === FETCH_CHUNK) break
        }
        if (ids.length > 0) return fetchEntries<T>(core, ids)
        await iterator.close()
        iterator = null
      }
      if (!watch) return null
      while (live.length === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve))
      wake = null
      return closed ? null : live.splice(0)
    },
    async close() {
      closed = true
      ;(watch as ViewWatch<string, string> | null)?.close()
      wake?.()
      await (iterator as ViewIterator<string> | null)?.close()
    },
  }
}
