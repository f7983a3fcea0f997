/**
 * What listView and kvView share: calling the app's per-entry `map` in the style it declares, and
 * reading entries back from the core's feeds by id.
 */
import { KappaError } from '../errors.js'
import { toError } from '../util/errors.js'
import type { Entry, Kappa } from '../kappa/index.js'
import { parseEntryId } from './keys.js'

/** Node-style result callback of a per-entry map. */
export type MapCallback<R> = (err?: Error | null, result?: R | null) => void

/**
 * An app's per-entry map: `(entry) => result` (or a promise of it), or callback style
 * `(entry, next) => next(err, result)` (declaring `next` makes it callback style); `null` or
 * `undefined` leaves the entry out. One signature, so `entry` and `next` are typed in place.
 */
export type EntryMap<T, R> = (
  entry: Entry<T>,
  next: MapCallback<R>,
) => R | null | undefined | void | Promise<R | null | undefined | void>

/** What a promise-style map is given as its (undeclared) second argument. */
const NO_CALLBACK: MapCallback<unknown> = () => {}

/** Calls `map` as its arity says: two parameters means callback style. */
export function callEntryMap<T, R>(map: EntryMap<T, R>, entry: Entry<T>): Promise<R | null | undefined> {
  if (map.length >= 2) {
    return new Promise((resolve, reject) => {
      try {
        void map(entry, (err, result) => (err ? reject(toError(err)) : resolve(result)))
      } catch (err) {
        reject(toError(err))
      }
    })
  }
  try {
    return Promise.resolve(map(entry, NO_CALLBACK) as R | null | undefined | Promise<R | null | undefined>)
  } catch (err) {
    return Promise.reject(toError(err))
  }
}

/** The entries with these ids, read from the core's feeds, in the order given. */
export function fetchEntries<T>(core: Pick<Kappa, 'feed'>, ids: readonly string[]): Promise<Entry<T>[]> {
  return Promise.all(
    ids.map(async (id) => {
      const parsed = parseEntryId(id)
      const feed = parsed && core.feed(parsed.key)
      if (!parsed || !feed) throw KappaError.notFound(`no entry ${id} in this core`)
      return { key: parsed.key, seq: parsed.seq, value: (await feed.get(parsed.seq)) as T }
    }),
  )
}
