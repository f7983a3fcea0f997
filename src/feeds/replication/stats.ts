/**
 * What moved on a replication stream: blocks (and their bytes) received from the peer and sent to
 * it, and how many blocks each side still lacks of what the other holds. `replicationStats(stream)`
 * is the public read of it, for any stream `replicate()` returned (Multifeed's, Kappa's, Hyperlog's
 * — they are the same stream).
 *
 * Counting is one listener pair per core for the whole Multifeed (not per stream): Hypercore's
 * `'download'` and `'upload'` events name the peer, and the peer names the Noise stream it is on,
 * which maps to this stream's counters. So a core costs two listeners however many peers it has.
 */
import type { Duplex } from 'node:stream'
import type Hypercore from 'hypercore'
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

interface PeerLike {
  readonly stream: unknown
  readonly remoteContiguousLength: number
}

/** One stream's counters; `attach` links it to its Noise stream once the roles are settled. */
export class StreamStats {
  blocksReceived = 0
  bytesReceived = 0
  blocksSent = 0
  bytesSent = 0
  private noise: object | null = null

  constructor(private readonly hub: StatsHub) {}

  /** The Noise stream this replication runs on: blocks moved on it count here from now on. */
  attach(noise: object): void {
    if (this.noise) return
    this.noise = noise
    this.hub.register(noise, this)
  }

  /** The stream closed: stop counting (the numbers stay readable). */
  detach(): void {
    if (this.noise) this.hub.unregister(this.noise)
  }

  snapshot(): ReplicationStats {
    let blocksToReceive = 0
    let blocksToSend = 0
    let feeds = 0
    if (this.noise) {
      for (const core of this.hub.cores) {
        const peer = (core.peers as PeerLike[]).find((p) => p.stream === this.noise)
        if (!peer) continue
        feeds++
        const theirs = peer.remoteContiguousLength
        const ours = core.contiguousLength
        if (theirs > ours) blocksToReceive += theirs - ours
        else blocksToSend += ours - theirs
      }
    }
    return {
      blocksReceived: this.blocksReceived,
      bytesReceived: this.bytesReceived,
      blocksSent: this.blocksSent,
      bytesSent: this.bytesSent,
      blocksToReceive,
      blocksToSend,
      feeds,
    }
  }
}

/** Every core of one Multifeed, watched once, dispatching its block events to the stream's counters. */
export class StatsHub {
  readonly cores = new Set<Hypercore>()
  private readonly streams = new Map<object, StreamStats>()

  private readonly onDownload = (_index: number, bytes: number, from: unknown): void => {
    const stats = this.streamOf(from)
    if (!stats) return
    stats.blocksReceived++
    stats.bytesReceived += bytes
  }

  private readonly onUpload = (_index: number, bytes: number, from: unknown): void => {
    const stats = this.streamOf(from)
    if (!stats) return
    stats.blocksSent++
    stats.bytesSent += bytes
  }

  streamStats(): StreamStats {
    return new StreamStats(this)
  }

  /** A core of the Multifeed (called once per feed, as it is added). */
  watch(core: Hypercore): void {
    if (this.cores.has(core)) return
    this.cores.add(core)
    core.on('download', this.onDownload)
    core.on('upload', this.onUpload)
    core.once('close', () => this.unwatch(core))
  }

  unwatch(core: Hypercore): void {
    if (!this.cores.delete(core)) return
    core.off('download', this.onDownload)
    core.off('upload', this.onUpload)
  }

  register(noise: object, stats: StreamStats): void {
    this.streams.set(noise, stats)
  }

  unregister(noise: object): void {
    this.streams.delete(noise)
  }

  private streamOf(from: unknown): StreamStats | undefined {
    if (this.streams.size === 0 || from === null || typeof from !== 'object') return undefined
    const stream = (from as { stream?: unknown }).stream
    return typeof stream === 'object' && stream !== null ? this.streams.get(stream) : undefined
  }
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
