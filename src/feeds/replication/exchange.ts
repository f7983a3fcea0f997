/**
 * The feed exchange of one connection: what we offer the peer, and what we do with its offers.
 * Every number in an offer is a claim (docs/DESIGN.md, "Threat model"):
 *
 * - A feed we do not hold is earned. First the peer proves its writer signed a tree of the blocks
 *   earning it needs: asked for that tree and the feed's manifest (a tree request with the
 *   manifest flag), answered within TREE_ANSWER_TIMEOUT, the manifest must hash to the key and the
 *   signature verify — with no core of it stored yet, so a key nobody can sign for costs no
 *   storage. Only then is its core opened as a candidate, and admitted — listed, announced,
 *   indexed — once the peer proved a length (a verified upgrade) and one block verified. A peer
 *   that cannot prove it gets ERR_PROTOCOL (live: after MAX_UNPROVEN_OFFERS).
 * - We answer tree requests one each, for feeds we hold (with the manifest: only those we offer
 *   this peer), at most MAX_TREE_REQUESTS at once.
 * - A length is downloaded to only once proven, never further (claims.ts).
 * - A tree hash that differs from ours at a length we hold is asked to be proven (tree request);
 *   a proof its writer signed is a fork (ERR_FORK on the store), a proof that is not is a lie
 *   (ERR_PROTOCOL). Forks Hypercore meets while verifying data reach us through trees.ts.
 *
 * Offers are taken OFFER_CONCURRENCY at a time (intake.ts), at most `maxFeeds` queued.
 *
 * A feed `accept` takes from block S > 0 (`{ start: S }`) is sparse: earned with block S (the peer
 * proves S + 1 blocks), then downloaded over [S, length) only, never below. An offer claims blocks
 * held from 0, which a sparse feed has none of: it is never offered (nor held open for uploads);
 * Hypercore still serves a peer whose own download asks this core for a block it holds.
 */
import type Hypercore from 'hypercore'
import { KappaError } from '../../errors.js'
import { closeChannel, peerSignedLength, reattachCore, streamOfPeer } from '../dependency-internals.js'
import type { HypercoreFeed } from '../feed.js'
import {
  MAX_BLOCK_ENTRIES,
  OfferList,
  decodeBlockHeader,
  type SparseStart,
  type FeedOffer,
  type LeafMessage,
  type SettledMessage,
  type SplitMessage,
  type Summary,
  type TreeMessage,
  type TreeRequestMessage,
} from '../messages.js'
import type { ReplicationMode } from '../types.js'
import { proveLength } from './claims.js'
import type { DownloadRoom } from './download-room.js'
import type { SessionPolicy } from './policy.js'
import type { Inclusion } from '../../membership/types.js'
import { OFFER_CONCURRENCY, OfferIntake } from './intake.js'
import { OfferSet } from './offer-set.js'
import { Reconciliation } from './reconcile.js'
import { provenDetachedTreeHash, provenTreeHash, treeHashAt, treeMessageOf } from './trees.js'
import { markHandled, safetyCatch } from '../../util/errors.js'

/** The protomux protocol of Hypercore's core channels. */
export const CORE_PROTOCOL = 'hypercore/alpha'
/** A live peer may make this many offers it cannot prove a block of; the next fails its stream. */
export const MAX_UNPROVEN_OFFERS = 16
/**
 * A peer answers a tree request of a feed we do not hold within this long (ms), or the offer is
 * unprovable.
 */
export const TREE_ANSWER_TIMEOUT = 10_000
/**
 * Tree requests of the peer we answer at once: one more before the answers went out fails its
 * stream (ERR_PROTOCOL). An honest peer has fewer out: it asks one per offer it takes, taking
 * OFFER_CONCURRENCY at a time, and fails its stream once an answer does not come (live: after
 * MAX_UNPROVEN_OFFERS such offers).
 */
export const MAX_TREE_REQUESTS = 4 * OFFER_CONCURRENCY
/** Our own offers are built (a tree hash each for an open core) this many at a time. */
const OFFER_BUILD_BATCH = 256
/**
 * Feeds downloading at once on one connection (live: offers the peer made later). Each holds its
 * core open while it downloads; the rest wait their turn.
 */
export const MAX_DOWNLOADS = OFFER_CONCURRENCY

/** What the exchange needs from its Multifeed. */
export interface ExchangeHost<T> {
  readonly maxFeeds: number
  allFeeds(): readonly HypercoreFeed<T>[]
  knownFeed(id: string): HypercoreFeed<T> | undefined
  /** A session on the core of a feed not held yet, to prove it; ERR_LIMIT when the store is full. */
  openCandidate(key: Buffer): Promise<Hypercore>
  /**
   * Lists a candidate one of whose blocks verified (block 0, or a sparse feed's start block; its
   * bytes `first`, when in hand); the held feed (maybe another session's).
   */
  admit(
    core: Hypercore,
    sparse?: SparseStart,
    first?: { index: number; raw: Buffer },
  ): Promise<HypercoreFeed<T>>
  /** A fork of `key`'s writer, proven by a tree it signed at `length`. */
  reportFork(key: Buffer, length: number): void
  /** The store's downloads, held to its free-space floor. */
  readonly downloadRoom: DownloadRoom
  /** A background error of the store (its `'error'`). */
  reportError(err: Error): void
}

/** What the exchange needs from its session. */
export interface ExchangeLink {
  readonly live: boolean
  readonly mode: ReplicationMode
  /** The Noise stream: which of a core's peers is this one. */
  stream(): unknown
  /** True once the session's transport is closed. */
  closed(): boolean
  /** Settles once the session's transport has closed. */
  ended(): Promise<void>
  /** Blocks moved for this session: progress for its timeout. */
  progress(): void
  sendAdd(offers: OfferList): void
  sendTreeRequest(m: TreeRequestMessage): void
  sendTree(m: TreeMessage): void
  sendSplit(m: SplitMessage): void
  sendSettled(m: SettledMessage): void
  sendLeaf(m: LeafMessage): void
  /** Whether we are the Noise initiator (who answers the whole key range first). */
  readonly isInitiator: boolean
  /** The peer's initial offers (`lists`) are all taken: its feeds are ours now ('remote-feeds'). */
  initialTaken(lists: readonly OfferList[]): void
  /** Not live: and downloaded as far as the peer proved them. Live: right after initialTaken. */
  initialDone(): Promise<void>
  /**
   * Not live, once what was taken is downloaded and some offers were refused: settles when the
   * store's answers may have changed with it (the gate's `settle`).
   */
  settle(): Promise<void>
}

/** A non-live connection takes refused offers again at most this many times (each after a settle). */
const MAX_SETTLE_ROUNDS = 8
/** A core held open for the peer (`serve`) is let go after this long without an upload to it. */
const UPLOAD_IDLE = 2000

export class FeedExchange<T> {
  readonly #host: ExchangeHost<T>
  readonly #link: ExchangeLink
  readonly #policy: SessionPolicy
  /** Feeds whose core channel on this connection was closed for the policy: reopened once it allows them. */
  readonly #channelsClosed = new Set<string>()
  /** The latest offer of each feed not taken from this peer, taken once the policy allows it. */
  readonly #refused = new Map<string, FeedOffer>()
  readonly #intake: OfferIntake<HypercoreFeed<T> | null>
  /** Per held feed: the most blocks the peer is known to hold (it offered them, or we did). */
  readonly #known = new Map<string, number>()
  /** Live: feeds waiting to download what the peer offered later, and how many download now. */
  readonly #liveQueue = new Map<string, { feed: HypercoreFeed<T>; offer: FeedOffer }>()
  #liveRunning = 0
  /** Live: downloads wait for the store's file system to have its floor free again. */
  #waitingRoom = false
  /**
   * Live: feeds taken whole whose newest block each upgrade brings (`followLatest`), per core
   * opening; `stop` ends the follow.
   */
  readonly #latest = new Map<string, LatestFollow>()
  /** Per feed: downloads of it running on this connection (their watches count its blocks). */
  readonly #downloading = new Map<string, number>()
  /** Cores held open for the peer to download from (not live: until it has them, or idle). */
  readonly #uploads = new Map<string, () => void>()
  #stopped = false
  /** Feeds whose writer this peer proved to have forked: not downloaded from it. */
  readonly #forked = new Set<string>()
  readonly #forkWaiters = new Map<string, Array<() => void>>()
  readonly #checkWaiters = new Map<string, Array<() => void>>()
  /** Downloads of a feed, stopped when it may no longer be taken (blocked, gated out). */
  readonly #stopWaiters = new Map<string, Array<() => void>>()
  readonly #treeWaiters = new Map<string, (tree: TreeMessage | null) => void>()
  /** Feeds whose tree request timed out: a late answer of each is let go. */
  readonly #treesAbandoned = new Set<string>()
  readonly #treesAnswered = new Set<string>()
  /** Tree requests of the peer being answered now (each needs a core open). */
  #answering = 0
  /** Feeds not held whose writer's signature this peer proved (or is proving) on this connection. */
  readonly #candidateProofs = new Map<string, Promise<'proven' | 'refuted' | 'ended'>>()
  #unproven = 0
  readonly #reconciliation: Reconciliation
  /** The offers the peer sent while reconciling (not live: downloaded to before we are done). */
  readonly #initialLists: OfferList[] = []
  #initialCount = 0
  #snapshot: OfferSet | null = null
  /** Settles once our hello went out (or the session stopped): the peer takes no request before it. */
  readonly #helloOut: Promise<void>
  #helloGone: () => void = () => undefined

  readonly #onLiveError: (err: unknown) => void

  constructor(
    host: ExchangeHost<T>,
    link: ExchangeLink,
    policy: SessionPolicy,
    onError: (err: unknown) => void,
  ) {
    this.#host = host
    this.#link = link
    this.#policy = policy
    this.#onLiveError = onError
    this.#helloOut = new Promise((resolve) => (this.#helloGone = resolve))
    this.#intake = new OfferIntake(
      {
        take: (offer) => (link.mode === 'push' ? this.#markKnown(offer) : this.#take(offer)),
        taken: () => undefined,
        upcoming: (offers) => {
          if (link.mode !== 'push') for (const offer of offers) this.#proveAhead(offer)
        },
        initialTaken: () => this.#initialTaken(),
        onError,
      },
      host.maxFeeds,
    )
    this.#reconciliation = new Reconciliation({
      get isInitiator() {
        return link.isInitiator
      },
      sendsOffers: link.mode !== 'pull',
      sendSplit: (m) => link.sendSplit(m),
      sendSettled: (m) => link.sendSettled(m),
      sendLeaf: (m) => link.sendLeaf(m),
      offers: (list) => this.#initialOffers(list),
      finished: () => this.#intake.endInitial(),
    })
  }

  /**
   * The summary our hello carries: of our offers of every feed holding a block, as they are now
   * (the snapshot the reconciliation works on).
   */
  async helloSummary(): Promise<Summary> {
    const feeds: Array<{ feed: HypercoreFeed<T>; serves: Inclusion }> = []
    for (const feed of this.#host.allFeeds()) {
      if (feed.blocks === 0 || feed.sparse) continue
      const serves = this.#policy.serves(feed)
      if (serves.state !== 'none') feeds.push({ feed, serves })
    }
    const offers: FeedOffer[] = []
    for (let i = 0; i < feeds.length; i += OFFER_BUILD_BATCH) {
      const batch = feeds.slice(i, i + OFFER_BUILD_BATCH)
      offers.push(...(await Promise.all(batch.map(({ feed, serves }) => offerOf(feed, serves)))))
    }
    this.#snapshot = new OfferSet(offers)
    return this.#snapshot.summary()
  }

  /** Our hello went out: the reconciliation runs on the snapshot it summarized. */
  helloSent(): void {
    this.#helloGone()
    if (this.#snapshot) this.#reconciliation.ours_(this.#snapshot)
  }

  /** The peer's hello summary. */
  theirSummary(summary: Summary): void {
    this.#reconciliation.theirs_(summary)
  }

  onSplit(m: SplitMessage): void {
    this.#reconciliation.onSplit(m)
  }

  onSettled(m: SettledMessage): void {
    this.#reconciliation.onSettled(m)
  }

  onLeaf(m: LeafMessage): void {
    this.#reconciliation.onLeaf(m)
  }

  /** Whether every initial offer of the peer has arrived. */
  get reconciled(): boolean {
    return this.#reconciliation.finished
  }

  /** Offers the peer sent while reconciling: taken now, downloaded to once all are taken. */
  #initialOffers(list: OfferList): void {
    this.#initialCount += list.count
    if (this.#initialCount > this.#host.maxFeeds) {
      throw KappaError.limit(
        `the peer offered more feeds (${this.#initialCount}) than this store takes (${this.#host.maxFeeds})`,
      )
    }
    // Our own offers in that range went to the peer: it holds at least what it offered.
    this.#intake.push(list)
    this.#initialLists.push(list)
  }

  /** Live: offers `feed` to the peer unless it holds as much; a feed is offered once it holds a block. */
  announce(feed: HypercoreFeed<T>): void {
    const blocks = feed.blocks
    if (this.#link.mode === 'pull' || blocks === 0 || feed.sparse) return
    if ((this.#known.get(feed.id) ?? 0) >= blocks) return
    const serves = this.#policy.serves(feed)
    if (serves.state === 'none') return
    const before = this.#known.get(feed.id)
    this.#known.set(feed.id, blocks)
    void offerOf(feed, serves).then(
      (offer) => {
        // A prefix offer that holds no more than the peer knows of says nothing new.
        if (offer.length > (before ?? 0) || serves.state === 'all') this.#link.sendAdd(OfferList.of([offer]))
      },
      () => {
        if (before === undefined) this.#known.delete(feed.id)
        else this.#known.set(feed.id, before)
      },
    )
  }

  /** A live add. */
  offered(list: OfferList): void {
    if (list.count > this.#host.maxFeeds) {
      throw KappaError.limit(
        `the peer offered ${list.count} feeds in one message; this store takes ${this.#host.maxFeeds}`,
      )
    }
    this.#intake.push(list)
  }

  /**
   * A tree request: answered once per feed (with the manifest: once per feed proven), "I cannot"
   * for a feed not held or not served; with the manifest, only for a feed we offer this peer.
   */
  onTreeRequest(m: TreeRequestMessage): void {
    const id = m.key.toString('hex')
    const feed = this.#host.knownFeed(id)
    const asked = m.manifest ? `${id}/manifest` : id
    if (feed) {
      if (this.#treesAnswered.has(asked))
        throw new KappaError('ERR_PROTOCOL', `the peer asked twice for feed ${id}'s tree`)
      // Without the manifest, a fork check: answered once whatever the answer. With it, once
      // proven (below): a feed we could not prove may be asked about again once we can.
      if (!m.manifest) this.#treesAnswered.add(asked)
    }
    const cannot: TreeMessage = {
      key: m.key,
      length: 0,
      fork: 0,
      nodes: [],
      additionalNodes: [],
      signature: Buffer.alloc(0),
      manifest: Buffer.alloc(0),
    }
    const refused =
      feed !== undefined &&
      (this.#policy.serves(feed).state === 'none' || (m.manifest && (feed.blocks === 0 || feed.sparse)))
    if (!feed || refused || m.length === 0 || m.length > feed.signedLength) return this.#link.sendTree(cannot)
    if (this.#answering >= MAX_TREE_REQUESTS) {
      throw new KappaError(
        'ERR_PROTOCOL',
        `the peer has more than ${MAX_TREE_REQUESTS} tree requests unanswered`,
      )
    }
    this.#answering++
    if (m.manifest) this.#treesAnswered.add(asked)
    feed
      .peek((core) => treeMessageOf(core, m.length, m.manifest))
      .then(
        (tree) => this.#link.sendTree(tree),
        () => {
          if (m.manifest) this.#treesAnswered.delete(asked)
          this.#link.sendTree(cannot)
        },
      )
      .finally(() => this.#answering--)
  }

  onTree(m: TreeMessage): void {
    const id = m.key.toString('hex')
    const waiter = this.#treeWaiters.get(id)
    if (!waiter && this.#treesAbandoned.delete(id)) return
    if (!waiter) throw new KappaError('ERR_PROTOCOL', 'a tree proof nobody asked for')
    this.#treeWaiters.delete(id)
    waiter(m)
  }

  /** Hypercore checked a tree of feed `id` this peer sent: a fork (nothing more of it from this peer), or none. */
  treeChecked(id: string, stream: unknown, forked: boolean): void {
    if (stream !== this.#link.stream()) return
    if (forked) this.#markForked(id)
    for (const resolve of this.#checkWaiters.get(id) ?? []) resolve()
    this.#checkWaiters.delete(id)
  }

  /**
   * The store's blocks or gate changed for `feed` (null: for any feed). What may no longer be taken
   * stops downloading; what may no longer be served loses its core channel on this connection;
   * live, what may now be taken is taken from the peer's last offer, and what may now be offered is.
   */
  policyChanged(feed: HypercoreFeed<T> | null): void {
    if (this.#stopped) return
    const feeds = feed ? [feed] : this.#host.allFeeds()
    // Asked again by the next download, with the new answers.
    this.#stopFollowing(feed)
    for (const id of new Set([...this.#liveQueue.keys(), ...this.#stopWaiters.keys()])) {
      if (!this.#policy.refusesNow(id)) continue
      this.#liveQueue.delete(id)
      for (const resolve of this.#stopWaiters.get(id) ?? []) resolve()
      this.#stopWaiters.delete(id)
    }
    const mux = this.#muxer() as { opened?(opts: { protocol: string; id: Buffer }): boolean } | null
    for (const f of feeds) {
      // Only a core with a channel here has anything to close (asked without the hooks first).
      if (mux?.opened?.({ protocol: CORE_PROTOCOL, id: f.discoveryKey }) !== true) continue
      if (this.#policy.serves(f).state === 'none') this.#closeChannels(f)
    }
    for (const id of [...this.#channelsClosed]) {
      const f = this.#host.knownFeed(id)
      if (f && this.#policy.serves(f).state !== 'none') void this.#reopenChannel(f)
    }
    if (!this.#link.live) return
    for (const [id, offer] of [...this.#refused]) {
      if (this.#policy.takes(id, offer.length).state === 'none') continue
      this.#refused.delete(id)
      this.#intake.push(OfferList.of([offer]))
    }
    for (const f of feeds) if (this.#policy.serves(f).state !== 'none') this.announce(f)
  }

  /** Closes `feed`'s core channel on this connection, if one is open. */
  #closeChannels(feed: HypercoreFeed<T>): void {
    const mux = this.#muxer()
    if (mux !== null && closeChannel(mux, CORE_PROTOCOL, feed.discoveryKey)) this.#channelsClosed.add(feed.id)
  }

  #muxer(): object | null {
    const mux = (this.#link.stream() as { userData?: unknown } | null)?.userData
    return mux !== null && typeof mux === 'object' ? mux : null
  }

  /** A channel `closeChannels` closed, opened again on this connection. */
  async #reopenChannel(feed: HypercoreFeed<T>): Promise<void> {
    this.#channelsClosed.delete(feed.id)
    const mux = this.#muxer()
    if (this.#stopped || mux === null) return
    const lease = await feed.lease(false).catch(() => null)
    if (lease === null) return
    try {
      if (!this.#stopped) reattachCore(lease.core, mux)
    } finally {
      lease.release()
    }
  }

  /** The session is over: nothing more is taken, live downloads stop, held cores are let go. */
  stop(): void {
    this.#stopped = true
    this.#intake.stop()
    this.#liveQueue.clear()
    this.#stopFollowing(null)
    for (const release of [...this.#uploads.values()]) release()
    this.#uploads.clear()
    for (const resolve of this.#treeWaiters.values()) resolve(null)
    this.#treeWaiters.clear()
    this.#helloGone()
  }

  // ---- taking offers ----------------------------------------------------------------------------

  /** The peer holds `blocks` of feed `id`: never offered less again. */
  #knows(id: string, blocks: number): void {
    if ((this.#known.get(id) ?? -1) < blocks) this.#known.set(id, blocks)
  }

  async #markKnown(offer: FeedOffer): Promise<HypercoreFeed<T> | null> {
    const feed = this.#host.knownFeed(offer.key.toString('hex'))
    if (feed && this.#policy.serves(feed).state !== 'none') {
      this.#knows(feed.id, offer.length)
      await this.#serve(feed, offer)
    }
    return null
  }

  /** The held feed an offer is about: one we hold (its tree checked), or one it earned here. */
  async #take(offer: FeedOffer): Promise<HypercoreFeed<T> | null> {
    const id = offer.key.toString('hex')
    const held = this.#host.knownFeed(id)
    const takes = this.#policy.takes(id, offer.length)
    if (takes.state === 'none') {
      // Held and served, the peer still gets what we have more of.
      if (held) {
        this.#knows(held.id, offer.length)
        await this.#serve(held, offer)
      }
      this.#refused.set(id, offer)
      return null
    }
    if (held) {
      this.#knows(held.id, offer.length)
      await this.#checkTree(held, offer)
      await this.#serve(held, offer)
      if (this.#link.live) this.#followLive(held, offer)
      return held
    }
    const start = this.#earnedFrom(id, offer, takes)
    if (start === null) return null
    let feed: HypercoreFeed<T> | null
    try {
      feed = await this.#earn(offer, start)
    } catch (err) {
      // Live, an offer whose first block found no room is taken again once there is.
      if (!this.#link.live || !this.#host.downloadRoom.isShortage(err)) throw err
      this.#waitForRoom(err, () => this.#intake.push(OfferList.of([offer])))
      return null
    }
    if (feed) {
      this.#knows(feed.id, offer.length)
      if (this.#link.live) this.#followLive(feed, offer)
    }
    return feed
  }

  /**
   * Not live, sending: a feed the peer holds fewer blocks of than we do keeps its core open while
   * the peer downloads, so the blocks count as progress and in the stream's stats — until every
   * block it lacked went to it, or none did for UPLOAD_IDLE: then it closes when idle like any
   * other (a peer asking later is served by the core Corestore opens for its request).
   */
  async #serve(feed: HypercoreFeed<T>, offer: FeedOffer): Promise<void> {
    if (this.#link.live || this.#link.mode === 'pull' || this.#uploads.has(feed.id) || feed.sparse) return
    if (this.#policy.serves(feed).state === 'none') return
    if (feed.blocks <= offer.length) return
    const lease = await feed.lease(false).catch(() => null)
    if (lease === null) return
    if (this.#stopped || this.#uploads.has(feed.id)) return lease.release()
    const first = offer.length
    const end = feed.blocks
    // Uploads of the blocks it lacked (one sent twice only lets the core go early: no harm).
    let lacking = end - first
    const release = (): void => {
      clearTimeout(idle)
      lease.core.off('upload', onUpload)
      if (this.#uploads.get(feed.id) === release) this.#uploads.delete(feed.id)
      lease.release()
    }
    const onUpload = (index: number, _bytes: number, from: unknown): void => {
      if (streamOfPeer(from) !== this.#link.stream()) return
      idle.refresh()
      if (index >= first && index < end && --lacking === 0) release()
    }
    const idle = setTimeout(release, UPLOAD_IDLE)
    idle.unref()
    lease.core.on('upload', onUpload)
    this.#uploads.set(feed.id, release)
  }

  /**
   * Asks the peer now for the proof `take` will wait on for an offer of a feed not held yet (one
   * the policy takes): the next group's requests overlap the current group's downloads. At most
   * one group ahead, so the requests in flight stay within what the peer answers at once.
   */
  #proveAhead(offer: FeedOffer): void {
    const id = offer.key.toString('hex')
    if (this.#host.knownFeed(id)) return
    const takes = this.#policy.takes(id, offer.length)
    const start = takes.state === 'none' ? null : this.#earnedFrom(id, offer, takes)
    if (start !== null) markHandled(this.#proveCandidate(offer, start + 1))
  }

  /**
   * The block an offered feed not held yet is earned from (0, or a sparse start), or null when
   * the offer has nothing to earn it with: an empty feed (its writer offers it again once it has
   * a block), a sparse start at or past the blocks offered (live: a later offer may reach it), or
   * a prefix gate ending at or below it (block `start` holds seqs ≥ start).
   */
  #earnedFrom(id: string, offer: FeedOffer, takes: Inclusion): number | null {
    const start = this.#policy.startBlock(id, offer.length)
    if (offer.length === 0 || start >= offer.length) return null
    if (start > 0 && takes.state === 'prefix' && takes.length <= start) return null
    return start
  }

  /**
   * A feed not held yet: opened as a candidate, admitted once the peer proved its block `start`
   * (0, or a sparse feed's start block) and that block verified.
   */
  async #earn(offer: FeedOffer, start: number): Promise<HypercoreFeed<T> | null> {
    const signed = await this.#proveCandidate(offer, start + 1)
    // Only a proof is remembered: a feed offered again later is asked about again.
    if (signed !== 'proven') this.#candidateProofs.delete(offer.key.toString('hex'))
    if (signed === 'ended' || this.#link.closed()) return null
    if (signed === 'refuted') {
      this.#unprovable(offer)
      return null
    }
    const core = await this.#host.openCandidate(offer.key)
    let feed: HypercoreFeed<T> | null = null
    try {
      const ended = this.#link.ended()
      const id = core.key.toString('hex')
      const proof = await proveLength(core, start + 1, this.#link.stream(), ended, () =>
        this.#whenChecked(id),
      )
      if (proof === 'ended' || this.#link.closed()) return null
      // A candidate stored by an earlier session (cut before its first block arrived) can hold a
      // longer signed length than this peer's: as for a held feed, its blocks come with a peer at
      // least as far along — not an error, and no wait.
      const unprovable = () => core.length > Math.max(offer.signedLength, this.#peerLength(core))
      if (proof === 'proven' && unprovable()) return null
      const fetched = proof === 'refuted' ? null : await this.#fetchFirstBlock(core, start, ended, unprovable)
      if (fetched === null) {
        if (!this.#link.closed() && !unprovable()) this.#unprovable(offer)
        return null
      }
      const raw = fetched.raw ?? undefined
      const sparse = start > 0 ? await sparseStartOf(core, start, raw) : undefined
      feed = await this.#host.admit(core, sparse, raw && { index: start, raw })
      return feed
    } finally {
      // The admitted feed has a session of its own on the core.
      await core.close().catch(() => undefined)
    }
  }

  /**
   * Whether the peer proves, with no core of the feed stored here, that the feed's writer signed
   * a tree of at least `length` blocks (the blocks earning it needs): its tree at `length` and the
   * feed's manifest, asked once per feed on this connection. At the offer's signed length it must
   * be the tree hash offered. Proven also when this Hypercore cannot check that without a core
   * (the candidate is then proven by its core alone).
   */
  #proveCandidate(offer: FeedOffer, length: number): Promise<'proven' | 'refuted' | 'ended'> {
    const id = offer.key.toString('hex')
    let proof = this.#candidateProofs.get(id)
    if (!proof) {
      proof = this.#requestTree(offer.key, length, true).then((tree) => {
        if (tree === null) return 'ended'
        if (tree === 'timeout' || tree.length !== length) return 'refuted'
        const hash = provenDetachedTreeHash(offer.key, tree)
        if (hash === undefined) return 'proven'
        if (hash === null) return 'refuted'
        return length !== offer.signedLength || hash.equals(offer.treeHash) ? 'proven' : 'refuted'
      })
      this.#candidateProofs.set(id, proof)
    }
    return proof
  }

  /**
   * Downloads block `index` (the first to hold), which the peer proved exists; once it verified,
   * its bytes (`raw`: null when it came otherwise than by this get), else null. The caller closes
   * `core` (a candidate's session) after, which cancels a get still waiting.
   */
  async #fetchFirstBlock(
    core: Hypercore,
    index: number,
    ended: Promise<void>,
    unprovable: () => boolean,
  ): Promise<{ raw: Buffer | null } | null> {
    const room = this.#host.downloadRoom
    await room.check(core)
    // A get, not a range download: a range costs Hypercore more to set up than one block to move
    // (a skip bitfield per core).
    let raw: Buffer | null = null
    // A get the closing of the core cancels rejects: judged below, like one that never came.
    const got = core.get(index).then((block) => (raw = block), safetyCatch)
    const progress = () => this.#link.progress()
    const outgrown = whenOutgrown(core, unprovable)
    // One block: its channel stays (what is asked for is that block).
    const watch = room.watch(core, () => undefined)
    const short: { err: KappaError | null } = { err: null }
    core.on('download', progress)
    try {
      await Promise.race([got, ended, outgrown.promise, watch.stopped.then((err) => (short.err = err))])
    } finally {
      outgrown.cancel()
      watch.cancel()
      core.off('download', progress)
    }
    if (short.err !== null) throw short.err
    if (core.closed || !(await core.has(index).catch(() => false))) return null
    return { raw }
  }

  /** The peer's Hypercore signed length of `core` on this stream (0: not said yet). */
  #peerLength(core: Hypercore): number {
    return peerSignedLength(core, this.#link.stream())
  }

  #unprovable(offer: FeedOffer): void {
    this.#unproven++
    if (this.#link.live && this.#unproven <= MAX_UNPROVEN_OFFERS) return
    const id = offer.key.toString('hex')
    throw new KappaError(
      'ERR_PROTOCOL',
      `the peer offered feed ${id} (${offer.length} blocks) and cannot prove a block of it` +
        (this.#link.live ? ` (${this.#unproven} such offers)` : ''),
    )
  }

  /**
   * A held feed offered with a tree hash that is not ours at that length: the peer must prove it.
   * Signed by the writer, it is a fork; otherwise the offer lied.
   */
  async #checkTree(feed: HypercoreFeed<T>, offer: FeedOffer): Promise<void> {
    const { signedLength: length } = offer
    if (
      length === 0 ||
      length > feed.signedLength ||
      this.#forked.has(feed.id) ||
      this.#treeWaiters.has(feed.id)
    ) {
      return
    }
    // At our own signed length the index knows our tree hash: no core is opened for a peer in sync.
    if (length === feed.signedLength && (await feed.offer()).treeHash.equals(offer.treeHash)) return
    const lease = await feed.lease(false)
    let theirs: Buffer | null
    try {
      let ours: Buffer
      try {
        ours = await treeHashAt(lease.core, length)
      } catch {
        return // our tree at that length is not all here (a sparse core): nothing to compare with
      }
      if (ours.equals(offer.treeHash)) return
      const tree = await this.#requestTree(feed.key, length, false)
      if (tree === null || tree === 'timeout') return
      theirs = tree.length === length ? await provenTreeHash(lease.core, tree) : null
    } finally {
      lease.release()
    }
    if (theirs === null || !theirs.equals(offer.treeHash)) {
      throw new KappaError(
        'ERR_PROTOCOL',
        `feed ${feed.id}: the peer offered a tree hash its writer did not sign`,
      )
    }
    this.#markForked(feed.id)
    this.#host.reportFork(feed.key, length)
  }

  /**
   * Asks the peer for its tree of feed `key` at `length` (and the feed's manifest): null when the
   * session stops first. With the manifest, 'timeout' after TREE_ANSWER_TIMEOUT without an answer.
   */
  async #requestTree(
    key: Buffer,
    length: number,
    manifest: boolean,
  ): Promise<TreeMessage | null | 'timeout'> {
    // A live add can be taken before our hello went out, which the peer wants first.
    await this.#helloOut
    if (this.#link.closed() || this.#stopped) return null
    const id = key.toString('hex')
    return new Promise((resolve) => {
      const timer = manifest
        ? setTimeout(() => {
            if (this.#treeWaiters.get(id) !== answered) return
            this.#treeWaiters.delete(id)
            this.#treesAbandoned.add(id)
            resolve('timeout')
          }, TREE_ANSWER_TIMEOUT)
        : null
      timer?.unref()
      const answered = (tree: TreeMessage | null): void => {
        if (timer) clearTimeout(timer)
        resolve(tree)
      }
      this.#treeWaiters.set(id, answered)
      this.#link.sendTreeRequest({ key, length, manifest })
    })
  }

  #markForked(id: string): void {
    this.#forked.add(id)
    this.#latest.get(id)?.stop()
    for (const resolve of this.#forkWaiters.get(id) ?? []) resolve()
    this.#forkWaiters.delete(id)
  }

  #whenForked(id: string): Promise<void> {
    if (this.#forked.has(id)) return Promise.resolve()
    return waitOn(this.#forkWaiters, id)
  }

  /** The next tree check of feed `id` from this peer (trees.ts). */
  #whenChecked(id: string): Promise<void> {
    return waitOn(this.#checkWaiters, id)
  }

  /**
   * Live: downloads what the peer offered of `feed`, MAX_DOWNLOADS feeds at a time; a later offer
   * of a feed still waiting replaces the earlier one.
   */
  #followLive(feed: HypercoreFeed<T>, offer: FeedOffer): void {
    if (feed.writable || this.#link.closed() || feed.blocks >= offer.length) return
    this.#liveQueue.set(feed.id, { feed, offer })
    this.#pumpLive()
  }

  #pumpLive(): void {
    while (
      this.#liveRunning < MAX_DOWNLOADS &&
      this.#liveQueue.size > 0 &&
      !this.#stopped &&
      !this.#waitingRoom
    ) {
      const [id, next] = this.#liveQueue.entries().next().value as [
        string,
        { feed: HypercoreFeed<T>; offer: FeedOffer },
      ]
      this.#liveQueue.delete(id)
      this.#liveRunning++
      this.#downloadTo(next.feed, next.offer)
        .catch((err: unknown) => {
          if (this.#stopped) return
          if (!this.#host.downloadRoom.isShortage(err)) return this.#onLiveError(err)
          // A later offer of the feed (queued meanwhile) replaces this one.
          if (!this.#liveQueue.has(id)) this.#liveQueue.set(id, next)
          this.#waitForRoom(err)
        })
        .finally(() => {
          this.#liveRunning--
          this.#pumpLive()
        })
    }
  }

  /**
   * Live: downloads stopped for lack of free space. The store reports it once (`'error'`); the
   * stream stays open, and once a measurement finds room again the channels closed for it open
   * again, `resume` runs and the live downloads go on.
   */
  #waitForRoom(err: KappaError, resume: () => void = () => undefined): void {
    const room = this.#host.downloadRoom
    if (room.reportsNow(err)) this.#host.reportError(err)
    this.#waitingRoom = true
    this.#stopFollowing(null)
    void Promise.race([room.whenRoom(), this.#link.ended()]).then(() => {
      if (this.#stopped) return
      if (this.#waitingRoom) {
        this.#waitingRoom = false
        for (const id of [...this.#channelsClosed]) {
          const f = this.#host.knownFeed(id)
          if (f && this.#policy.serves(f).state !== 'none') void this.#reopenChannel(f)
        }
      }
      resume()
      this.#pumpLive()
    })
  }

  // ---- the end of the initial offers (not live: the downloads) -----------------------------------

  async #initialTaken(): Promise<void> {
    const lists = this.#initialLists.splice(0)
    this.#link.initialTaken(lists)
    if (!this.#link.live && this.#link.mode !== 'push') {
      // MAX_DOWNLOADS feeds download at once; each holds its core open only while it downloads.
      const pending: Array<{ feed: HypercoreFeed<T>; offer: FeedOffer }> = []
      for (const list of lists) {
        for (let j = 0; j < list.count; j++) {
          const feed = this.#host.knownFeed(list.keyAt(j).toString('hex'))
          if (feed && !feed.writable) {
            const offer = list.at(j)
            if (feed.blocks < offer.length && this.#policy.takes(feed.id, offer.length).state !== 'none') {
              pending.push({ feed, offer })
            }
          }
        }
      }
      await this.#downloadAll(pending)
      // What arrived may change what the gate allows (a membership record adding a writer).
      for (let round = 0; round < MAX_SETTLE_ROUNDS && this.#refused.size > 0 && !this.#stopped; round++) {
        await this.#link.settle()
        const allowed = [...this.#refused].filter(
          ([id, offer]) => this.#policy.takes(id, offer.length).state !== 'none',
        )
        if (allowed.length === 0) break
        const more: Array<{ feed: HypercoreFeed<T>; offer: FeedOffer }> = []
        for (const [id, offer] of allowed) {
          this.#refused.delete(id)
          const feed = await this.#take(offer)
          if (feed && !feed.writable && feed.blocks < offer.length) more.push({ feed, offer })
        }
        await this.#downloadAll(more)
      }
    }
    await this.#link.initialDone()
  }

  /** Downloads each feed to its offer, MAX_DOWNLOADS feeds at a time. */
  async #downloadAll(pending: Array<{ feed: HypercoreFeed<T>; offer: FeedOffer }>): Promise<void> {
    for (let i = 0; i < pending.length; i += MAX_DOWNLOADS) {
      const group = pending.slice(i, i + MAX_DOWNLOADS)
      await Promise.all(group.map(({ feed, offer }) => this.#downloadTo(feed, offer)))
    }
  }

  /**
   * Waits until we hold the blocks the peer offered, once it proved them — unless it cannot prove
   * them to us: Hypercore proves a block against the receiver's signed length and requests only
   * from a peer whose signed length is at least ours. A core that learned a longer length elsewhere
   * (a cut sync brought the signature, not the blocks) can get those blocks only from a peer at
   * least as far: waiting here would stall until the timeout. They come with a later sync with such
   * a peer.
   */
  async #downloadTo(feed: HypercoreFeed<T>, offer: FeedOffer): Promise<void> {
    if (feed.blocks >= offer.length || this.#forked.has(feed.id) || this.#link.closed()) return
    const takes = this.#policy.takes(feed.id, offer.length)
    if (takes.state === 'none' || (takes.state === 'prefix' && feed.length >= takes.length)) return
    const lease = await feed.lease(true)
    try {
      // The download's own room watch counts its blocks meanwhile, not a follow's.
      this.#downloading.set(feed.id, (this.#downloading.get(feed.id) ?? 0) + 1)
      try {
        if (takes.state === 'prefix') await this.#downloadPrefix(feed, lease.core, offer, takes.length)
        else await this.#downloadCore(feed, lease.core, offer)
      } finally {
        const left = (this.#downloading.get(feed.id) ?? 1) - 1
        if (left > 0) this.#downloading.set(feed.id, left)
        else this.#downloading.delete(feed.id)
      }
      // Bring the feed's length (in entries) up to date too: an invalid block refuses it.
      await feed.update()
      if (this.#link.live && takes.state === 'all') this.#followLatest(feed, lease.core, offer.length)
    } finally {
      lease.release()
    }
  }

  /**
   * Live, once `feed` (taken whole) is downloaded to an offer: Hypercore's upgrade round that the
   * peer's next length message starts brings that peer's newest block with the proof of the new
   * length (one round trip; the offer that follows finds it held). Only the block the peer's
   * proven length ends with, no range, so nothing is asked past a proven length. The follow holds
   * nothing open: it ends when the core closes, the policy no longer takes the feed whole, a fork
   * is proven, the session stops, or the store is short of room — its watch counts the blocks it
   * brings, as a download's does.
   */
  #followLatest(feed: HypercoreFeed<T>, core: Hypercore, length: number): void {
    const id = feed.id
    if (this.#stopped || this.#waitingRoom || this.#forked.has(id) || core.closed) return
    if (this.#policy.takes(id, length).state !== 'all' || this.#latest.get(id)?.core === core) return
    this.#latest.get(id)?.stop()
    const release = feed.followLatest(core)
    if (release === null) return
    const watch = this.#host.downloadRoom.watch(
      core,
      () => this.#closeChannels(feed),
      () => !this.#downloading.has(id),
    )
    const stop = (): void => {
      if (this.#latest.get(id) !== entry) return
      this.#latest.delete(id)
      release()
      watch.cancel()
      core.off('close', stop)
    }
    const entry: LatestFollow = { core, stop }
    this.#latest.set(id, entry)
    core.once('close', stop)
    void watch.stopped.then((err) => {
      if (this.#latest.get(id) !== entry) return
      stop()
      if (!this.#stopped) this.#waitForRoom(err)
    })
  }

  /**
   * Ends the follows (`followLatest`) of `feed` (null: of every feed); the next download of a feed
   * still taken whole follows it again.
   */
  #stopFollowing(feed: HypercoreFeed<T> | null): void {
    if (feed) this.#latest.get(feed.id)?.stop()
    else for (const { stop } of [...this.#latest.values()]) stop()
  }

  /**
   * Downloads the blocks holding entries `[0, entries)`, and no block past them. A block holds at
   * most MAX_BLOCK_ENTRIES entries, so the next `ceil(missing / MAX_BLOCK_ENTRIES)` blocks are all
   * needed; each round reads how far they reached.
   */
  async #downloadPrefix(
    feed: HypercoreFeed<T>,
    core: Hypercore,
    offer: FeedOffer,
    entries: number,
  ): Promise<void> {
    await feed.update()
    while (feed.length < entries && !this.#link.closed() && !this.#policy.refusesNow(feed.id)) {
      const have = await feed.heldBlocks()
      const end = Math.min(offer.length, have + Math.ceil((entries - feed.length) / MAX_BLOCK_ENTRIES))
      if (end <= have) return
      await this.#downloadCore(feed, core, { ...offer, length: end })
      await feed.update()
      if ((await feed.heldBlocks()) < end) return
    }
  }

  async #downloadCore(feed: HypercoreFeed<T>, core: Hypercore, offer: FeedOffer): Promise<void> {
    const { length } = offer
    const unprovable = () => core.length > Math.max(offer.signedLength, this.#peerLength(core))
    if ((await feed.heldBlocks()) >= length || unprovable() || this.#forked.has(feed.id)) return
    const room = this.#host.downloadRoom
    await room.check(core)
    const ended = Promise.race([
      this.#link.ended(),
      this.#whenForked(feed.id),
      waitOn(this.#stopWaiters, feed.id),
    ])
    const progress = () => this.#link.progress()
    core.on('download', progress)
    try {
      const proof = await proveLength(core, length, this.#link.stream(), ended, () =>
        this.#whenChecked(feed.id),
      )
      if (proof === 'ended' || this.#forked.has(feed.id) || (await feed.heldBlocks()) >= length) return
      if (proof === 'refuted') {
        if (unprovable()) return
        throw new KappaError(
          'ERR_PROTOCOL',
          `feed ${feed.id}: the peer offered ${length} blocks and cannot prove them`,
        )
      }
      // Proven: the range is within the signed length. A sparse feed's starts at its start block.
      // Asked for in slices, so what the peer still sends after a stop for room stays small.
      const outgrown = whenOutgrown(core, unprovable)
      const short: { err: KappaError | null } = { err: null }
      const watch = room.watch(core, () => this.#closeChannels(feed))
      const stop = Promise.race([
        ended,
        outgrown.promise,
        watch.stopped.then((err) => {
          short.err = err
        }),
      ]).then(() => 'stopped' as const)
      try {
        for (let start = feed.startBlock; start < length;) {
          const end = Math.min(length, start + room.sliceBlocks(core))
          const download = core.download({ start, end })
          try {
            // done() waits for ever when the peer goes away, and resolves when destroyed: race the close.
            if ((await Promise.race([download.done(), stop])) === 'stopped') break
          } finally {
            download.destroy()
          }
          start = end
        }
      } finally {
        outgrown.cancel()
        watch.cancel()
      }
      if (short.err !== null) throw short.err
    } finally {
      core.off('download', progress)
    }
    const stopped = this.#link.closed() || this.#forked.has(feed.id) || this.#policy.refusesNow(feed.id)
    if (!stopped && !unprovable() && (await feed.heldBlocks()) < length) {
      throw new KappaError('ERR_PROTOCOL', `feed ${feed.id} stopped below the length the peer offered`)
    }
  }
}

/** A live follow of a feed's newest block (`followLatest`) on one opening of its core. */
interface LatestFollow {
  readonly core: Hypercore
  stop(): void
}

/** Our offer of `feed` as far as it is served: a prefix gate offers only the blocks below its length. */
async function offerOf<T>(feed: HypercoreFeed<T>, serves: Inclusion): Promise<FeedOffer> {
  if (serves.state !== 'prefix' || serves.length >= feed.length) return feed.offer()
  return feed.offerUpTo(serves.length)
}

/**
 * Where a sparse feed taken from block `block` begins (its bytes: `bytes`, or read): that block's
 * first entry. The block has verified (its writer signed it), but its header is the writer's
 * claim: a first seq below the block number is impossible for blocks of one entry or more
 * (ERR_PROTOCOL).
 */
async function sparseStartOf(core: Hypercore, block: number, bytes?: Buffer): Promise<SparseStart> {
  const raw = bytes ?? (await core.get(block, { wait: false }))
  if (raw === null) throw KappaError.notFound(`block ${block} is not stored locally`)
  const { first } = decodeBlockHeader(raw)
  if (first < block) {
    throw new KappaError('ERR_PROTOCOL', `block ${block} says it starts at entry ${first}: inconsistent feed`)
  }
  return { block, start: first }
}

/** A promise `waiters` settles for `id`. */
function waitOn(waiters: Map<string, Array<() => void>>, id: string): Promise<void> {
  return new Promise((resolve) => {
    const list = waiters.get(id) ?? []
    list.push(resolve)
    waiters.set(id, list)
  })
}

/**
 * Settles once `unprovable()` turns true as `core`'s signed length grows (another peer upgrades
 * us past what this one can prove blocks against); `cancel` stops watching.
 */
function whenOutgrown(
  core: Hypercore,
  unprovable: () => boolean,
): { promise: Promise<void>; cancel(): void } {
  let onAppend = (): void => {}
  const promise = new Promise<void>((resolve) => {
    onAppend = () => {
      if (unprovable()) resolve()
    }
    core.on('append', onAppend)
  })
  return { promise, cancel: () => core.off('append', onAppend) }
}
