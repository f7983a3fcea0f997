/**
 * Finding the feeds two peers hold differently, in bytes that follow what differs: each side
 * summarizes its offers (offer-set.ts); equal hello digests settle "in sync" at once. Otherwise a
 * differing key range is split into 16 by the side that answers it, each sub-range's digest is
 * compared by the other, equal ones are settled, and a range small on either side (LEAF_SIZE
 * offers or fewer) is exchanged as a leaf: both sides' offers in it. With N feeds of which k
 * changed, that is O(k × log16 N) summaries and the k offers.
 *
 * Every range a side sends a digest of must be answered exactly once (a split, a settled, or a
 * leaf), and every leaf asking for a reply gets one; a side has all of the peer's initial offers
 * once nothing it sent is unanswered. Anything else from the peer is ERR_PROTOCOL. The digests are
 * claims like lengths: a peer that lies about them only withholds its own offers, or ours.
 */
import { KappaError } from '../../errors.js'
import {
  MAX_RANGE_DEPTH,
  OfferList,
  type KeyRange,
  type LeafMessage,
  type SettledMessage,
  type SplitMessage,
  type Summary,
} from '../messages.js'
import type { OfferSet } from './offer-set.js'
import { ROOT_RANGE, childRanges, inRange, rangeId } from './offer-set.js'

/** A differing range with at most this many offers on either side is exchanged whole. */
export const LEAF_SIZE = 8
/** Messages of the peer's reconciliation held until our own offers are summarized. */
const MAX_EARLY_MESSAGES = 64

export interface ReconcileLink {
  /** Whether we are the Noise initiator (known once the roles are settled, before any message). */
  readonly isInitiator: boolean
  /** Whether our leaves carry our offers (not when pulling). */
  readonly sendsOffers: boolean
  sendSplit(m: SplitMessage): void
  sendSettled(m: SettledMessage): void
  sendLeaf(m: LeafMessage): void
  /** Offers the peer sent in a leaf. */
  offers(list: OfferList): void
  /** Every initial offer of the peer has arrived. */
  finished(): void
}

type Early =
  | { kind: 'split'; m: SplitMessage }
  | { kind: 'settled'; m: SettledMessage }
  | { kind: 'leaf'; m: LeafMessage }

export class Reconciliation {
  readonly #link: ReconcileLink
  #ours: OfferSet | null = null
  #theirs: Summary | null = null
  /** Ranges whose digest we sent, waiting for the peer's answer. */
  readonly #awaiting = new Set<string>()
  /** Ranges whose offers we sent as a leaf, waiting for the peer's. */
  readonly #awaitingLeaf = new Set<string>()
  readonly #early: Early[] = []
  #state: 'waiting' | 'running' | 'finished' = 'waiting'

  constructor(link: ReconcileLink) {
    this.#link = link
  }

  get finished(): boolean {
    return this.#state === 'finished'
  }

  /** Our snapshot, summarized in our hello. */
  ours_(set: OfferSet): void {
    this.#ours = set
    this.#maybeStart()
  }

  /** The peer's hello summary. */
  theirs_(summary: Summary): void {
    this.#theirs = summary
    this.#maybeStart()
  }

  onSplit(m: SplitMessage): void {
    if (this.#hold({ kind: 'split', m })) return
    this.#answered(m.range)
    if (m.range.depth >= MAX_RANGE_DEPTH)
      throw new KappaError('ERR_PROTOCOL', 'a key range split past its depth')
    const children = childRanges(m.range)
    const settled: KeyRange[] = []
    children.forEach((child, i) => this.#answer(child, m.children[i]!, settled))
    if (settled.length > 0) this.#link.sendSettled({ ranges: settled })
    this.#check()
  }

  onSettled(m: SettledMessage): void {
    if (this.#hold({ kind: 'settled', m })) return
    for (const range of m.ranges) this.#answered(range)
    this.#check()
  }

  onLeaf(m: LeafMessage): void {
    if (this.#hold({ kind: 'leaf', m })) return
    const id = rangeId(m.range)
    if (m.reply) {
      if (!this.#awaitingLeaf.delete(id))
        throw new KappaError('ERR_PROTOCOL', 'a leaf reply nobody asked for')
    } else {
      this.#answered(m.range)
    }
    for (let i = 0; i < m.feeds.count; i++) {
      if (!inRange(m.feeds.keyAt(i), m.range))
        throw new KappaError('ERR_PROTOCOL', 'a leaf offers a feed outside its range')
    }
    if (m.feeds.count > 0) this.#link.offers(m.feeds)
    if (!m.reply) this.#link.sendLeaf({ range: m.range, reply: true, feeds: this.#offersIn(m.range) })
    this.#check()
  }

  #maybeStart(): void {
    if (this.#state !== 'waiting' || this.#ours === null || this.#theirs === null) return
    this.#state = 'running'
    const mine = this.#ours.summary()
    if (!sameSummary(mine, this.#theirs)) {
      // The initiator answers the whole range first; the responder waits for that answer.
      if (this.#link.isInitiator) {
        const settled: KeyRange[] = []
        this.#answer(ROOT_RANGE, this.#theirs, settled)
      } else {
        this.#awaiting.add(rangeId(ROOT_RANGE))
      }
    }
    for (const early of this.#early.splice(0)) {
      if (early.kind === 'split') this.onSplit(early.m)
      else if (early.kind === 'settled') this.onSettled(early.m)
      else this.onLeaf(early.m)
    }
    this.#check()
  }

  /** Before we have started, the peer's messages wait (a bounded number of them). */
  #hold(early: Early): boolean {
    if (this.#state === 'running') return false
    if (this.#state === 'finished')
      throw new KappaError('ERR_PROTOCOL', 'a reconciliation message after the end')
    if (this.#early.length >= MAX_EARLY_MESSAGES)
      throw new KappaError('ERR_PROTOCOL', 'too many early reconciliation messages')
    this.#early.push(early)
    return true
  }

  /** The peer answered `range`, which we must have sent a digest of. */
  #answered(range: KeyRange): void {
    if (!this.#awaiting.delete(rangeId(range))) {
      throw new KappaError('ERR_PROTOCOL', 'an answer for a key range nobody asked about')
    }
  }

  /** Answers the peer's digest of `range`: settled (into `settled`), a leaf, or a split. */
  #answer(range: KeyRange, theirs: Summary, settled: KeyRange[]): void {
    const mine = this.#ours!.summaryOf(range)
    if (sameSummary(mine, theirs)) {
      settled.push(range)
      return
    }
    if (mine.count <= LEAF_SIZE || theirs.count <= LEAF_SIZE || range.depth >= MAX_RANGE_DEPTH) {
      this.#awaitingLeaf.add(rangeId(range))
      this.#link.sendLeaf({ range, reply: false, feeds: this.#offersIn(range) })
      return
    }
    const children = childRanges(range)
    for (const child of children) this.#awaiting.add(rangeId(child))
    this.#link.sendSplit({ range, children: children.map((child) => this.#ours!.summaryOf(child)) })
  }

  #offersIn(range: KeyRange): OfferList {
    return this.#link.sendsOffers ? this.#ours!.offersIn(range) : OfferList.of([])
  }

  #check(): void {
    if (this.#state !== 'running' || this.#awaiting.size > 0 || this.#awaitingLeaf.size > 0) return
    this.#state = 'finished'
    this.#link.finished()
  }
}

function sameSummary(a: Summary, b: Summary): boolean {
  return a.count === b.count && a.digest.equals(b.digest)
}
