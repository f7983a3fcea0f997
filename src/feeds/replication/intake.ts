/**
 * The offers one peer made, taken in order and a few at a time: a queue of offer lists (each
 * message's, kept as its raw records), and one worker that keeps OFFER_CONCURRENCY offers in
 * flight, starting the next as soon as one is taken (what it learns is listed at most
 * OFFER_CONCURRENCY places from the peer's order). What taking an offer means is the session's
 * business; this only bounds how many are pending (`limit`: more fails with ERR_LIMIT) and how
 * many are worked on at once.
 */
import { KappaError } from '../../errors.js'
import { OfferList, type FeedOffer } from '../messages.js'

const EMPTY = OfferList.of([])

/** Offers worked on at once per connection (each may open a core and wait for its proof). */
export const OFFER_CONCURRENCY = 16

export interface IntakeHandlers<R> {
  /** Takes one offer. A rejection stops the intake and reaches `onError`. */
  take(offer: FeedOffer): Promise<R>
  /** As offers are taken, with their results in the peer's order. */
  taken(results: R[]): void
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
  private readonly queue: Pending[] = []
  private readonly handlers: IntakeHandlers<R>
  private readonly limit: number
  private queued = 0
  private running = false
  private stopped = false

  constructor(handlers: IntakeHandlers<R>, limit: number) {
    this.handlers = handlers
    this.limit = limit
  }

  /** Queues a message's offers; ERR_LIMIT when more than `limit` would wait. */
  push(list: OfferList): void {
    if (this.stopped) return
    if (this.queued + list.count > this.limit) {
      throw KappaError.limit(
        `the peer offered more feeds (${this.queued + list.count}) than this store takes (${this.limit})`,
      )
    }
    this.queued += list.count
    this.enqueue({ list, next: 0, endsInitial: false })
  }

  /** The peer's initial offers are all pushed: `initialTaken` runs once they are taken. */
  endInitial(): void {
    if (this.stopped) return
    this.enqueue({ list: EMPTY, next: 0, endsInitial: true })
  }

  private enqueue(pending: Pending): void {
    this.queue.push(pending)
    if (!this.running) {
      this.running = true
      this.work().catch((err: unknown) => this.fail(err))
    }
  }

  /** Drops what is queued; nothing more is taken. */
  stop(): void {
    this.stopped = true
    this.queue.length = 0
    this.queued = 0
  }

  /**
   * Keeps OFFER_CONCURRENCY offers in flight — the next one starts as soon as one is taken, so a
   * slow offer does not hold up the fifteen beside it — and passes the results on in the peer's
   * order. A rejection stops the intake at once.
   */
  private async work(): Promise<void> {
    const window: Array<Promise<R>> = []
    while (!this.stopped) {
      const pending = this.queue[0]
      if (pending !== undefined && pending.next < pending.list.count) {
        if (window.length < OFFER_CONCURRENCY) {
          const taking = this.handlers.take(pending.list.at(pending.next++))
          taking.catch((err: unknown) => this.fail(err))
          window.push(taking)
          continue
        }
      } else if (pending !== undefined && (!pending.endsInitial || window.length === 0)) {
        this.queue.shift()
        if (pending.endsInitial) await this.handlers.initialTaken()
        continue
      } else if (window.length === 0) break
      // The window is full, or the initial offers' end waits for the last of them: the oldest.
      const result = await window.shift()!
      if (this.stopped) return
      this.queued--
      this.handlers.taken([result])
    }
    this.running = false
  }

  private fail(err: unknown): void {
    if (this.stopped) return
    this.stop()
    this.handlers.onError(err)
  }
}
