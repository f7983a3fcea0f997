/**
 * What one connection offers, serves and takes: the store's blocks and gate, and the `share` /
 * `accept` hooks of the replication (or the store's `policy` defaults), asked once per feed per
 * connection so the offers, the serving and the downloads of one session agree. Hooks are
 * synchronous; one that throws, or answers anything but what it may, counts as `false`.
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
  private readonly host: PolicyHost
  private readonly share: ShareHook | undefined
  private readonly accept: AcceptHook | undefined
  private readonly shared = new Map<string, boolean>()
  private readonly accepted = new Map<string, boolean>()

  constructor(host: PolicyHost, hooks: { share?: ShareHook; accept?: AcceptHook }, peer: ReplicationPeer) {
    this.host = host
    this.share = hooks.share
    this.accept = hooks.accept
    this.peer = peer
  }

  /** How much of `feed` this peer is offered and served: none when blocked, gated out or not shared. */
  serves(feed: HypercoreFeed<unknown>): Inclusion {
    if (this.host.isBlocked(feed.id)) return NONE
    const gate = this.host.inclusion(feed.id)
    if (gate.state === 'none') return gate
    let answer = this.shared.get(feed.id)
    if (answer === undefined) {
      answer = this.share === undefined || this.askShare(feed)
      this.shared.set(feed.id, answer)
    }
    return answer ? gate : NONE
  }

  /** How much of the feed with this key and offered length (blocks) is taken from this peer. */
  takes(id: string, length: number): Inclusion {
    if (this.host.isBlocked(id)) return NONE
    const gate = this.host.inclusion(id)
    if (gate.state === 'none') return NONE
    let answer = this.accepted.get(id)
    if (answer === undefined) {
      answer = this.accept === undefined || this.askAccept(id, length)
      this.accepted.set(id, answer)
    }
    return answer ? gate : NONE
  }

  /** Whether feed `id` may not be taken now (blocked, gated out, or refused by `accept` already), without asking. */
  refusesNow(id: string): boolean {
    return (
      this.host.isBlocked(id) || this.host.inclusion(id).state === 'none' || this.accepted.get(id) === false
    )
  }

  /** The gate or the store's blocks changed: every feed is asked about again. */
  reset(): void {
    this.shared.clear()
    this.accepted.clear()
  }

  private askShare(feed: HypercoreFeed<unknown>): boolean {
    const info: { key: FeedKey; length: number; name?: string } = { key: feed.id, length: feed.length }
    if (feed.name !== undefined) info.name = feed.name
    return callHook(() => this.share!(info, this.peer)) === true
  }

  private askAccept(id: string, length: number): boolean {
    const answer = callHook(() => this.accept!({ key: id as FeedKey, length }, this.peer))
    return acceptsAll(answer)
  }
}

/**
 * An accept answer that takes the whole feed: `true`, or `{ start: 0 }`. A `{ start }` past 0 asks
 * for a sparse feed, which this store does not take: no.
 */
function acceptsAll(answer: AcceptAnswer | undefined): boolean {
  if (answer === true) return true
  if (answer === null || typeof answer !== 'object') return false
  const start = (answer as { start?: unknown }).start
  return start === 0
}

/** A hook's answer; undefined when it threw. */
function callHook<R>(hook: () => R): R | undefined {
  try {
    return hook()
  } catch {
    return undefined
  }
}
