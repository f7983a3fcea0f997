/**
 * A Multifeed's replication: `replicate()` argument handling, the set of open sessions (so live
 * sessions hear about new feeds and `close()` can end them all first).
 */
import { Duplex } from 'node:stream'
import type Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { KappaError } from '../../errors.js'
import type { HypercoreFeed } from '../feed.js'
import type {
  ReplicateOptions,
  ReplicationMode,
  ReplicationPeer,
  ReplicationPolicy,
  ReplicationStream,
} from '../types.js'
import { SessionPolicy, type PolicyHost } from './policy.js'
import { replicationError } from './errors.js'
import { DEFAULT_LIVE_TIMEOUT, ReplicationSession, type FeedHost, type SessionOptions } from './session.js'
import { StatsHub } from './stream-stats.js'
import { isEncryptedConnection } from './connection.js'
import { ReplicationTransport, type TransportCarrier } from './transport.js'
import { optionNames, rejectUnknownOptions } from '../../util/options.js'

const MODES: ReplicationMode[] = ['sync', 'push', 'pull']

export class Replicator<T> {
  readonly #host: FeedHost<T> & PolicyHost & { readonly policy: Readonly<ReplicationPolicy> }
  readonly #store: Corestore
  readonly #sessions = new Set<ReplicationSession<T>>()
  /** Raw streams handed to `replicate()`, until they have closed (close() waits for them). */
  readonly #raws = new Set<Promise<void>>()
  /** The primary session of each stream `replicate` returned. */
  readonly #byStream = new WeakMap<object, ReplicationSession<unknown>>()
  /** Block counters of every stream, fed by one listener pair per core. */
  readonly #stats = new StatsHub()

  constructor(
    host: FeedHost<T> & PolicyHost & { readonly policy: Readonly<ReplicationPolicy> },
    store: Corestore,
  ) {
    this.#host = host
    this.#store = store
  }

  replicate(isInitiator: boolean | Duplex | undefined | null, opts: ReplicateOptions): ReplicationStream {
    const options = checkOptions(opts)
    let carrier: TransportCarrier = { kind: 'raw', role: 'negotiate' }
    let raw: Duplex | null = null
    if (typeof isInitiator === 'boolean')
      carrier = { kind: 'raw', role: isInitiator ? 'initiator' : 'responder' }
    else if (isEncryptedConnection(isInitiator)) carrier = { kind: 'connection', connection: isInitiator }
    else if (isInitiator instanceof Duplex) raw = isInitiator
    else if (isInitiator !== undefined && isInitiator !== null) {
      throw KappaError.invalid(
        'isInitiator must be a boolean, a Duplex stream, an encrypted connection, or omitted',
      )
    }

    const peerStream = raw ?? (isInitiator instanceof Duplex ? isInitiator : null)
    const peer: ReplicationPeer = {
      get remotePublicKey() {
        return remoteKeyOf(peerStream)
      },
    }
    const policy = new SessionPolicy(
      this.#host,
      { share: options.share ?? this.#host.policy.share, accept: options.accept ?? this.#host.policy.accept },
      peer,
    )
    let session: ReplicationSession<T> | null = null
    const transport = new ReplicationTransport(
      carrier,
      (initiator) => session?.start(initiator),
      this.#stats.streamStats(),
      options.live,
    )
    session = new ReplicationSession<T>(this.#host, this.#store, transport, options, policy, (s) =>
      this.#sessions.delete(s),
    )
    this.#byStream.set(transport, session as ReplicationSession<unknown>)
    const failWith = (err: unknown) => session?.fail(replicationError(err))
    if (this.#host.isClosing) process.nextTick(failWith, KappaError.closed('multifeed'))
    else this.#sessions.add(session)

    const connection = transport.connection
    if (connection && !this.#host.isClosing) {
      // Synchronously, before the connection delivers another message: the channel must exist
      // when the peer's open arrives.
      try {
        session.start(connection.isInitiator)
      } catch (err) {
        process.nextTick(failWith, err)
      }
      const closed = new Promise<void>((resolve) => {
        if (connection.destroyed) resolve()
        else connection.once('close', () => resolve())
      })
      this.#raws.add(closed)
      void closed.then(() => this.#raws.delete(closed))
    }

    if (raw) {
      const closed = runOver(raw, transport, failWith)
      this.#raws.add(closed)
      void closed.then(() => this.#raws.delete(closed))
    }
    return transport
  }

  /** The session of a stream `replicate` returned. */
  sessionOf(stream: object): ReplicationSession<unknown> | undefined {
    return this.#byStream.get(stream)
  }

  /**
   * A session of this Multifeed on `primary`'s connection: its own channel, its own policy
   * (the store's), the primary's live, mode and timeouts; it ends and fails with the primary.
   */
  secondary(primary: ReplicationSession<unknown>, opts: ReplicateOptions): void {
    const { live, mode, timeout, liveTimeout } = checkOptions(opts)
    const options: SessionOptions = { live, mode, timeout, liveTimeout }
    const policy = new SessionPolicy(this.#host, this.#host.policy, primary.peer)
    const session = new ReplicationSession<T>(
      this.#host,
      this.#store,
      primary.transport,
      options,
      policy,
      (s) => this.#sessions.delete(s),
      primary,
    )
    if (this.#host.isClosing) return
    this.#sessions.add(session)
    primary.attach(session as ReplicationSession<unknown>)
  }

  /** A feed was added locally or learned from a peer: live sessions pass it on. */
  feedAdded(feed: HypercoreFeed<T>): void {
    for (const session of this.#sessions) session.announce(feed)
  }

  /** A feed gained entries (appended, or downloaded): live sessions offer what it holds now. */
  feedGrew(feed: HypercoreFeed<T>): void {
    for (const session of this.#sessions) session.announce(feed)
  }

  /** A core session opened (a feed's, or a candidate's): the blocks it moves count in the streams' stats. */
  coreOpened(core: Hypercore): void {
    this.#stats.watch(core)
  }

  /** The store's blocks or gate changed (for `feed`, or for any feed): every session follows. */
  policyChanged(feed: HypercoreFeed<T> | null): void {
    for (const session of this.#sessions) session.policyChanged(feed)
  }

  /** Hypercore checked the tree of feed `id` the peer on `stream` sent: a fork, or none. */
  treeChecked(id: string, stream: unknown, forked: boolean): void {
    for (const session of this.#sessions) session.treeChecked(id, stream, forked)
  }

  /** Ends every session and waits until their streams, and the sockets under them, have closed. */
  async close(): Promise<void> {
    await Promise.all([...this.#sessions].map((session) => session.stop()))
    await Promise.all([...this.#raws])
  }
}

/** How long a closed transport's raw stream may take to finish its end before it is destroyed. */
const RAW_END_GRACE = 1000

/**
 * Runs the transport over an existing raw Duplex (a socket, stdin/stdout…), which the transport
 * then owns: once the transport has closed — ended, failed, or destroyed by its user — the raw
 * stream is ended and closed too. It is never destroyed under bytes still on their way: a closing
 * side ends it (its last message — our mode before a conflict, a channel reject — reaches the
 * peer, and no TCP reset throws away what the peer sent) and reads on until the peer hangs up, or
 * for RAW_END_GRACE at most; and bytes received before the peer's end are all processed before
 * that end is judged (the end reaches the transport through the pipe, after them). Resolves once
 * the raw stream has closed.
 */
function runOver(raw: Duplex, transport: ReplicationTransport, fail: (err: unknown) => void): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    if (raw.closed) resolve()
    else raw.once('close', () => resolve())
  })
  raw.pipe(transport).pipe(raw)
  raw.on('error', fail)
  raw.on('close', () => {
    transport.rawClosed()
    // Closed without its end (destroyed, reset): nothing more will come, fail now.
    if (!raw.readableEnded) fail(new KappaError('ERR_PROTOCOL', 'the connection closed early'))
  })
  transport.on('close', () => {
    if (raw.destroyed) return
    // A clean end has ended the raw stream through the pipe already; a destroyed transport has not.
    if (!raw.writableEnded) raw.end()
    raw.resume() // unpiped: drain what the peer still sends until it hangs up
    const fallback = setTimeout(() => raw.destroy(), RAW_END_GRACE)
    raw.once('close', () => clearTimeout(fallback))
  })
  return closed
}

const REPLICATE_OPTIONS: ReadonlySet<string> = optionNames<ReplicateOptions>({
  live: true,
  mode: true,
  beforeDone: true,
  beforeHello: true,
  beforeCaughtUp: true,
  share: true,
  accept: true,
  alongside: true,
  timeout: true,
  liveTimeout: true,
})

function checkOptions(opts: ReplicateOptions | undefined): SessionOptions {
  if (opts === undefined) opts = {}
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('replicate opts must be an object')
  rejectUnknownOptions(opts, REPLICATE_OPTIONS, 'replicate options')
  const {
    live = false,
    mode = 'sync',
    beforeDone,
    beforeHello,
    beforeCaughtUp,
    timeout,
    liveTimeout,
    share,
    accept,
  } = opts
  if (typeof live !== 'boolean') throw KappaError.invalid('live must be a boolean')
  if (!MODES.includes(mode)) throw KappaError.invalid(`mode must be one of ${MODES.join(', ')}`)
  if (beforeDone !== undefined && typeof beforeDone !== 'function') {
    throw KappaError.invalid('beforeDone must be a function')
  }
  if (beforeHello !== undefined && typeof beforeHello !== 'function') {
    throw KappaError.invalid('beforeHello must be a function')
  }
  if (beforeCaughtUp !== undefined && typeof beforeCaughtUp !== 'function') {
    throw KappaError.invalid('beforeCaughtUp must be a function')
  }
  if (share !== undefined && typeof share !== 'function') throw KappaError.invalid('share must be a function')
  if (accept !== undefined && typeof accept !== 'function')
    throw KappaError.invalid('accept must be a function')
  for (const [name, value] of [
    ['timeout', timeout],
    ['liveTimeout', liveTimeout],
  ] as const) {
    if (value !== undefined && (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))) {
      throw KappaError.invalid(`${name} must be a positive number of milliseconds`)
    }
  }
  return {
    live,
    mode,
    beforeDone,
    beforeHello,
    beforeCaughtUp,
    timeout,
    liveTimeout: liveTimeout ?? DEFAULT_LIVE_TIMEOUT,
    share,
    accept,
  }
}

/** The Noise public key of the connection a replication runs over, when it has one (a Hyperswarm socket). */
function remoteKeyOf(connection: Duplex | null): Buffer | null {
  const key = (connection as { remotePublicKey?: unknown } | null)?.remotePublicKey
  return key instanceof Uint8Array && key.byteLength === 32 ? Buffer.from(key) : null
}
