/**
 * One replication connection: the Noise stream from `store.replicate()`, and on it the multifeed
 * channel that proves the database key, exchanges feed lists and (non-live) agrees on the end.
 * Hypercore moves the blocks itself; this decides which cores to download and how far.
 *
 * Never returns a promise from a protomux `onmessage`: protomux keeps the whole muxer corked until
 * such a promise settles, which deadlocks a handler that waits for downloads (docs/DESIGN.md, "Replication protocol", step 8).
 * And never ends the Noise stream while the muxer is corked (Hypercore corks it while it serves
 * block requests, across storage reads): the corked messages — our `done` — would be written after
 * the end and lost (`endNoise`).
 */
import type Corestore from 'corestore'
import type { ReplicationStream } from 'corestore'
import type { ProtomuxMessage } from 'protomux'
import type { NoiseSecretStream } from '@hyperswarm/secret-stream'
import crypto from 'hypercore-crypto'
import { KappaError } from '../../errors.js'
import type { HypercoreFeed } from '../feed.js'
import {
  CHANNEL_PROTOCOL,
  DIGEST_BYTES,
  PROTOCOL_VERSION,
  addEncoding,
  doneEncoding,
  helloEncoding,
  leafEncoding,
  proofEncoding,
  settledEncoding,
  splitEncoding,
  treeEncoding,
  treeRequestEncoding,
  type AddMessage,
  type DoneMessage,
  type HelloMessage,
  type LeafMessage,
  type OfferList,
  type ProofMessage,
  type SettledMessage,
  type SplitMessage,
  type TreeMessage,
  type TreeRequestMessage,
} from '../messages.js'
import type { AcceptHook, ReplicationMode, ReplicationPeer, ShareHook } from '../types.js'
import { gateChannels } from '../dependency-internals.js'
import type { SessionPolicy } from './policy.js'
import { caughtUpTargets, whenCaughtUp } from './caught-up.js'
import { corkedMessages } from '../dependency-internals.js'
import { replicationError } from './errors.js'
import { watchVersion } from './connection.js'
import { CORE_PROTOCOL, FeedExchange, type ExchangeHost } from './exchange.js'
import { computeProof, verifyProof } from './proof.js'
import type { ReplicationTransport } from './transport.js'
import { safetyCatch } from '../../util/errors.js'

/** What a session needs from its Multifeed. */
export interface FeedHost<T> extends ExchangeHost<T> {
  readonly key: Buffer
  readonly isClosing: boolean
  open(): Promise<void>
  /** The feed whose core has this discovery key. */
  feedByDiscoveryKey(discoveryKey: Buffer): HypercoreFeed<T> | undefined
  /** Settles once the gate knows its answers. */
  whenGateReady(): Promise<void>
  /** The gate's `settle`. */
  settleGate(): Promise<void>
}

/** How long a failing session waits for its end to reach the peer before it is destroyed. */
const FAIL_GRACE = 1000
/**
 * A non-live replication without progress (a message from the peer, a block uploaded to it) for
 * this long fails with ERR_TIMEOUT when no `timeout` is given: a silent peer never hangs it.
 */
export const DEFAULT_PROGRESS_TIMEOUT = 30_000
/** A live replication whose peer sends nothing, keep-alives included, for this long fails with ERR_TIMEOUT. */
export const DEFAULT_LIVE_TIMEOUT = 60_000
/** Noise keep-alives go out at least this often (Hypercore's own default), and at least 4 per liveTimeout. */
const KEEP_ALIVE = 5000

export interface SessionOptions {
  live: boolean
  mode: ReplicationMode
  beforeDone?: () => Promise<void>
  beforeHello?: () => Promise<void>
  beforeCaughtUp?: () => Promise<void>
  timeout?: number
  liveTimeout: number
  share?: ShareHook
  accept?: AcceptHook
}

interface ChannelMessages {
  proof: ProtomuxMessage<ProofMessage>
  hello: ProtomuxMessage<HelloMessage>
  add: ProtomuxMessage<AddMessage>
  done: ProtomuxMessage<DoneMessage>
  treeRequest: ProtomuxMessage<TreeRequestMessage>
  tree: ProtomuxMessage<TreeMessage>
  split: ProtomuxMessage<SplitMessage>
  settled: ProtomuxMessage<SettledMessage>
  leaf: ProtomuxMessage<LeafMessage>
}

export class ReplicationSession<T> {
  readonly transport: ReplicationTransport
  readonly #host: FeedHost<T>
  readonly #store: Corestore
  readonly #opts: SessionOptions
  readonly #policy: SessionPolicy
  readonly #onEnd: (session: ReplicationSession<T>) => void
  #noise: NoiseSecretStream | null = null
  #messages: ChannelMessages | null = null
  #isInitiator = false
  #opened = false
  #proofOk = false
  #helloSent = false
  /** Our hello (it may wait for beforeHello): our done must never go out before it. */
  #helloOut: Promise<void> = Promise.resolve()
  #helloReceived = false
  #doneSent = false
  #doneReceived = false
  #finished = false
  #failed = false
  #failure: KappaError | null = null
  readonly #exchange: FeedExchange<T>
  /**
   * `primary`: this session owns the connection (its Noise stream, its end). `secondary`: a
   * channel of another Multifeed of the same Corestore on a primary's connection (`alongside`).
   */
  readonly #kind: { role: 'primary' } | { role: 'secondary'; primary: ReplicationSession<unknown> }
  /** Secondary sessions on this connection: a non-live end waits for theirs. */
  readonly #secondaries: ReplicationSession<unknown>[] = []
  /** Secondary: settles once what it took is downloaded (the primary's settle waits for it). */
  #downloaded: Promise<void>
  #markDownloaded: () => void = () => undefined
  /**
   * Live: true once this side holds every block the peer offered at connect on this channel
   * (false: the stream ended first). The primary's 'caught-up' waits for its secondaries' too:
   * an owned database's membership records decide what of the data counts.
   */
  readonly #caughtUp: Promise<boolean>
  #markCaughtUp: (held: boolean) => void = () => undefined
  #progressTimer: NodeJS.Timeout | null = null
  #closedWaiters: Array<() => void> = []
  /** Settles once the transport has closed (one promise: every wait on the end shares it). */
  readonly #ended: Promise<void>
  readonly #onProgress = () => this.#progressTimer?.refresh()

  constructor(
    host: FeedHost<T>,
    store: Corestore,
    transport: ReplicationTransport,
    opts: SessionOptions,
    policy: SessionPolicy,
    onEnd: (session: ReplicationSession<T>) => void,
    primary: ReplicationSession<unknown> | null = null,
  ) {
    this.#kind = primary ? { role: 'secondary', primary } : { role: 'primary' }
    this.#downloaded = new Promise((resolve) => (this.#markDownloaded = resolve))
    this.#caughtUp = new Promise((resolve) => (this.#markCaughtUp = resolve))
    this.#host = host
    this.#store = store
    this.transport = transport
    this.#opts = opts
    this.#policy = policy
    this.#onEnd = onEnd
    this.#ended = new Promise((resolve) => this.#closedWaiters.push(resolve))
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the link reads the roles once they are settled
    const session = this
    this.#exchange = new FeedExchange<T>(
      host,
      {
        live: opts.live,
        mode: opts.mode,
        stream: () => this.#noise,
        closed: () => this.transport.destroyed,
        ended: () => this.#ended,
        progress: () => this.#onProgress(),
        sendAdd: (feeds) => this.#messages?.add.send({ feeds }),
        sendTreeRequest: (m) => this.#messages?.treeRequest.send(m),
        sendTree: (m) => this.#messages?.tree.send(m),
        sendSplit: (m) => this.#messages?.split.send(m),
        sendSettled: (m) => this.#messages?.settled.send(m),
        sendLeaf: (m) => this.#messages?.leaf.send(m),
        get isInitiator() {
          return session.#isInitiator
        },
        initialTaken: (lists) => this.#initialTaken(lists),
        initialDone: () => this.#initialDone(),
        settle: () => this.#settle(),
      },
      policy,
      (err) => this.fail(replicationError(err)),
    )
    transport.once('close', () => this.#cleanup())
  }

  get live(): boolean {
    return this.#opts.live
  }

  /**
   * The roles are settled: start Noise over the transport — or, on an encrypted connection, take
   * the connection's own Noise stream and muxer — and open the channel at once.
   */
  start(isInitiator: boolean): void {
    if (this.#host.isClosing) throw KappaError.closed('multifeed')
    this.#isInitiator = isInitiator
    const connection = this.transport.connection
    // First on an unused connection: our version goes out before anything else, and the peer's
    // first message is checked as its version (connection.ts).
    if (connection && !connection.userData) {
      watchVersion(connection, (err) => this.fail(err))
    }
    let outer: ReplicationStream
    try {
      outer = this.#store.replicate(connection ?? isInitiator)
    } catch (err) {
      throw replicationError(err)
    }
    const noise = outer.noiseStream
    this.#noise = noise
    // Blocks uploaded to this peer are progress too (a slow peer downloading from us).
    this.transport.stats.attach(noise, this.#onProgress)
    if (this.#opts.live) {
      // The secret stream fails with "timed out" (ERR_TIMEOUT) when no byte arrived for this long;
      // our keep-alives come often enough that a peer with the same setting never times us out.
      noise.setKeepAlive(Math.max(1, Math.min(KEEP_ALIVE, Math.floor(this.#opts.liveTimeout / 4))))
      noise.setTimeout(this.#opts.liveTimeout)
    }
    outer.on('error', (err: unknown) => this.fail(replicationError(err)))
    noise.on('error', (err: unknown) => this.fail(replicationError(err)))
    noise.on('close', () => this.#onNoiseClose())
    if (noise.handshakeHash) this.transport.noiseReady()
    else noise.once('handshake', () => this.transport.noiseReady())
    this.transport.followConnection()
    // Any message from the peer is progress, Hypercore's own included: between two of our channel
    // messages a slow peer needs several of its round trips (opening cores, upgrades) before the
    // first block moves. Keep-alives are empty and never surface as data.
    noise.on('data', (data: Buffer) => {
      if (data.byteLength > 0) this.#onProgress()
    })
    // The Noise stream's raw side ⇄ the transport's inner side, piped both ways.
    const inner = this.transport.inner
    if (inner) inner.pipe(outer).pipe(inner)
    // Synchronously, before any byte is processed: a peer's open that finds no local channel is
    // rejected, and would look like a key mismatch (docs/DESIGN.md, "Replication protocol", step 3).
    this.#openChannel(noise)
    for (const secondary of this.#secondaries) secondary.#startOn(noise, isInitiator)
  }

  /** Secondary: a session on the primary's connection (same Noise stream), its channel opened now. */
  attach(secondary: ReplicationSession<unknown>): void {
    this.#secondaries.push(secondary)
    if (this.#noise) secondary.#startOn(this.#noise, this.#isInitiator)
  }

  #startOn(noise: NoiseSecretStream, isInitiator: boolean): void {
    if (this.transport.destroyed) return
    this.#isInitiator = isInitiator
    this.#noise = noise
    try {
      this.#openChannel(noise)
    } catch (err) {
      this.fail(replicationError(err))
    }
  }

  /** Creates and opens this session's channel (and gates core channels) on `noise`'s muxer. */
  #openChannel(noise: NoiseSecretStream): void {
    const mux = noise.userData
    if (!mux) throw new KappaError('ERR_PROTOCOL', 'no protocol muxer on the stream')
    this.#gateCoreChannels(mux)
    const channel = mux.createChannel({
      protocol: CHANNEL_PROTOCOL,
      id: crypto.discoveryKey(this.#host.key),
      onopen: () => this.#onOpen(),
      onclose: () => this.#onChannelClose(),
    })
    if (!channel) throw new KappaError('ERR_PROTOCOL', 'the multifeed channel could not be created')
    this.#messages = {
      proof: channel.addMessage({
        encoding: proofEncoding,
        onmessage: (m) => this.#guard(() => this.#onProof(m)),
      }),
      hello: channel.addMessage({
        encoding: helloEncoding,
        onmessage: (m) => this.#guard(() => this.#onHello(m)),
      }),
      add: channel.addMessage({ encoding: addEncoding, onmessage: (m) => this.#guard(() => this.#onAdd(m)) }),
      done: channel.addMessage({
        encoding: doneEncoding,
        onmessage: () => this.#guard(() => this.#onDone()),
      }),
      treeRequest: channel.addMessage({
        encoding: treeRequestEncoding,
        onmessage: (m) => this.#guard(() => this.#onTreeRequest(m)),
      }),
      tree: channel.addMessage({
        encoding: treeEncoding,
        onmessage: (m) => this.#guard(() => this.#onTree(m)),
      }),
      split: channel.addMessage({
        encoding: splitEncoding,
        onmessage: (m) => this.#guard(() => this.#reconciling().onSplit(m)),
      }),
      settled: channel.addMessage({
        encoding: settledEncoding,
        onmessage: (m) => this.#guard(() => this.#reconciling().onSettled(m)),
      }),
      leaf: channel.addMessage({
        encoding: leafEncoding,
        onmessage: (m) => this.#guard(() => this.#reconciling().onLeaf(m)),
      }),
    }
    channel.open()
  }

  /** The other side, as the hooks see it. */
  get peer(): ReplicationPeer {
    return this.#policy.peer
  }

  /**
   * Whether the core with this key may have a channel on this connection: not one of our feeds
   * this peer is refused (blocked, gated out, not shared). Hypercore serves every block a channel
   * asks for, so a refused feed gets no channel.
   */
  mayCarry(key: Buffer): boolean {
    const feed = this.#host.knownFeed(key.toString('hex'))
    return feed === undefined || this.#policy.serves(feed).state !== 'none'
  }

  /** The store's blocks or gate changed (for `feed`, or any): the peer is offered, served and asked anew. */
  policyChanged(feed: HypercoreFeed<T> | null): void {
    this.#policy.reset()
    if (!this.#failed && this.#noise) this.#exchange.policyChanged(feed)
  }

  /**
   * A core channel on this connection is created only for a core this peer may have: Hypercore
   * serves every block a channel asks for, so one of our feeds refused to this peer gets none
   * (Corestore's attaching, ours or at the peer's request, finds no channel and gives up).
   */
  #gateCoreChannels(mux: object): void {
    gateChannels(mux, CORE_PROTOCOL, (discoveryKey) => {
      const feed = this.#host.feedByDiscoveryKey(discoveryKey)
      return feed === undefined || this.mayCarry(feed.key)
    })
  }

  /** A feed was added or grew: live, the peer hears of it. */
  announce(feed: HypercoreFeed<T>): void {
    if (this.#opts.live && this.#helloSent && !this.#failed) this.#exchange.announce(feed)
  }

  /** Hypercore checked the tree of feed `id` the peer on `stream` sent: a fork, or none. */
  treeChecked(id: string, stream: unknown, forked: boolean): void {
    this.#exchange.treeChecked(id, stream, forked)
  }

  /**
   * Ends the session for `multifeed.close()`: live streams end cleanly, others are destroyed. Our
   * own close is no failure of the stream: no `'error'` (a user who never listened for one must not
   * see the process crash); one whose peer never connected closes without `'end'`.
   */
  async stop(): Promise<void> {
    if (this.#kind.role === 'secondary') return this.#kind.primary.stop()
    if (this.transport.closed) return
    const closed = new Promise<void>((resolve) => this.#closedWaiters.push(resolve))
    if (this.#opts.live && this.#noise && this.#opened) {
      this.#noise.end()
      const fallback = setTimeout(() => this.transport.destroy(), 1000)
      await closed
      clearTimeout(fallback)
      return
    }
    if (this.#finished || this.#failed) {
      // Already ending (waiting for the peer's end, or a failure's grace period): close does not
      // wait for a peer that may be gone.
      this.transport.destroy(this.#failure ?? undefined)
    } else {
      this.fail(KappaError.closed('multifeed'), { quiet: true })
    }
    await closed
  }

  /** Fails the session with `err`; `quiet`: ends it the same way but emits no `'error'` (our own close). */
  fail(err: KappaError, { quiet = false } = {}): void {
    if (this.#kind.role === 'secondary') return this.#kind.primary.fail(err, { quiet })
    if (this.#failed || this.#finished || this.transport.destroyed) return
    this.#failed = true
    this.#failure = err
    this.transport.outcome.failed(err)
    this.#stopProgressTimer()
    const reason = quiet ? undefined : err
    const noise = this.#noise
    const peerListens = !this.transport.rawGone && !this.transport.writableFinished
    if (noise && noise.handshakeHash && !noise.destroyed && peerListens) {
      // The encrypted stream is up: end it so what we queued (a channel reject, our hello before a
      // mode conflict) still reaches the peer, then fail our side once our end went out, or the
      // peer no longer listens — it ended its side (it only does so once it has finished or
      // failed), or the socket under us closed — or after a grace period.
      const destroy = () => this.transport.destroy(reason)
      const grace = setTimeout(destroy, FAIL_GRACE)
      this.transport.once('end', destroy)
      this.transport.once('finish', destroy)
      this.transport.once('raw-close', destroy)
      this.transport.once('close', () => clearTimeout(grace))
      this.#endNoise()
      return
    }
    this.transport.destroy(reason)
    noise?.destroy()
  }

  // ---- channel events ---------------------------------------------------------------------------

  #onOpen(): void {
    this.#opened = true
    if (this.#kind.role === 'primary') this.transport.handshakeDone()
    const hash = this.#noise?.handshakeHash
    if (!hash) return this.fail(new KappaError('ERR_PROTOCOL', 'no handshake hash'))
    this.#messages?.proof.send({ mac: computeProof(this.#host.key, hash, this.#isInitiator) })
    this.#startProgressTimer()
  }

  #onChannelClose(): void {
    // A secondary channel the peer does not have (a store without those logs): nothing to exchange.
    if (!this.#opened && this.#kind.role === 'secondary') {
      this.#markCaughtUp(true)
      this.#secondaryDone()
      return
    }
    // Closed before it ever opened: the peer has no channel for our key's discovery key.
    if (!this.#opened) {
      this.fail(new KappaError('ERR_KEY_MISMATCH', 'the peer uses a different database key'))
    }
  }

  #onProof(m: ProofMessage): void {
    const hash = this.#noise?.handshakeHash
    if (this.#proofOk || !hash) throw new KappaError('ERR_PROTOCOL', 'unexpected proof')
    if (!verifyProof(this.#host.key, hash, !this.#isInitiator, m.mac)) {
      throw new KappaError('ERR_KEY_MISMATCH', 'the peer could not prove the database key')
    }
    this.#proofOk = true
    this.#helloOut = this.#sendHello()
    this.#run(this.#helloOut)
  }

  #onHello(m: HelloMessage): void {
    if (!this.#proofOk || this.#helloReceived) throw new KappaError('ERR_PROTOCOL', 'unexpected hello')
    this.#helloReceived = true
    if (m.version !== PROTOCOL_VERSION) {
      throw new KappaError('ERR_VERSION_MISMATCH', `the peer speaks channel version ${m.version}`)
    }
    if (m.mode !== 'sync' && m.mode === this.#opts.mode) {
      // The peer's hello can arrive before ours went out (it is sent after an await): send our mode
      // now, so the peer fails with the same code instead of seeing an early close.
      if (!this.#helloSent) {
        this.#helloSent = true
        this.#messages?.hello.send({
          version: PROTOCOL_VERSION,
          mode: this.#opts.mode,
          summary: { count: 0, digest: Buffer.alloc(DIGEST_BYTES) },
        })
      }
      throw new KappaError('ERR_MODE_CONFLICT', `both sides asked to ${m.mode}`)
    }
    this.#exchange.theirSummary(m.summary)
  }

  #onAdd(m: AddMessage): void {
    if (!this.#helloReceived) throw new KappaError('ERR_PROTOCOL', 'add before hello')
    if (!this.#opts.live) return
    this.#exchange.offered(m.feeds)
  }

  /** The exchange, for a reconciliation message: only after the peer's hello. */
  #reconciling(): FeedExchange<T> {
    if (!this.#helloReceived) throw new KappaError('ERR_PROTOCOL', 'a reconciliation message before hello')
    return this.#exchange
  }

  #onTreeRequest(m: TreeRequestMessage): void {
    if (!this.#helloReceived || this.#opts.mode === 'pull')
      throw new KappaError('ERR_PROTOCOL', 'unexpected tree request')
    this.#exchange.onTreeRequest(m)
  }

  #onTree(m: TreeMessage): void {
    this.#exchange.onTree(m)
  }

  #onDone(): void {
    if (!this.#helloReceived || this.#doneReceived) throw new KappaError('ERR_PROTOCOL', 'unexpected done')
    this.#doneReceived = true
    this.#maybeEnd()
  }

  // ---- the exchange -----------------------------------------------------------------------------

  async #sendHello(): Promise<void> {
    await this.#host.open()
    await this.#host.whenGateReady()
    if (this.#opts.beforeHello && this.#opts.mode !== 'pull') await this.#opts.beforeHello()
    if (this.#helloSent || this.#failed) return
    const summary = await this.#exchange.helloSummary()
    if (this.#helloSent || this.#failed) return
    this.#helloSent = true
    this.#messages?.hello.send({ version: PROTOCOL_VERSION, mode: this.#opts.mode, summary })
    this.#exchange.helloSent()
    // Feeds added while the offers were built: announced now (the exchange skips those offered).
    if (this.#opts.live) for (const feed of this.#host.allFeeds()) this.#exchange.announce(feed)
  }

  /** The peer's hello is all taken: 'remote-feeds'; live, 'caught-up' once its blocks are here too. */
  #initialTaken(lists: readonly OfferList[]): void {
    if (this.#kind.role === 'primary') this.transport.emit('remote-feeds')
    if (!this.#opts.live) return
    const targets = this.#opts.mode === 'push' ? [] : caughtUpTargets(lists, (id) => this.#host.knownFeed(id))
    const held = whenCaughtUp(targets, this.#ended)
    if (this.#kind.role === 'secondary') {
      void held.then(this.#markCaughtUp, () => this.#markCaughtUp(false))
      return
    }
    void held
      .then(async (ours) => {
        const theirs = await Promise.all(this.#secondaries.map((secondary) => secondary.#caughtUp))
        if (!ours || theirs.includes(false) || this.transport.destroyed) return
        await this.#opts.beforeCaughtUp?.()
        if (!this.transport.destroyed && !this.#failed) this.transport.emit('caught-up')
      })
      // Indexing that fails (a view stopped, the store closing) is the store's to report, not the
      // stream's: no 'caught-up', and the replication goes on.
      .catch(safetyCatch)
  }

  /** Not live: the peer's hello is all taken and downloaded; done once beforeDone agrees. */
  async #initialDone(): Promise<void> {
    this.#markDownloaded()
    if (this.#opts.live) return
    if (this.#opts.beforeDone) await this.#opts.beforeDone()
    await this.#helloOut
    if (this.transport.destroyed) return
    this.#doneSent = true
    this.#messages?.done.send({})
    this.#maybeEnd()
  }

  #maybeEnd(): void {
    if (this.#opts.live || !this.#doneSent || !this.#doneReceived || this.#finished) return
    if (this.#kind.role === 'secondary') return this.#secondaryDone()
    if (this.#secondaries.some((secondary) => !secondary.#finished)) return
    this.#finished = true
    this.transport.outcome.completed()
    // The progress timer keeps running: a peer that never answers our end (gone without a word)
    // gets the stream destroyed — without an error, both sides had everything — when it fires.
    // Never end() or destroy() the outer stream: the peer would see a premature close.
    this.#endNoise()
  }

  /** Secondary: its exchange is over (both done, or the peer has no such channel); the primary may end. */
  #secondaryDone(): void {
    if (this.#finished || this.#kind.role !== 'secondary') return
    this.#finished = true
    this.#markDownloaded()
    this.#kind.primary.#maybeEnd()
  }

  /**
   * Not live: after the downloads, before refused offers are taken again. The secondaries on this
   * connection download first (what the gate allows may follow from their logs), then the gate settles.
   */
  async #settle(): Promise<void> {
    await Promise.all(this.#secondaries.map((secondary) => secondary.#downloaded))
    await this.#host.settleGate()
  }

  /**
   * Ends the Noise stream once protomux has written what it holds corked: messages sent while
   * the muxer is corked wait in a batch, and a batch written after the end is lost. Hypercore
   * uncorks when its storage read is done; protomux has no event for it, so check each turn.
   */
  #endNoise(): void {
    if (this.#kind.role === 'secondary') return
    const noise = this.#noise
    if (!noise || noise.destroyed) return
    if (corkedMessages(noise) > 0) {
      setImmediate(() => this.#endNoise())
      return
    }
    noise.end()
  }

  // ---- plumbing ---------------------------------------------------------------------------------

  /** Runs a message handler; a thrown error fails the session instead of reaching protomux. */
  #guard(handler: () => void): void {
    if (this.#failed) return
    this.#onProgress()
    try {
      handler()
    } catch (err) {
      this.fail(replicationError(err))
    }
  }

  /** Detaches async work from a handler, failing the session when it rejects. */
  #run(work: Promise<void>): void {
    work.catch((err: unknown) => this.fail(replicationError(err)))
  }

  #startProgressTimer(): void {
    if (this.#opts.live || this.#kind.role === 'secondary') return
    const timeout = this.#opts.timeout ?? DEFAULT_PROGRESS_TIMEOUT
    this.#progressTimer = setTimeout(() => {
      if (this.#finished) this.transport.destroy()
      else this.fail(new KappaError('ERR_TIMEOUT', `no replication progress for ${timeout} ms`))
    }, timeout)
  }

  #stopProgressTimer(): void {
    if (this.#progressTimer) clearTimeout(this.#progressTimer)
    this.#progressTimer = null
  }

  #onNoiseClose(): void {
    if (this.#kind.role === 'secondary') return
    // A live stream ends whenever either side ends it; the transport then closes by itself.
    if (!this.#finished && !this.#failed && !this.#opts.live && !this.transport.destroyed) {
      this.fail(new KappaError('ERR_PROTOCOL', 'the peer closed the stream before replication completed'))
    }
  }

  #cleanup(): void {
    this.#markCaughtUp(false)
    this.#stopProgressTimer()
    this.#exchange.stop()
    if (this.#kind.role === 'primary') this.#noise?.destroy()
    for (const resolve of this.#closedWaiters.splice(0)) resolve()
    this.#onEnd(this)
  }
}
