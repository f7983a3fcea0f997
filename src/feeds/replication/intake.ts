/**
 * The offers one peer made, taken in order and a few at a time: a queue of offer lists (each
 * message's, kept as its raw records), and one worker that takes OFFER_CONCURRENCY offers at once
 * and waits for all of them before the next ones (what it learns is then listed in the peer's
 * order). What taking an offer means is the session's business; this only bounds how many are
 * pending (`limit`: more fails with ERR_LIMIT) and how many are worked on at once.
 */
import { KappaError } from '../../errors.js'
import { OfferList, type FeedOffer } from '../messages.js'

const EMPTY = OfferList.of([])

/** Offers worked on at once per connection (each may open a core and wait for its proof). */
export const OFFER_CONCURRENCY = 32

export interface IntakeHandlers<R> {
  /** Takes one offer. A rejection stops the intake and reaches `onError`. */
  take(offer: FeedOffer): Promise<R>
  /** After each group of offers has been taken, with their results in order. */
  taken(results: R[]): void
  /**
   * The offers of the next group, while the current one is taken: what taking them will wait on
   * (a proof asked of the peer) can be asked now, so the round trip overlaps the current group.
   */
  upcoming?(offers: FeedOffer[]): void
  /** Once every offer pushed before `endInitial()` has been taken. */
  initialTaken(): Promise<void>
  onError(err: unknown): void
}

interface Pending {
  list: OfferList
  next: number
  /** The marker `endInitial()` queues: what came before it is the initial offers. */
  endsInitial: boolean
}

export class OfferIntake<R> {
  readonly #queue: Pending[] = []
  readonly #handlers: IntakeHandlers<R>
  readonly #limit: number
  #queued = 0
  #running = false
  #stopped = false

  constructor(handlers: IntakeHandlers<R>, limit: number) {
    this.#handlers = handlers
    this.#limit = limit
  }

  /** Queues a message's offers; ERR_LIMIT when more than `limit` would wait. */
  push(list: OfferList): void {
    if (this.#stopped) return
    if (this.#queued + list.count > this.#limit) {
      throw KappaError.limit(
        `the peer offered more feeds (${this.#queued + list.count}) than this store takes (${this.#limit})`,
      )
    }
    this.#queued += list.count
    this.#enqueue({ list, next: 0, endsInitial: false })
  }

  /** The peer's initial offers are all pushed: `initialTaken` runs once they are taken. */
  endInitial(): void {
    if (this.#stopped) return
    this.#enqueue({ list: EMPTY, next: 0, endsInitial: true })
  }

  #enqueue(pending: Pending): void {
    this.#queue.push(pending)
    if (!this.#running) {
      this.#running = true
      this.#work().catch((err: unknown) => {
        this.stop()
        this.#handlers.onError(err)
      })
    }
  }

  /** Drops what is queued; nothing more is taken. */
  stop(): void {
    this.#stopped = true
    this.#queue.length = 0
    this.#queued = 0
  }

  async #work(): Promise<void> {
    while (!this.#stopped && this.#queue.length > 0) {
      const pending = this.#queue[0]!
      const offers: FeedOffer[] = []
      while (offers.length < OFFER_CONCURRENCY && pending.next < pending.list.count) {
        offers.push(pending.list.at(pending.next++))
      }
      if (offers.length > 0) {
        const taking = Promise.all(offers.map((offer) => this.#handlers.take(offer)))
        if (this.#handlers.upcoming) {
          const next: FeedOffer[] = []
          for (let i = pending.next; i < pending.list.count && next.length < OFFER_CONCURRENCY; i++) {
            next.push(pending.list.at(i))
          }
          if (next.length > 0) this.#handlers.upcoming(next)
        }
        const results = await taking
        if (this.#stopped) return
        this.#queued -= offers.length
        this.#handlers.taken(results)
      }
      if (pending.next < pending.list.count) continue
      this.#queue.shift()
      if (pending.endsInitial) await this.#handlers.initialTaken()
    }
    this.#running = false
  }
}
