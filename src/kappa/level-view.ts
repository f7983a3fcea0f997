/**
 * `levelView(db, [opts], setup)`: kappa-view over any abstract-level database, with exact crash
 * safety. Data lives in sublevel `d`, the view's state (its version) in sublevel `s` (key
 * `state`), each feed's position in sublevel `p` (key: the feed key). The writes `map` makes are
 * staged (view-db.ts) and committed together with the new position of the batch's feed in ONE
 * `db.batch`: after a crash the view is exactly what an uninterrupted run gives, and what a batch
 * writes does not grow with the number of feeds.
 */
import { KappaError } from '../errors.js'
import { callHook } from './call-hook.js'
import { withCallback, type Callback } from '../util/callback.js'
import type { Done, Entry, KnownApi, View, ViewApi } from './types.js'
import {
  ViewBatch,
  encodingOf,
  type LevelDb,
  type LevelOperation,
  type LevelSublevel,
  type StagedOperation,
} from './view-batch.js'
import { ViewDb, type SublevelOptions } from './view-db.js'
import { ViewStaging } from './view-staging.js'
import { ViewChanges } from './view-changes.js'
import { attachDirectHooks } from './direct-hooks.js'
import { writeBatch } from '../level/index.js'
import type { FeedKey } from '../feeds/types.js'
import { splitPositions } from './messages.js'
import { optionNames, rejectUnknownOptions } from '../util/options.js'

/** The state hooks levelView provides: one a setup returns would be silently replaced. */
const LEVEL_VIEW_HOOKS = [
  'fetchState',
  'storeState',
  'clearIndex',
  'clearState',
  'storeFeedState',
  'fetchFeedStates',
] as const satisfies ReadonlyArray<keyof View>

/** What a levelView setup returns: a view without the state hooks, which levelView provides. */
export type LevelViewDefinition<T = unknown, Api extends object = object> = Omit<
  View<T, Api>,
  (typeof LEVEL_VIEW_HOOKS)[number]
>

export type LevelViewSetup<T, Api extends object, V> = (db: ViewDb<V>) => LevelViewDefinition<T, Api>

const STATE_KEY = 'state'

const SUBLEVEL_OPTIONS = optionNames<SublevelOptions>({
  keyEncoding: true,
  valueEncoding: true,
  separator: true,
})

/**
 * What levelView accepts: any abstract-level database or sublevel (classic-level, memory-level, …),
 * whatever its encodings. Written structurally because abstract-level's own types of two
 * databases with different key/value types are not assignable to each other.
 */
export interface LevelLike {
  sublevel(name: string, options: SublevelOptions): object
  keyEncoding(): { commonName: string }
  valueEncoding(): { commonName: string }
  batch(operations: never[]): Promise<void>
  get(key: never): Promise<unknown>
  clear(): Promise<void>
}

/**
 * The view's types come from the setup: `V`, the data's values, from its parameter
 * (`(db: ViewDb<number>) => …`); `T`, the entries' values, from `map`'s parameter or from the core
 * the view is given to (`core.use(name, levelView(…))`); `Api` from the `api` object, whose
 * functions get `this` (the view's handle) and `core` typed.
 */
export function levelView<T = unknown, Api extends ViewApi = ViewApi, V = unknown>(
  db: LevelLike,
  setup: LevelViewSetup<T, Api, V>,
): View<T, KnownApi<Api>>
export function levelView<T = unknown, Api extends object = ViewApi, V = unknown>(
  db: LevelLike,
  setup: LevelViewSetup<T, Api, V>,
): View<T, KnownApi<Api>>
export function levelView<T = unknown, Api extends ViewApi = ViewApi, V = unknown>(
  db: LevelLike,
  opts: SublevelOptions,
  setup: LevelViewSetup<T, Api, V>,
): View<T, KnownApi<Api>>
export function levelView<T = unknown, Api extends object = ViewApi, V = unknown>(
  db: LevelLike,
  opts: SublevelOptions,
  setup: LevelViewSetup<T, Api, V>,
): View<T, KnownApi<Api>>
export function levelView<T, Api extends object, V>(
  level: unknown,
  optsOrSetup: SublevelOptions | LevelViewSetup<T, Api, V>,
  maybeSetup?: LevelViewSetup<T, Api, V>,
): View<T, KnownApi<Api>> {
  const setup = typeof optsOrSetup === 'function' ? optsOrSetup : maybeSetup
  const opts = typeof optsOrSetup === 'function' ? {} : optsOrSetup
  if (!isLevel(level)) throw KappaError.invalid('levelView needs an abstract-level database')
  const db = level as LevelDb
  if (typeof setup !== 'function') throw KappaError.invalid('levelView needs a setup function')
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('levelView opts must be an object')
  rejectUnknownOptions(opts, SUBLEVEL_OPTIONS, 'levelView opts')

  // The data sublevel inherits the database's encodings unless told otherwise (memdb kept values as given).
  const dataLevel = db.sublevel('d', {
    keyEncoding: encodingOf(db, 'keyEncoding').commonName,
    valueEncoding: encodingOf(db, 'valueEncoding').commonName,
    ...opts,
  }) as unknown as LevelSublevel
  const stateLevel = db.sublevel('s', { valueEncoding: 'buffer' }) as unknown as LevelSublevel
  const positionLevel = db.sublevel('p', {
    keyEncoding: 'utf8',
    valueEncoding: 'buffer',
  }) as unknown as LevelSublevel
  const staging = new ViewStaging()
  const changes = new ViewChanges()
  const viewDb = new ViewDb<V>(dataLevel, staging, changes)
  const definition = setup(viewDb)
  if (definition === null || typeof definition !== 'object' || typeof definition.map !== 'function') {
    throw KappaError.invalid('levelView setup must return an object with a map function')
  }
  for (const hook of LEVEL_VIEW_HOOKS) {
    if (hook in definition) throw KappaError.invalid(`levelView setup: ${hook} is levelView's own hook`)
  }
  const userMap = definition.map
  /** The batch `map` filled, waiting for `storeState` to commit it with the position. */
  let pending: ViewBatch | null = null

  /** Commits the batch `map` filled with `put` (a position, or the state). */
  const commitWith = async (put: LevelOperation): Promise<void> => {
    const batch = pending
    pending = null
    const ops = batch ? (batch.operations as LevelOperation[]) : []
    ops.push(put)
    // The watches skip the position's put: it is not in the data sublevel.
    await changes.commit(ops as StagedOperation[], () => writeBatch(db, ops))
  }
  const storeStateNow = (state: Uint8Array): Promise<void> =>
    commitWith({ type: 'put', key: STATE_KEY, value: state, sublevel: stateLevel })
  const storeFeedStateNow = (feedKey: FeedKey, state: Uint8Array): Promise<void> =>
    commitWith({ type: 'put', key: feedKey, value: state, sublevel: positionLevel })
  const fetchState = async (): Promise<Uint8Array | undefined> => {
    const state: unknown = await stateLevel.get(STATE_KEY)
    if (!(state instanceof Uint8Array)) return undefined
    // A state of every feed's position (stored before positions were kept per feed): moved to the
    // per-feed records in one batch, so a crash leaves one layout or the other.
    const split = splitPositions(state)
    if (!split) return state
    const ops: LevelOperation[] = split.feeds.map(([key, value]) => ({
      type: 'put',
      key,
      value,
      sublevel: positionLevel,
    }))
    ops.push({ type: 'put', key: STATE_KEY, value: split.header, sublevel: stateLevel })
    await writeBatch(db, ops)
    return split.header
  }
  const fetchFeedStates = async (): Promise<Array<[FeedKey, Uint8Array]>> =>
    (await positionLevel.iterator().all()) as Array<[FeedKey, Uint8Array]>
  const clearIndex = async (): Promise<void> => {
    // The state first: a crash between these leaves no state, and a start without state clears the rest.
    pending = null
    await stateLevel.clear()
    await positionLevel.clear()
    await dataLevel.clear()
  }
  const mapNow = (entries: Entry<T>[]): Promise<void> => {
    const batch = new ViewBatch()
    pending = batch
    staging.begin(batch)
    return callHook<void>(userMap, definition, [entries]).finally(() => staging.end(batch))
  }

  // Each hook takes both call styles, as kappa-view's did.
  const view: View<T, Api> = {
    ...definition,
    api: definition.api && outsideBatches(definition.api, staging),
    map(entries: Entry<T>[], next?: Done): Promise<void> {
      return withCallback(mapNow(entries), next as Callback<void> | undefined)
    },
    fetchState(
      cb?: (err?: Error | null, state?: Uint8Array | null) => void,
    ): Promise<Uint8Array | undefined> {
      return withCallback(fetchState(), cb as Callback<Uint8Array | undefined> | undefined)
    },
    storeState(state: Uint8Array, cb?: Done): Promise<void> {
      return withCallback(storeStateNow(state), cb as Callback<void> | undefined)
    },
    storeFeedState(feedKey: FeedKey, state: Uint8Array, cb?: Done): Promise<void> {
      return withCallback(storeFeedStateNow(feedKey, state), cb as Callback<void> | undefined)
    },
    fetchFeedStates(
      cb?: (err?: Error | null, states?: Array<[FeedKey, Uint8Array]>) => void,
    ): Promise<Array<[FeedKey, Uint8Array]>> {
      return withCallback(fetchFeedStates(), cb as Callback<Array<[FeedKey, Uint8Array]>> | undefined)
    },
    clearIndex(cb?: Done): Promise<void> {
      return withCallback(clearIndex(), cb as Callback<void> | undefined)
    },
  }
  return attachDirectHooks<T, View<T, Api>>(view, {
    map: view.map,
    storeState: view.storeState,
    storeFeedState: view.storeFeedState,
    mapNow,
    storeStateNow,
    storeFeedStateNow,
  })
}

function outsideBatches<Api extends object>(api: Api, staging: ViewStaging): Api {
  if (api === null || typeof api !== 'object') return api
  const wrapped: Record<string, unknown> = {}
  for (const [key, member] of Object.entries(api)) {
    wrapped[key] =
      typeof member === 'function'
        ? function (this: unknown, ...args: unknown[]): unknown {
            return staging.outsideBatch(
              member as (...a: never[]) => unknown,
              withCommittedReady(this, staging),
              args,
            )
          }
        : member
  }
  return wrapped as Api
}

/**
 * The api's `this` (the view's handle) with a `ready(cb)` whose callback also reads committed data:
 * the seed README's api reads inside `this.ready(function () { db.get(…) })`, which may run while
 * the next batch is already in flight.
 */
function withCommittedReady(handle: unknown, staging: ViewStaging): unknown {
  const ready = (handle as { ready?: unknown } | null)?.ready
  if (typeof ready !== 'function') return handle
  return Object.create(handle as object, {
    ready: {
      value(...args: unknown[]): unknown {
        const cb = args[0]
        if (typeof cb !== 'function') return Reflect.apply(ready, handle, args)
        return Reflect.apply(ready, handle, [
          (...cbArgs: unknown[]) => staging.outsideBatch(cb as (...a: never[]) => unknown, undefined, cbArgs),
        ])
      },
    },
  })
}

function isLevel(db: unknown): db is LevelLike {
  const d = db as Partial<LevelLike> | null
  return (
    d !== null &&
    typeof d === 'object' &&
    typeof d.sublevel === 'function' &&
    typeof d.batch === 'function' &&
    typeof d.get === 'function'
  )
}
