/**
 * The counters behind `replicationStats`: one listener pair per core for the whole Multifeed (not
 * per stream). Hypercore's `'download'` and `'upload'` events name the peer, and the peer names the
 * Noise stream it is on, which maps to that stream's counters; so a core costs two listeners
 * however many peers it has.
 */
import type Hypercore from 'hypercore'
import { peerContiguousLength, streamOfPeer } from '../dependency-internals.js'
import type { ReplicationStats } from './stats.js'

/** One stream's counters; `attach` links it to its Noise stream once the roles are settled. */
export class StreamStats {
  blocksReceived = 0
  bytesReceived = 0
  blocksSent = 0
  bytesSent = 0
  #noise: object | null = null
  /** Called for every block uploaded on this stream. */
  onUpload: () => void = () => undefined
  readonly #hub: StatsHub

  constructor(hub: StatsHub) {
    this.#hub = hub
  }

  /** The Noise stream this replication runs on: blocks moved on it count here from now on. */
  attach(noise: object, onUpload?: () => void): void {
    if (this.#noise) return
    this.#noise = noise
    if (onUpload) this.onUpload = onUpload
    this.#hub.register(noise, this)
  }

  /** The stream closed: stop counting (the numbers stay readable). */
  detach(): void {
    if (this.#noise) this.#hub.unregister(this.#noise)
  }

  snapshot(): ReplicationStats {
    let blocksToReceive = 0
    let blocksToSend = 0
    let feeds = 0
    if (this.#noise) {
      for (const core of this.#hub.cores) {
        const theirs = peerContiguousLength(core, this.#noise)
        if (theirs === null) continue
        feeds++
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
  readonly #streams = new Map<object, StreamStats>()

  readonly #onDownload = (_index: number, bytes: number, from: unknown): void => {
    const stats = this.#streamOf(from)
    if (!stats) return
    stats.blocksReceived++
    stats.bytesReceived += bytes
  }

  readonly #onUpload = (_index: number, bytes: number, from: unknown): void => {
    const stats = this.#streamOf(from)
    if (!stats) return
    stats.blocksSent++
    stats.bytesSent += bytes
    stats.onUpload()
  }

  streamStats(): StreamStats {
    return new StreamStats(this)
  }

  /** A core session of the Multifeed (called as each opens; it is let go when it closes). */
  watch(core: Hypercore): void {
    if (this.cores.has(core)) return
    this.cores.add(core)
    core.on('download', this.#onDownload)
    core.on('upload', this.#onUpload)
    core.once('close', () => this.unwatch(core))
  }

  unwatch(core: Hypercore): void {
    if (!this.cores.delete(core)) return
    core.off('download', this.#onDownload)
    core.off('upload', this.#onUpload)
  }

  register(noise: object, stats: StreamStats): void {
    this.#streams.set(noise, stats)
  }

  unregister(noise: object): void {
    this.#streams.delete(noise)
  }

  #streamOf(from: unknown): StreamStats | undefined {
    if (this.#streams.size === 0) return undefined
    const stream = streamOfPeer(from)
    return stream === null ? undefined : this.#streams.get(stream)
  }
}
