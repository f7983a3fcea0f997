/**
 * `Kappa`: a Multifeed plus materialized views (kappa-core 6 semantics; docs/DESIGN.md, "Views"). Each view
 * runs in its own `Indexer`; the core watches every feed once and wakes the indexers.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import { KappaError } from '../errors.js'
import { Multifeed, type MultifeedOptions, type WriterOptions } from '../feeds/index.js'
import type {
  BlockOptions,
  CorestoreLike,
  Feed,
  FeedKey,
  ReplicateOptions,
  ReplicationStream,
} from '../feeds/types.js'
import { withCallback, type Callback } from '../util/callback.js'
import { Indexer } from './indexer.js'
import { Members, checkMembershipOption, type MembershipOption } from './members.js'
import type {
  BoundApi,
  KappaEvents,
  KnownApi,
  NoApi,
  View,
  ViewApi,
  ViewState,
  VoidCallback,
} from './types.js'
import { emitIfListened, markHandled, safetyCatch } from '../util/errors.js'

export interface KappaOptions<T = unknown> extends MultifeedOptions {
  /** A preconfigured Multifeed to use instead of opening one on `storage` (it stays yours to close). */
  multifeed?: Multifeed<T>
  /**
   * Who may write: `'open'` (default: every writer with the key), `{ owner: true }` (a new owned
   * database: this store's writer is its owner) or `{ owner: '<hex writer key>' }` (join one).
   */
  membership?: MembershipOption
  /**
   * The local writer membership takes as this store's writer (`members.self`; default
   * `'default'`). Hyperlog passes the writer its nodes go to.
   */
  membershipWriter?: string
}

/** A selection of views: one name, several, or (omitted / `[]`) every view registered now. */
export type ViewNames = string | string[]

/** The api objects of a core's views, by view name. */
export type ApiMap = Record<string, object>

/** `core.api`: each view's api as mounted (see `BoundApi`). */
export type MountedApis<Apis extends ApiMap> = { [K in keyof Apis]: BoundApi<Apis[K]> }

/**
 * The api `use(name, view)` mounts under `name`: the one declared for `name` in the core's type
 * (`kappa<T, { name: Api }>()`), else the view's own.
 */
export type UsedApi<Apis extends ApiMap, N extends string, A> = N extends keyof Apis ? Apis[N] : KnownApi<A>

type WriterCallback<T> = Callback<Feed<T>>

/**
 * `Apis` types `core.api`: the views this core has, by name. Each `use(name, view)` returns the core
 * typed with that view's api added, so `kappa(dir).use('sum', sumView)` gives a core whose
 * `api.sum` is typed and whose `api.other` is a compile error. An app that installs its views in
 * several places declares them up front instead: `kappa<T, { sum: SumApi }>(dir)`; `use('sum', view)`
 * then checks the view's api against `SumApi`.
 */
export class Kappa<T = unknown, Apis extends ApiMap = NoApi> extends EventEmitter<KappaEvents> {
  /** `api[name]`: the view's api functions bound to its indexer and this core, plus `ready`. */
  readonly api: MountedApis<Apis>
  /** The underlying Multifeed (kappa-core's `_logs`). */
  readonly multifeed: Multifeed<T>
  /** Who may write, in an owned database (`membership: { owner }`); null in an open one. */
  readonly members: Members<T> | null
  readonly #ownsMultifeed: boolean
  readonly #indexers = new Map<string, Indexer<T>>()
  readonly #watched = new Set<FeedKey>()
  /** Remote entries reported as undecodable (`feed:seq`): each view skips them, one report. */
  readonly #undecodable = new Set<string>()
  readonly #opened: Promise<void>
  #closing: Promise<void> | null = null
  #countChanges = 0

  constructor(storage: string | CorestoreLike | null | undefined, opts: KappaOptions<T> = {}) {
    super()
    if (opts === null || typeof opts !== 'object') throw KappaError.invalid('opts must be an object')
    const { multifeed, membership, membershipWriter, ...multifeedOpts } = opts
    if (membershipWriter !== undefined && (typeof membershipWriter !== 'string' || membershipWriter === '')) {
      throw KappaError.invalid('membershipWriter must be a non-empty string')
    }
    const option = checkMembershipOption(membership)
    if (multifeed !== undefined && !(multifeed instanceof Multifeed)) {
      throw KappaError.invalid('opts.multifeed must be a Multifeed')
    }
    // A given Multifeed is configured already: its options here would be ignored.
    const given = Object.keys(multifeedOpts).find(
      (name) => (multifeedOpts as Record<string, unknown>)[name] !== undefined,
    )
    if (multifeed !== undefined && given !== undefined) {
      throw KappaError.invalid(`opts.${given} belongs to the given multifeed`)
    }
    if (!multifeed && (storage === null || storage === undefined)) {
      throw KappaError.invalid('storage is required unless opts.multifeed is given')
    }
    this.multifeed = multifeed ?? new Multifeed<T>(storage as string | CorestoreLike, multifeedOpts)
    this.#ownsMultifeed = !multifeed
    this.api = {} as MountedApis<Apis>
    this.multifeed.on('feed', (feed) => this.#watch(feed))
    // The store's own errors (a peer's feed forked: ERR_FORK) reach the core's listeners, with no view name.
    this.multifeed.on('error', (err) => {
      emitIfListened(this, 'error', err)
    })
    // A blocked feed counts for nothing (a block on the Multifeed itself included).
    this.multifeed.on('block', () => this.#countsChanged())
    this.multifeed.on('unblock', () => this.#countsChanged())
    this.members =
      option === 'open'
        ? null
        : new Members<T>(
            {
              multifeed: this.multifeed,
              writerName: membershipWriter,
              changed: () => this.#membersChanged(),
              removed: () => this.emit('removed'),
              failed: (err) => {
                if (this.listenerCount('error') > 0) this.emit('error', err)
              },
            },
            option,
          )
    for (const feed of this.multifeed.feeds()) this.#watch(feed)
    const members = this.members
    this.#opened = members ? this.multifeed.ready().then(() => members.open()) : this.multifeed.ready()
    // Opening failures reach callers through ready() and the views' error state.
    markHandled(this.#opened)
  }

  /** Get or create the local writable feed `name` (default `'default'`). */
  writer(cb: WriterCallback<T>): void
  writer(name: string, cb: WriterCallback<T>): void
  writer(name: string | undefined, opts: WriterOptions | undefined, cb: WriterCallback<T>): void
  writer(name?: string, opts?: WriterOptions): Promise<Feed<T>>
  writer(
    name?: string | WriterCallback<T>,
    opts?: WriterOptions | WriterCallback<T>,
    cb?: WriterCallback<T>,
  ): Promise<Feed<T>> {
    if (this.#closing) {
      const callback = [name, opts, cb].find((a): a is WriterCallback<T> => typeof a === 'function')
      return withCallback(Promise.reject(KappaError.closed('kappa')), callback)
    }
    return this.multifeed.writer(name, opts, cb)
  }

  /** The database key: replicas replicate only with stores of the same key (the Multifeed's). */
  get key(): Buffer {
    return this.multifeed.key
  }

  /** The feed with this key (Buffer or hex), or undefined. */
  feed(key: Buffer | string): Feed<T> | undefined {
    return this.multifeed.feed(key)
  }

  /**
   * How many entries of the feed with this key (Buffer or hex) count, from seq 0: every entry it
   * holds, or fewer — none for a blocked feed; in an owned database none for a writer that is not
   * a member, up to `upTo` for a removed one. Views see only these, unless they declare
   * `withExcluded`. 0 for a feed this store does not hold.
   */
  counted(key: Buffer | string): number {
    const feed = this.multifeed.feed(key)
    return feed ? this.#countedOf(feed) : 0
  }

  /**
   * How many entries of the feed with this key (Buffer or hex) can count, from seq 0, however many
   * it holds or will hold: Infinity when every entry does; 0 for a blocked feed; in an owned
   * database 0 for a writer that is not a member, `upTo` for a removed one. `counted` is the
   * smaller of this and what the feed holds. A writer that indexes its own entries before it
   * appends them (a hyperlog) asks this of its own feed.
   */
  countable(key: Buffer | string): number {
    if (this.multifeed.isBlocked(key)) return 0
    const id = typeof key === 'string' ? key.toLowerCase() : key.toString('hex')
    return this.members ? this.members.countable(id as FeedKey) : Infinity
  }

  /**
   * Blocks the feed with this key (Buffer or hex) in this store (the Multifeed's `block`: stored
   * locally, never replicated; not downloaded, served nor offered any more) and takes its entries
   * out of every view: resolves once no view shows them (views that cannot take entries back are
   * re-indexed). `opts.drop` also frees its stored blocks. A key never seen may be blocked in
   * advance; one of this store's writers: ERR_INVALID_ARGUMENT.
   */
  block(key: Buffer | string, cb: Callback<void>): void
  block(key: Buffer | string, opts: BlockOptions | undefined, cb: Callback<void>): void
  block(key: Buffer | string, opts?: BlockOptions): Promise<void>
  block(key: Buffer | string, opts?: BlockOptions | Callback<void>, cb?: Callback<void>): Promise<void> {
    const [options, callback] = typeof opts === 'function' ? [undefined, opts] : [opts, cb]
    return withCallback(
      this.#whenOpen(async () => {
        await this.multifeed.block(key, options)
        await this.#viewsReady()
      }),
      callback,
    )
  }

  /** Lifts a block; resolves once the views show the feed's entries again, as far as stored. */
  unblock(key: Buffer | string, cb: Callback<void>): void
  unblock(key: Buffer | string): Promise<void>
  unblock(key: Buffer | string, cb?: Callback<void>): Promise<void> {
    return withCallback(
      this.#whenOpen(async () => {
        await this.multifeed.unblock(key)
        await this.#viewsReady()
      }),
      cb,
    )
  }

  /** The blocked feeds' hex keys, sorted. */
  blocked(cb: Callback<FeedKey[]>): void
  blocked(): Promise<FeedKey[]>
  blocked(cb?: Callback<FeedKey[]>): Promise<FeedKey[]> {
    return withCallback(
      this.#whenOpen(() => this.multifeed.blocked()),
      cb,
    )
  }

  /**
   * Goes up at every change of what counts (a membership change, a block or unblock): while it
   * stays, `counted` of every feed stays what it was, but for entries the feed gains. Views with
   * excluded entries recount when it moved.
   */
  get countChanges(): number {
    return this.#countChanges
  }

  /** Every feed, local and remote, in the order first added. */
  feeds(): Feed<T>[] {
    return this.multifeed.feeds()
  }

  /**
   * A replication stream of every feed (see Multifeed). New feeds and entries get indexed; live,
   * `'caught-up'` waits for every view to have indexed what the peer offered at connect time (and,
   * in an owned database, for the membership records it offered, folded).
   */
  replicate(isInitiator?: boolean | Duplex, opts?: ReplicateOptions): ReplicationStream {
    if (this.#closing) throw KappaError.closed('kappa')
    if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
      return this.multifeed.replicate(isInitiator, opts)
    }
    // An owned database's membership logs travel on the same connection, on a channel of their own.
    const alongside = this.members ? [...(opts?.alongside ?? []), this.members.logs] : opts?.alongside
    if (!opts?.live) return this.multifeed.replicate(isInitiator, { ...opts, alongside })
    const { beforeCaughtUp } = opts
    return this.multifeed.replicate(isInitiator, {
      ...opts,
      alongside,
      beforeCaughtUp: async () => {
        // The membership records that arrived are folded before the views count what they allow.
        await this.members?.ready()
        await this.ready()
        if (typeof beforeCaughtUp === 'function') await beforeCaughtUp()
      },
    })
  }

  /**
   * Installs a view under `name`; its api is mounted at `api[name]`. `version` (default 1): when the
   * stored version differs, the view's data and positions are cleared and it is rebuilt.
   */
  // Two forms each: the first types the functions of the `api` object of a view written as an
  // object literal (`this`, `core`), the second takes a view already typed with any api type (an
  // interface, `object`).
  use<N extends string, A extends ViewApi>(
    name: N,
    view: View<T, N extends keyof Apis ? Apis[N] : A>,
  ): Kappa<T, Apis & Record<N, UsedApi<Apis, N, A>>>
  use<N extends string, A extends object>(
    name: N,
    view: View<T, N extends keyof Apis ? Apis[N] : A>,
  ): Kappa<T, Apis & Record<N, UsedApi<Apis, N, A>>>
  use<N extends string, A extends ViewApi>(
    name: N,
    version: number,
    view: View<T, N extends keyof Apis ? Apis[N] : A>,
  ): Kappa<T, Apis & Record<N, UsedApi<Apis, N, A>>>
  use<N extends string, A extends object>(
    name: N,
    version: number,
    view: View<T, N extends keyof Apis ? Apis[N] : A>,
  ): Kappa<T, Apis & Record<N, UsedApi<Apis, N, A>>>
  use<N extends string, A extends object>(
    name: N,
    versionOrView: number | View<T, object>,
    maybeView?: View<T, object>,
  ): Kappa<T, Apis & Record<N, UsedApi<Apis, N, A>>> {
    if (this.#closing) throw KappaError.closed('kappa')
    const version = typeof versionOrView === 'number' ? versionOrView : 1
    const view = typeof versionOrView === 'number' ? maybeView : versionOrView
    checkViewArguments(name, version, view)
    if (this.#indexers.has(name)) throw KappaError.invalid(`a view named '${name}' is already installed`)
    const indexer = new Indexer<T>({
      name,
      version,
      view: view as View<T, object>,
      feeds: () => this.multifeed.feeds(),
      opened: this.#opened,
      onStateUpdate: (state) => this.emit('state-update', name, state),
      onError: (err) => {
        // kappa-core crashed the process when nobody listened; a failed view must not.
        emitIfListened(this, 'error', err, name)
      },
      onUndecodable: (feed, seq, err) => this.#reportUndecodable(feed, seq, err),
      counted: (feed) => this.#countedOf(feed),
      countChanges: () => this.#countChanges,
    })
    this.#indexers.set(name, indexer)
    ;(this.api as Record<string, unknown>)[name] = bindApi(view.api, indexer, this)
    return this as unknown as Kappa<T, Apis & Record<N, UsedApi<Apis, N, A>>>
  }

  /** Resolves once the named views (default: all) have indexed every entry present locally now. */
  ready(cb: VoidCallback): void
  ready(viewNames: ViewNames | undefined, cb: VoidCallback): void
  ready(viewNames?: ViewNames): Promise<void>
  ready(viewNames?: ViewNames | VoidCallback, cb?: VoidCallback): Promise<void> {
    const [names, callback] = typeof viewNames === 'function' ? [undefined, viewNames] : [viewNames, cb]
    return withCallback(this.#readyImpl(names), callback as Callback<void> | undefined)
  }

  /** Pauses the named views (default: all), resolving once their batches in flight are done. */
  pause(cb: VoidCallback): void
  pause(viewNames: ViewNames | undefined, cb: VoidCallback): void
  pause(viewNames?: ViewNames): Promise<void>
  pause(viewNames?: ViewNames | VoidCallback, cb?: VoidCallback): Promise<void> {
    const [names, callback] = typeof viewNames === 'function' ? [undefined, viewNames] : [viewNames, cb]
    return withCallback(this.#pauseImpl(names), callback as Callback<void> | undefined)
  }

  /** Resumes the named views (default: all). */
  resume(viewNames?: ViewNames): void {
    if (this.#closing) throw KappaError.closed('kappa')
    for (const indexer of this.#select(viewNames)) indexer.resume()
  }

  /** The state of view `name`: `{ state, context: { totalBlocks, indexedBlocks, … } }`. */
  getState(name: string): ViewState {
    const indexer = typeof name === 'string' ? this.#indexers.get(name) : undefined
    if (!indexer) throw KappaError.notFound(`no view named '${String(name)}'`)
    return indexer.getState()
  }

  /** Stops every view after its batch in flight, then closes the Multifeed if it is ours. */
  close(cb: Callback<void>): void
  close(): Promise<void>
  close(cb?: Callback<void>): Promise<void> {
    if (!this.#closing) this.#closing = this.#closeNow()
    return withCallback(this.#closing, cb)
  }

  async #readyImpl(names: ViewNames | undefined): Promise<void> {
    if (this.#closing) throw KappaError.closed('kappa')
    const indexers = this.#select(names)
    await this.#opened
    await Promise.all(indexers.map((indexer) => indexer.ready()))
  }

  async #pauseImpl(names: ViewNames | undefined): Promise<void> {
    if (this.#closing) throw KappaError.closed('kappa')
    const indexers = this.#select(names)
    await Promise.all(indexers.map((indexer) => indexer.pause()))
  }

  async #closeNow(): Promise<void> {
    await Promise.allSettled([...this.#indexers.values()].map((indexer) => indexer.close()))
    await this.members?.close().catch(safetyCatch)
    if (this.#ownsMultifeed) await this.multifeed.close()
  }

  #select(names: ViewNames | undefined): Indexer<T>[] {
    if (names === undefined || (Array.isArray(names) && names.length === 0))
      return [...this.#indexers.values()]
    const list = typeof names === 'string' ? [names] : names
    if (!Array.isArray(list) || list.some((n) => typeof n !== 'string')) {
      throw KappaError.invalid('view names must be a string or an array of strings')
    }
    return list.map((name) => {
      const indexer = this.#indexers.get(name)
      if (!indexer) throw KappaError.notFound(`no view named '${name}'`)
      return indexer
    })
  }

  /**
   * A remote entry that does not decode (its writer used another valueEncoding): every view skips
   * it; the core reports it once, as `'error'` with `ERR_PROTOCOL` and no view name, when listened to.
   */
  #reportUndecodable(feed: FeedKey, seq: number, err: Error): void {
    const id = `${feed}:${seq}`
    if (this.#undecodable.has(id)) return
    this.#undecodable.add(id)
    emitIfListened(this, 'error', err)
  }

  #watch(feed: Feed<T>): void {
    if (this.#watched.has(feed.id)) return
    this.#watched.add(feed.id)
    feed.on('append', () => {
      this.members?.grew(feed)
      this.#wakeAll(feed)
    })
    this.#wakeAll(feed)
  }

  #countedOf(feed: Feed<T>): number {
    if (this.multifeed.isBlocked(feed.id)) return 0
    return this.members ? Math.min(feed.length, this.members.countable(feed.id)) : feed.length
  }

  /** The membership changed: the views index what counts now (re-indexing where less does). */
  async #membersChanged(): Promise<void> {
    this.#countsChanged()
    await this.#viewsReady()
  }

  /** What counts changed (membership, blocks): the views index what counts now. */
  #countsChanged(): void {
    this.#countChanges++
    this.#wakeAll()
  }

  /** Every view has indexed what counts now (nothing while closing). */
  async #viewsReady(): Promise<void> {
    if (this.#closing) return
    await Promise.all([...this.#indexers.values()].map((indexer) => indexer.ready()))
  }

  #whenOpen<R>(fn: () => Promise<R>): Promise<R> {
    if (this.#closing) return Promise.reject(KappaError.closed('kappa'))
    return this.#opened.then(fn)
  }

  /** `feed` grew or was added (none: anything may have changed). */
  #wakeAll(feed?: Feed<T>): void {
    for (const indexer of this.#indexers.values()) indexer.wake(feed)
  }
}

/** `kappa(storage, opts)` ≡ `new Kappa(storage, opts)`. */
export function kappa<T = unknown, Apis extends ApiMap = NoApi>(
  storage: string | CorestoreLike | null | undefined,
  opts?: KappaOptions<T>,
): Kappa<T, Apis> {
  return new Kappa<T, Apis>(storage, opts)
}

function bindApi<T>(api: object | undefined, indexer: Indexer<T>, core: Kappa<T, ApiMap>): object {
  const bound: Record<string, unknown> = {
    ready: (cb?: VoidCallback) => (cb ? indexer.ready(cb) : indexer.ready()),
  }
  for (const [key, member] of Object.entries(api ?? {})) {
    bound[key] = typeof member === 'function' ? member.bind(indexer, core) : member
  }
  return bound
}

function checkViewArguments(
  name: unknown,
  version: unknown,
  view: unknown,
): asserts view is View<unknown, object> {
  if (typeof name !== 'string' || name.length === 0)
    throw KappaError.invalid('view name must be a non-empty string')
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 0) {
    throw KappaError.invalid('view version must be a non-negative integer')
  }
  if (view === null || typeof view !== 'object') throw KappaError.invalid('view must be an object')
  const v = view as Record<string, unknown>
  if (typeof v.map !== 'function') throw KappaError.invalid('view.map must be a function')
  for (const hook of ['indexed', 'fetchState', 'storeState', 'clearIndex', 'clearState', 'recount']) {
    if (v[hook] !== undefined && typeof v[hook] !== 'function')
      throw KappaError.invalid(`view.${hook} must be a function`)
  }
  if ((v.fetchState === undefined) !== (v.storeState === undefined)) {
    throw KappaError.invalid('view.fetchState and view.storeState go together: give both or neither')
  }
  if (
    v.maxBatch !== undefined &&
    (typeof v.maxBatch !== 'number' || !Number.isInteger(v.maxBatch) || v.maxBatch < 1)
  ) {
    throw KappaError.invalid('view.maxBatch must be a positive integer')
  }
  for (const flag of ['withExcluded', 'sparse']) {
    if (v[flag] !== undefined && typeof v[flag] !== 'boolean')
      throw KappaError.invalid(`view.${flag} must be a boolean`)
  }
  if (v.recount !== undefined && v.withExcluded !== true) {
    throw KappaError.invalid('view.recount belongs to a view with withExcluded: true')
  }
  if (v.api !== undefined && (v.api === null || typeof v.api !== 'object')) {
    throw KappaError.invalid('view.api must be an object')
  }
}
