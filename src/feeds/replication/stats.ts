/**
 * What moved on a replication stream: blocks (and their bytes) received from the peer and sent to
 * it, and how many blocks each side still lacks of what the other holds. `replicationStats(stream)`
 * is the public read of it, for any stream `replicate()` returned (Multifeed's, Kappa's, Hyperlog's
 * — they are the same stream).
 *
 * The counting is stream-stats.ts (internal: it handles Hypercore's objects, which the public
 * declarations never name).
 */
import type { Duplex } from 'node:stream'
import { KappaError } from '../../errors.js'
import { ReplicationTransport } from './transport.js'

/** A snapshot of one replication stream's traffic. */
export interface ReplicationStats {
  /** Blocks downloaded from this peer (verified), and their bytes. */
  readonly blocksReceived: number
  readonly bytesReceived: number
  /** Blocks uploaded to this peer, and their bytes. */
  readonly blocksSent: number
  readonly bytesSent: number
  /**
   * Blocks the peer holds that we do not, summed over the feeds whose Hypercore channel is open on
   * this stream, as the peer last reported them (0 until it has). Our progress still to come.
   */
  readonly blocksToReceive: number
  /** Blocks we hold that the peer does not, over the same feeds: the peer's progress still to come. */
  readonly blocksToSend: number
  /** Feeds whose Hypercore channel is open on this stream. */
  readonly feeds: number
}

/**
 * What moved on `stream` so far: a stream `replicate()` returned (of a Multifeed, Kappa, Hyperlog
 * or HyperKV's log). Readable at any time, also after the stream closed; anything else throws
 * `ERR_INVALID_ARGUMENT`.
 */
export function replicationStats(stream: Duplex): ReplicationStats {
  if (!(stream instanceof ReplicationTransport)) {
    throw KappaError.invalid('replicationStats needs a stream that replicate() returned')
  }
  return stream.stats.snapshot()
}
