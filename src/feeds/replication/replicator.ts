/**
 * A Multifeed's replication: `replicate()` argument handling, the set of open sessions (so live
 * sessions hear about new feeds and `close()` can end them all first).
 */
import { Duplex } from 'node:stream'
import type Corestore from 'corestore'
import { KappaError } from '../../errors.js'
import type { HypercoreFeed } from '../feed.js'
import type { PreambleRole } from '../messages.js'
import type { ReplicateOptions, ReplicationMode } from '../types.js'
import { replicationError } from './errors.js'
import { ReplicationSession, type FeedHost } from './session.js'
import { StatsHub } from './stats.js'
import { ReplicationTransport } from './transport.js'

const MODES: ReplicationMode[] = ['sync', 'push', 'pull']

export class Replicator<T> {
  private readonly host: FeedHost<T>
  private readonly store: Corestore
  private readonly sessions = new Set<ReplicationSession<T>>()
  /** Block counters of every stream, fed by one listener pair per core. */
  private readonly stats = new StatsHub()

  constructor(host: FeedHost<T>, store: Corestore) {
    this.host = host
    this.store = store
  }

  replicate(isInitiator: boolean | Duplex | undefined | null, opts: ReplicateOptions): Duplex {
    const options = checkOptions(opts)
    let role: PreambleRole = 'negotiate'
    let raw: Duplex | null = null
    if (typeof isInitiator === 'boolean') role = isInitiator ? 'initiator' : 'responder'
    else if (isInitiator instanceof Duplex) raw = isInitiator
    else if (isInitiator !== undefined && isInitiator !== null) {
      throw KappaError.invalid('isInitiator must be a boolean, a Duplex stream, or omitted')
    }

    let session: ReplicationSession<T> | null = null
    const transport = new ReplicationTransport(
      role,
      (initiator) => session?.start(initiator),
      this.stats.streamStats(),
    )
    session = new ReplicationSession<T>(this.host, this.store, transport, options, (s) =>
      this.sessions.delete(s),
    )
    const failWith = (err: unknown) => session?.fail(replicationError(err))
    if (this.host.isClosing) process.nextTick(failWith, KappaError.closed('multifeed'))
    else this.sessions.add(session)

    if (raw) runOver(raw, transport, failWith)
    return transport
  }

  /** A feed was added locally or learned from a peer: live sessions pass it on. */
  feedAdded(feed: HypercoreFeed<T>): void {
    this.stats.watch(feed.core)
    for (const session of this.sessions) session.announce(feed)
  }

  /** Ends every session and waits until their streams have closed. */
  async close(): Promise<void> {
    await Promise.all([...this.sessions].map((session) => session.stop()))
  }
}

/** How long a failed transport's raw stream may take to finish its end before it is destroyed. */
const RAW_END_GRACE = 1000

/**
 * Runs the transport over an existing raw Duplex (a socket, stdin/stdout…). A raw stream is never
 * destroyed under bytes still on their way: a failing side ends it (its last message — our mode
 * before a conflict, a channel reject — reaches the peer, and no TCP reset throws away what the
 * peer sent) and reads on until the peer hangs up; and bytes received before the peer's end are
 * all processed before that end is judged (the end reaches the transport through the pipe, after
 * them).
 */
function runOver(raw: Duplex, transport: ReplicationTransport, fail: (err: unknown) => void): void {
  raw.pipe(transport).pipe(raw)
  raw.on('error', fail)
  raw.on('close', () => {
    transport.rawClosed()
    // Closed without its end (destroyed, reset): nothing more will come, fail now.
    if (!raw.readableEnded) fail(new KappaError('ERR_PROTOCOL', 'the connection closed early'))
  })
  transport.on('close', () => {
    // A clean close has ended the raw stream through the pipe already.
    if (!transport.errored || raw.destroyed) return
    if (!raw.writableEnded) raw.end()
    raw.resume() // unpiped: drain what the peer still sends until it hangs up
    const fallback = setTimeout(() => raw.destroy(), RAW_END_GRACE)
    raw.once('close', () => clearTimeout(fallback))
  })
}

function checkOptions(opts: ReplicateOptions | undefined): {
  live: boolean
  mode: ReplicationMode
  beforeDone?: () => Promise<void>
  beforeHello?: () => Promise<void>
  timeout?: number
} {
  if (opts === undefined) opts = {}
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('replicate opts must be an object')
  const { live = false, mode = 'sync', beforeDone, beforeHello, timeout } = opts
  if (typeof live !== 'boolean') throw KappaError.invalid('live must be a boolean')
  if (!MODES.includes(mode)) throw KappaError.invalid(`mode must be one of ${MODES.join(', ')}`)
  if (beforeDone !== undefined && typeof beforeDone !== 'function') {
    throw KappaError.invalid('beforeDone must be a function')
  }
  if (beforeHello !== undefined && typeof beforeHello !== 'function') {
    throw KappaError.invalid('beforeHello must be a function')
  }
  if (timeout !== undefined && (typeof timeout !== 'number' || !(timeout > 0))) {
    throw KappaError.invalid('timeout must be a positive number of milliseconds')
  }
  return { live, mode, beforeDone, beforeHello, timeout }
}
