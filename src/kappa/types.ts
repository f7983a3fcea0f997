/**
 * The public types of the view layer: entries, views, their states, and the handle a view's api
 * functions see as `this`.
 */
import type { FeedKey } from '../feeds/types.js'
import type { Kappa } from './kappa.js'

/** One log entry as a view's `map` sees it. */
export interface Entry<T = unknown> {
  /** The feed's public key, 64 hex characters. */
  key: FeedKey
  /** 0-based position of the entry in that feed. */
  seq: number
  value: T
  /**
   * Only in a view that declares `withExcluded`: the entry does not count (its writer is not a
   * member, or was removed at or before it; see `core.counted`).
   */
  excluded?: true
}

export type ViewStateName = 'idle' | 'indexing' | 'paused' | 'error'

export interface ViewStateContext {
  /** Entries present locally, over every feed. */
  totalBlocks: number
  /** Entries this view has indexed (and persisted, when it keeps state). */
  indexedBlocks: number
  /** `indexedBlocks` when the current (or last) indexing run began. */
  prevIndexedBlocks: number
  /** `Date.now()` when the current (or last) indexing run began; 0 before any. */
  indexStartTime: number
  /** Set in the `'error'` state: what stopped the view. */
  error?: Error
}

export interface ViewState {
  state: ViewStateName
  context: ViewStateContext
}

/** Node-style completion callback of a view's hooks. */
export type Done = (err?: Error | null) => void

/**
 * A view. Every hook may be callback style (it declares the callback parameter: `map(entries,
 * next)`) or promise style (it does not: `async map(entries)`).
 */
export interface View<T = unknown, Api extends object = object> {
  /**
   * Called with a batch of contiguous entries of one feed; the next batch waits for it. Callback
   * style `map(entries, next)`, or promise style `async map(entries)`.
   */
  map(entries: Entry<T>[], next: Done): unknown
  /**
   * Mounted at `core.api[name]`: every function is bound with `this` = the view's handle and the
   * core as first argument; other members are copied as they are.
   */
  api?: Api
  /** Most entries in one batch (default 100). */
  maxBatch?: number
  /**
   * Receive every entry the feeds hold, those that do not count too (flagged `excluded: true`),
   * instead of only those that count. Such a view is never cleared when less counts: kappa calls
   * its `recount` instead, and the view itself tells what counts from `core.counted(key)`. For
   * views whose entries refer to each other (the hyperlog's DAG: an excluded node still resolves
   * as a link).
   */
  withExcluded?: boolean
  /**
   * Index sparse feeds too (accepted from a peer with `{ start }`: `feed.start` > 0, nothing
   * stored below it), from their `start` on. Without it a view skips sparse feeds altogether,
   * as a view that needs every entry of a feed must (a fold, a DAG).
   */
  sparse?: boolean
  /**
   * A `withExcluded` view only: what counts may have changed (called once after the view starts,
   * then after every change of the membership), between batches. The view compares
   * `core.counted(key)` of each feed with what it indexed. `recount(cb)` or `async recount()`.
   */
  recount?(cb: Done): unknown
  /** After each batch is mapped and its position persisted. */
  indexed?(entries: Entry<T>[]): void
  /**
   * Loads the stored positions (bytes given to `storeState`), or nothing when there are none:
   * `fetchState(cb)` or `async fetchState()` resolving to the bytes.
   */
  fetchState?(cb: (err?: Error | null, state?: Uint8Array | null) => void): unknown
  /** Persists the positions after a batch: `storeState(state, cb)` or `async storeState(state)`. */
  storeState?(state: Uint8Array, cb: Done): unknown
  /** Wipes the view's data and stored positions (on a version change, or when no state is found). */
  clearIndex?(cb: Done): unknown
  /** Accepted alias of `clearIndex` (kappa-core's README name). */
  clearState?(cb: Done): unknown
}

/** `this` inside a view's api functions. */
export interface ViewHandle {
  readonly name: string
  /** Resolves once this view has indexed every entry present locally now (at once while paused). */
  ready(cb: VoidCallback): void
  ready(): Promise<void>
  /** Stops after the batch in flight. */
  pause(cb: VoidCallback): void
  pause(): Promise<void>
  resume(): void
  getState(): ViewState
}

/** Node-style callback of `ready`, `pause` and the like. */
export type VoidCallback = (err: Error | null) => void

/**
 * A view api as mounted on the core: each function without its leading `core` parameter (its last
 * two overloads, when it has several: `read(opts?)` and `read(opts, cb)`), other members as they
 * are, plus `ready`.
 */
export type BoundApi<A> = { [M in keyof A]: BoundFunction<A[M]> } & {
  ready(cb: VoidCallback): void
  ready(): Promise<void>
}

/** One api member as mounted: a function without its `core` parameter; anything else as it is. */
export type BoundFunction<F> = F extends {
  (core: never, ...args: infer A1): infer R1
  (core: never, ...args: infer A2): infer R2
}
  ? Same<[A1, R1], [A2, R2]> extends true
    ? (...args: A2) => R2
    : { (...args: A1): R1; (...args: A2): R2 }
  : F

/** Whether two types are identical (a single signature matches the two-overload pattern twice). */
type Same<X, Y> = (<G>() => G extends X ? 1 : 2) extends <G>() => G extends Y ? 1 : 2 ? true : false

/**
 * A function of a view's `api` as the view defines it: `this` is the view's handle, the core the
 * api is mounted on comes first, then the caller's arguments. Written as a method's type so a
 * function whose `core` or arguments are typed more narrowly still fits.
 */
export type ApiFunction = {
  method(this: ViewHandle, core: Kappa, ...args: unknown[]): unknown
}['method']

/**
 * What a view's `api` may hold: functions (mounted bound, see `BoundApi`) and any other values
 * (mounted as they are). As the constraint of an inferred api type it gives the functions of an
 * api object literal their `this` and `core` types.
 */
export type ViewApi = Record<
  string,
  ApiFunction | object | string | number | bigint | boolean | symbol | null | undefined
>

/** No api: what a view without one mounts (besides `ready`). */
export type NoApi = Record<never, never>

/** An inferred api type, or `NoApi` when nothing was inferred (the constraint's index signature). */
export type KnownApi<A> = string extends keyof A ? NoApi : A

export interface KappaEvents {
  /** A view changed state. */
  'state-update': [name: string, state: ViewState]
  /** A view failed (only emitted when someone listens; the view is then in the `'error'` state). */
  error: [err: Error, name?: string]
  /** This store's writer was removed from the owned database: its appends reject `ERR_NOT_WRITABLE`. */
  removed: []
}
