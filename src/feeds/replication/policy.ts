/**
 * What one connection offers, serves and takes: the store's blocks and gate, and the `share` /
 * `accept` hooks of the replication (or the store's `policy` defaults), asked once per feed per
 * connection so the offers, the serving and the downloads of one session agree. Hooks are
 * synchronous; one that throws, or answers anything but what it may, counts as `false`. An accept
 * answer `{ start }` (a block number, as the offer's `length` counts) asks for a sparse feed: it
 * shapes only a feed this store does not hold yet (exchange.ts); for a held one it is a yes.
 */
import type { Inclusion } from '../../membership/types.js'
import type { HypercoreFeed } from '../feed.js'
import type { AcceptAnswer, AcceptHook, FeedKey, ReplicationPeer, ShareHook } from '../types.js'

/** What the policy needs from its Multifeed. */
export interface PolicyHost {
  isBlocked(id: string): boolean
  /** The gate's answer for feed `id` (no gate: all of it). */
  inclusion(id: string): Inclusion
}

const NONE: Inclusion = { state: 'none' }

export class SessionPolicy {
  readonly peer: ReplicationPeer
  readonly #host: PolicyHost
  readonly #share: ShareHook | undefined
  readonly #accept: AcceptHook | undefined
  readonly #shared = new Map<string, boolean>()
  /** Per feed: false (not taken), or the block to take it from (0: whole). */
  readonly #accepted = new Map<string, number | false>()

  constructor(host: PolicyHost, hooks: { share?: ShareHook; accept?: AcceptHook }, peer: ReplicationPeer) {
    this.#host = host
    this.#share = hooks.share
    this.#accept = hooks.accept
    this.peer = peer
  }

  /** How much of `feed` this peer is offered and served: none when blocked, gated out or not shared. */
  serves(feed: HypercoreFeed<unknown>): Inclusion {
    if (this.#host.isBlocked(feed.id)) return NONE
    const gate = this.#host.inclusion(feed.id)
    if (gate.state === 'none') return gate
    let answer = this.#shared.get(feed.id)
    if (answer === undefined) {
      answer = this.#share === undefined || this.#askShare(feed)
      this.#shared.set(feed.id, answer)
    }
    return answer ? gate : NONE
  }

  /** How much of the feed with this key and offered length (blocks) is taken from this peer. */
  takes(id: string, length: number): Inclusion {
    if (this.#host.isBlocked(id)) return NONE
    const gate = this.#host.inclusion(id)
    if (gate.state === 'none') return NONE
    return this.#acceptAnswer(id, length) === false ? NONE : gate
  }

  /**
   * The block a feed not held yet is taken from (0: whole, from block 0), as `accept` answered;
   * asked only after `takes` said it is taken.
   */
  startBlock(id: string, length: number): number {
    return this.#acceptAnswer(id, length) || 0
  }

  #acceptAnswer(id: string, length: number): number | false {
    let answer = this.#accepted.get(id)
    if (answer === undefined) {
      answer = this.#accept === undefined ? 0 : this.#askAccept(id, length)
      this.#accepted.set(id, answer)
    }
    return answer
  }

  /** Whether feed `id` may not be taken now (blocked, gated out, or refused by `accept` already), without asking. */
  refusesNow(id: string): boolean {
    return (
      this.#host.isBlocked(id) ||
      this.#host.inclusion(id).state === 'none' ||
      this.#accepted.get(id) === false
    )
  }

  /** The gate or the store's blocks changed: every feed is asked about again. */
  reset(): void {
    this.#shared.clear()
    this.#accepted.clear()
  }

  #askShare(feed: HypercoreFeed<unknown>): boolean {
    const info: { key: FeedKey; length: number; name?: string } = { key: feed.id, length: feed.length }
    if (feed.name !== undefined) info.name = feed.name
    return callHook(() => this.#share!(info, this.peer)) === true
  }

  #askAccept(id: string, length: number): number | false {
    const answer = callHook(() => this.#accept!({ key: id as FeedKey, length }, this.peer))
    return acceptedStart(answer)
  }
}

/**
 * The block an accept answer takes a feed from: `true` and `{ start: 0 }` are 0 (whole), `{ start }`
 * with a non-negative safe integer is that block; anything else (`false`, a negative, fractional or
 * non-number start, another shape, a throw) is false.
 */
function acceptedStart(answer: AcceptAnswer | undefined): number | false {
  if (answer === true) return 0
  if (answer === null || typeof answer !== 'object') return false
  const start = (answer as { start?: unknown }).start
  return typeof start === 'number' && Number.isSafeInteger(start) && start >= 0 ? start : false
}

/** A hook's answer; undefined when it threw. */
function callHook<R>(hook: () => R): R | undefined {
  try {
    return hook()
  } catch {
    return undefined
  }
}
