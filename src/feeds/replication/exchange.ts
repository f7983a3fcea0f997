/**
 * The feed exchange of one connection: what we offer the peer, and what we do with its offers.
 * Every number in an offer is a claim (docs/DESIGN.md, "Threat model"):
 *
 * - A feed we do not hold is earned: its core is opened as a candidate and admitted — listed,
 *   announced, indexed — only once the peer proved a length (a verified upgrade) and one block
 *   verified. A peer that cannot prove it gets ERR_PROTOCOL (live: after MAX_UNPROVEN_OFFERS).
 * - A length is downloaded to only once proven, never further (claims.ts).
 * - A tree hash that differs from ours at a length we hold is asked to be proven (tree request);
 *   a proof its writer signed is a fork (ERR_FORK on the store), a proof that is not is a lie
 *   (ERR_PROTOCOL). Forks Hypercore meets while verifying data reach us through trees.ts.
 *
 * Offers are taken OFFER_CONCURRENCY at a time (intake.ts), at most `maxFeeds` queued.
 */
import type { Download } from 'hypercore'
import type Hypercore from 'hypercore'
import { KappaError } from '../../errors.js'
import type { HypercoreFeed } from '../feed.js'
import { OfferList, type FeedOffer, type TreeMessage, type TreeRequestMessage } from '../messages.js'
import type { ReplicationMode } from '../types.js'
import { proveLength } from './claims.js'
import { OFFER_CONCURRENCY, OfferIntake } from './intake.js'
import { provenTreeHash, treeHashAt, treeMessageOf } from './trees.js'

/** A live peer may make this many offers it cannot prove a block of; the next fails its stream. */
export const MAX_UNPROVEN_OFFERS = 16
/** Our own offers are built (a tree hash each) this many at a time. */
const OFFER_BUILD_BATCH = 256

/** What the exchange needs from its Multifeed. */
export interface ExchangeHost<T> {
  readonly maxFeeds: number
  allFeeds(): readonly HypercoreFeed<T>[]
  knownFeed(id: string): HypercoreFeed<T> | undefined
  /** A session on the core of a feed not held yet, to prove it; ERR_LIMIT when the store is full. */
  openCandidate(key: Buffer): Promise<Hypercore>
  /** Lists a candidate one of whose blocks verified; the held feed (maybe another session's). */
  admit(core: Hypercore): Promise<HypercoreFeed<T>>
  /** A fork of `key`'s writer, proven by a tree it signed at `length`. */
  reportFork(key: Buffer, length: number): void
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
  /** The peer's initial offers (`list`) are all taken: its feeds are ours now ('remote-feeds'). */
  initialTaken(list: OfferList): void
  /** Not live: and downloaded as far as the peer proved them. Live: right after initialTaken. */
  initialDone(): Promise<void>
}

export class FeedExchange<T> {
  private readonly host: ExchangeHost<T>
  private readonly link: ExchangeLink
  private readonly intake: OfferIntake<HypercoreFeed<T> | null>
  /** Held feeds the peer knows about (it offered them, or we did): never announced again. */
  private readonly known = new Set<string>()
  private readonly liveDownloads = new Map<string, Download>()
  /** Feeds whose writer this peer proved to have forked: not downloaded from it. */
  private readonly forked = new Set<string>()
  private readonly forkWaiters = new Map<string, Array<() => void>>()
  private readonly checkWaiters = new Map<string, Array<() => void>>()
  private readonly treeWaiters = new Map<string, (tree: TreeMessage | null) => void>()
  private readonly treesAnswered = new Set<string>()
  private unproven = 0

  constructor(host: ExchangeHost<T>, link: ExchangeLink, onError: (err: unknown) => void) {
    this.host = host
    this.link = link
    this.intake = new OfferIntake(
      {
        take: (offer) => (link.mode === 'push' ? this.markKnown(offer) : this.take(offer)),
        taken: (feeds) => {
          if (link.live) for (const feed of feeds) if (feed) this.followLive(feed)
        },
        initialTaken: (list) => this.initialTaken(list),
        onError,
      },
      host.maxFeeds,
    )
  }

  /** Our offers for the hello: every feed holding a block (none when pulling). */
  async helloOffers(): Promise<OfferList> {
    if (this.link.mode === 'pull') return OfferList.of([])
    const feeds = this.host.allFeeds().filter((feed) => feed.core.contiguousLength > 0)
    for (const feed of feeds) this.known.add(feed.id)
    const offers: FeedOffer[] = []
    for (let i = 0; i < feeds.length; i += OFFER_BUILD_BATCH) {
      const batch = feeds.slice(i, i + OFFER_BUILD_BATCH)
      offers.push(...(await Promise.all(batch.map((feed) => offerOf(feed.core)))))
    }
    return OfferList.of(offers)
  }

  /** Live: offers `feed` to the peer unless it knows it; a feed is offered once it holds a block. */
  announce(feed: HypercoreFeed<T>): void {
    if (this.link.mode === 'pull' || this.known.has(feed.id) || feed.core.contiguousLength === 0) return
    this.known.add(feed.id)
    void offerOf(feed.core).then(
      (offer) => this.link.sendAdd(OfferList.of([offer])),
      () => this.known.delete(feed.id),
    )
  }

  /** The peer's hello (`initial`) or a live add. */
  offered(list: OfferList, initial: boolean): void {
    if (list.count > this.host.maxFeeds) {
      throw KappaError.limit(
        `the peer offered ${list.count} feeds in one message; this store takes ${this.host.maxFeeds}`,
      )
    }
    this.intake.push(list, initial)
  }

  onTreeRequest(m: TreeRequestMessage): void {
    const id = m.key.toString('hex')
    const feed = this.host.knownFeed(id)
    if (feed) {
      if (this.treesAnswered.has(id))
        throw new KappaError('ERR_PROTOCOL', `the peer asked twice for feed ${id}'s tree`)
      this.treesAnswered.add(id)
    }
    const cannot: TreeMessage = {
      key: m.key,
      length: 0,
      fork: 0,
      nodes: [],
      additionalNodes: [],
      signature: Buffer.alloc(0),
    }
    if (!feed || m.length === 0 || m.length > feed.core.length) return this.link.sendTree(cannot)
    treeMessageOf(feed.core, m.length).then(
      (tree) => this.link.sendTree(tree),
      () => this.link.sendTree(cannot),
    )
  }

  onTree(m: TreeMessage): void {
    const id = m.key.toString('hex')
    const waiter = this.treeWaiters.get(id)
    if (!waiter) throw new KappaError('ERR_PROTOCOL', 'a tree proof nobody asked for')
    this.treeWaiters.delete(id)
    waiter(m)
  }

  /** Hypercore checked a tree of feed `id` this peer sent: a fork (nothing more of it from this peer), or none. */
  treeChecked(id: string, stream: unknown, forked: boolean): void {
    if (stream !== this.link.stream()) return
    if (forked) this.markForked(id)
    for (const resolve of this.checkWaiters.get(id) ?? []) resolve()
    this.checkWaiters.delete(id)
  }

  /** The session is over: nothing more is taken, live downloads stop. */
  stop(): void {
    this.intake.stop()
    for (const download of this.liveDownloads.values()) download.destroy()
    this.liveDownloads.clear()
    for (const resolve of this.treeWaiters.values()) resolve(null)
    this.treeWaiters.clear()
  }

  // ---- taking offers ----------------------------------------------------------------------------

  private async markKnown(offer: FeedOffer): Promise<HypercoreFeed<T> | null> {
    const feed = this.host.knownFeed(offer.key.toString('hex'))
    if (feed) this.known.add(feed.id)
    return null
  }

  /** The held feed an offer is about: one we hold (its tree checked), or one it earned here. */
  private async take(offer: FeedOffer): Promise<HypercoreFeed<T> | null> {
    const held = this.host.knownFeed(offer.key.toString('hex'))
    if (held) {
      this.known.add(held.id)
      await this.checkTree(held, offer)
      return held
    }
    // An empty feed has nothing to prove itself with; its writer offers it again once it has.
    if (offer.length === 0) return null
    const feed = await this.earn(offer)
    if (feed) this.known.add(feed.id)
    return feed
  }

  /** A feed not held yet: opened as a candidate, admitted once the peer proved one block of it. */
  private async earn(offer: FeedOffer): Promise<HypercoreFeed<T> | null> {
    const core = await this.host.openCandidate(offer.key)
    let feed: HypercoreFeed<T> | null = null
    try {
      const ended = this.link.ended()
      const id = core.key.toString('hex')
      const proof = await proveLength(core, 1, this.link.stream(), ended, () => this.whenChecked(id))
      if (proof === 'ended' || this.link.closed()) return null
      // A candidate stored by an earlier session (cut before its first block arrived) can hold a
      // longer signed length than this peer's: as for a held feed, its blocks come with a peer at
      // least as far along — not an error, and no wait.
      const unprovable = () => core.length > Math.max(offer.signedLength, this.peerLength(core))
      if (proof === 'proven' && unprovable()) return null
      if (proof === 'refuted' || !(await this.fetchFirstBlock(core, ended, unprovable))) {
        if (!this.link.closed() && !unprovable()) this.unprovable(offer)
        return null
      }
      feed = await this.host.admit(core)
      return feed
    } finally {
      // Admitted, the core is the feed's; otherwise (refuted, ended, or another session's feed) ours to close.
      if (feed?.core !== core) await core.close().catch(() => undefined)
    }
  }

  /** Downloads block 0, which the peer proved exists; true once it verified. */
  private async fetchFirstBlock(
    core: Hypercore,
    ended: Promise<void>,
    unprovable: () => boolean,
  ): Promise<boolean> {
    const download = core.download({ start: 0, end: 1 })
    const progress = () => this.link.progress()
    const outgrown = whenOutgrown(core, unprovable)
    core.on('download', progress)
    try {
      await Promise.race([download.done(), ended, outgrown.promise])
    } catch {
      // a download cancelled by the core closing: judged below
    } finally {
      download.destroy()
      outgrown.cancel()
      core.off('download', progress)
    }
    return !core.closed && (await core.has(0).catch(() => false))
  }

  /** The peer's Hypercore signed length of `core` on this stream (0: not said yet). */
  private peerLength(core: Hypercore): number {
    const peer = core.peers.find((p) => p.stream === this.link.stream())
    return peer?.remoteLength ?? 0
  }

  private unprovable(offer: FeedOffer): void {
    this.unproven++
    if (this.link.live && this.unproven <= MAX_UNPROVEN_OFFERS) return
    const id = offer.key.toString('hex')
    throw new KappaError(
      'ERR_PROTOCOL',
      `the peer offered feed ${id} (${offer.length} blocks) and cannot prove a block of it` +
        (this.link.live ? ` (${this.unproven} such offers)` : ''),
    )
  }

  /**
   * A held feed offered with a tree hash that is not ours at that length: the peer must prove it.
   * Signed by the writer, it is a fork; otherwise the offer lied.
   */
  private async checkTree(feed: HypercoreFeed<T>, offer: FeedOffer): Promise<void> {
    const { signedLength: length } = offer
    if (
      length === 0 ||
      length > feed.core.length ||
      this.forked.has(feed.id) ||
      this.treeWaiters.has(feed.id)
    ) {
      return
    }
    let ours: Buffer
    try {
      ours = await treeHashAt(feed.core, length)
    } catch {
      return // our tree at that length is not all here (a sparse core): nothing to compare with
    }
    if (ours.equals(offer.treeHash)) return
    const tree = await this.requestTree(feed, length)
    if (tree === null) return
    const theirs = tree.length === length ? await provenTreeHash(feed.core, tree) : null
    if (theirs === null || !theirs.equals(offer.treeHash)) {
      throw new KappaError(
        'ERR_PROTOCOL',
        `feed ${feed.id}: the peer offered a tree hash its writer did not sign`,
      )
    }
    this.markForked(feed.id)
    this.host.reportFork(feed.key, length)
  }

  private requestTree(feed: HypercoreFeed<T>, length: number): Promise<TreeMessage | null> {
    if (this.link.closed()) return Promise.resolve(null)
    return new Promise((resolve) => {
      this.treeWaiters.set(feed.id, resolve)
      this.link.sendTreeRequest({ key: feed.key, length })
    })
  }

  private markForked(id: string): void {
    this.forked.add(id)
    for (const resolve of this.forkWaiters.get(id) ?? []) resolve()
    this.forkWaiters.delete(id)
  }

  private whenForked(id: string): Promise<void> {
    if (this.forked.has(id)) return Promise.resolve()
    return waitOn(this.forkWaiters, id)
  }

  /** The next tree check of feed `id` from this peer (trees.ts). */
  private whenChecked(id: string): Promise<void> {
    return waitOn(this.checkWaiters, id)
  }

  private followLive(feed: HypercoreFeed<T>): void {
    if (feed.writable || this.link.closed() || this.liveDownloads.has(feed.id)) return
    this.liveDownloads.set(feed.id, feed.core.download({ start: 0, end: -1 }))
  }

  // ---- the end of the initial offers (not live: the downloads) -----------------------------------

  private async initialTaken(list: OfferList): Promise<void> {
    this.link.initialTaken(list)
    if (!this.link.live && this.link.mode !== 'push') {
      for (let i = 0; i < list.count; i += OFFER_CONCURRENCY) {
        const group: Array<Promise<void>> = []
        for (let j = i; j < Math.min(list.count, i + OFFER_CONCURRENCY); j++) {
          const offer = list.at(j)
          const feed = this.host.knownFeed(offer.key.toString('hex'))
          // Bring the feed's length (in entries) up to date too: an invalid block refuses it.
          if (feed && !feed.writable) group.push(this.downloadTo(feed, offer).then(() => feed.update()))
        }
        await Promise.all(group)
      }
    }
    await this.link.initialDone()
  }

  /**
   * Waits until we hold the blocks the peer offered, once it proved them — unless it cannot prove
   * them to us: Hypercore proves a block against the receiver's signed length and requests only
   * from a peer whose signed length is at least ours. A core that learned a longer length elsewhere
   * (a cut sync brought the signature, not the blocks) can get those blocks only from a peer at
   * least as far: waiting here would stall until the timeout. They come with a later sync with such
   * a peer.
   */
  private async downloadTo(feed: HypercoreFeed<T>, offer: FeedOffer): Promise<void> {
    const core = feed.core
    const { length } = offer
    const unprovable = () => core.length > Math.max(offer.signedLength, this.peerLength(core))
    if (core.contiguousLength >= length || unprovable() || this.forked.has(feed.id)) return
    const ended = Promise.race([this.link.ended(), this.whenForked(feed.id)])
    const progress = () => this.link.progress()
    core.on('download', progress)
    try {
      const proof = await proveLength(core, length, this.link.stream(), ended, () =>
        this.whenChecked(feed.id),
      )
      if (proof === 'ended' || this.forked.has(feed.id) || core.contiguousLength >= length) return
      if (proof === 'refuted') {
        if (unprovable()) return
        throw new KappaError(
          'ERR_PROTOCOL',
          `feed ${feed.id}: the peer offered ${length} blocks and cannot prove them`,
        )
      }
      // Proven: the range is within the signed length.
      const download = core.download({ start: 0, end: length })
      const outgrown = whenOutgrown(core, unprovable)
      try {
        // done() waits for ever when the peer goes away, and resolves when destroyed: race the close.
        await Promise.race([download.done(), ended, outgrown.promise])
      } finally {
        download.destroy()
        outgrown.cancel()
      }
    } finally {
      core.off('download', progress)
    }
    if (core.contiguousLength < length && !this.link.closed() && !this.forked.has(feed.id) && !unprovable()) {
      throw new KappaError('ERR_PROTOCOL', `feed ${feed.id} stopped below the length the peer offered`)
    }
  }
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

/** An honest offer of `core`: what it holds, its signed length and the tree hash there. */
export async function offerOf(core: Hypercore): Promise<FeedOffer> {
  const signedLength = core.length
  const length = Math.min(core.contiguousLength, signedLength)
  return { key: core.key, length, signedLength, treeHash: await treeHashAt(core, signedLength) }
}
