/**
 * The Duplex `replicate()` returns. Over a raw stream it carries the clear-text preamble
 * (messages.ts) that settles the Noise roles and refuses foreign peers and other versions, checks
 * the peer's framing (frame-guard.ts), and passes everything else to an inner raw stream that the
 * Noise secret stream runs over. On an encrypted connection (`replicate(socket)`, a Hyperswarm
 * connection) it carries no bytes: the replication runs on the connection's own Noise stream and
 * muxer, and this stream only reports on it (its end follows the connection's ends; `finished()`,
 * the events, the stats). Every error on it is a KappaError with a code.
 */
import { randomBytes } from 'node:crypto'
import { Duplex } from 'node:stream'
import { KappaError } from '../../errors.js'
import {
  PREAMBLE_BYTES,
  PROTOCOL_VERSION,
  decodePreamble,
  encodePreamble,
  type Preamble,
  type PreambleRole,
} from '../messages.js'
import type { NoiseSecretStream } from '@hyperswarm/secret-stream'
import { FrameGuard } from './frame-guard.js'
import { ReplicationOutcome } from './outcome.js'
import type { StreamStats } from './stream-stats.js'

/** The preamble, the Noise handshake and the channel opening must be done within this. */
export const HANDSHAKE_TIMEOUT = 10_000

type Release = (() => void) | null

/** What a transport runs over: a raw stream it frames itself, or an encrypted connection. */
export type TransportCarrier =
  { kind: 'raw'; role: PreambleRole } | { kind: 'connection'; connection: NoiseSecretStream }

export class ReplicationTransport extends Duplex {
  /** The raw side the Noise stream runs over (null on a connection, which has its own). */
  readonly inner: Duplex | null
  /** The encrypted connection the replication runs on; null when this stream carries it. */
  readonly connection: NoiseSecretStream | null
  /** What moved on this stream (read through `replicationStats`). */
  readonly stats: StreamStats
  /** How the replication ended (`finished()`), as the session reports it. */
  readonly outcome: ReplicationOutcome
  readonly #own: Preamble | null
  readonly #onRoles: (isInitiator: boolean) => void
  #received: Buffer | null = Buffer.alloc(0)
  #guard: FrameGuard | null = null
  #handshakeTimer: NodeJS.Timeout | null
  /** The Noise handshake is through: from then on the session judges how the peer's end came. */
  #secured = false
  #_rawGone = false
  /** Backpressure in each direction: the callback to call once the other side reads again. */
  #releaseIn: Release = null
  #releaseOut: Release = null

  constructor(
    carrier: TransportCarrier,
    onRoles: (isInitiator: boolean) => void,
    stats: StreamStats,
    live: boolean,
  ) {
    super({ allowHalfOpen: true })
    this.stats = stats
    this.outcome = new ReplicationOutcome(this, live)
    this.once('close', () => stats.detach())
    this.#onRoles = onRoles
    this.#handshakeTimer = setTimeout(() => {
      this.destroy(new KappaError('ERR_TIMEOUT', 'the peer did not complete the handshake in time'))
    }, HANDSHAKE_TIMEOUT)
    this.#handshakeTimer.unref()
    if (carrier.kind === 'connection') {
      this.connection = carrier.connection
      this.#own = null
      this.inner = null
      this.#received = null
      // Nothing is ever read from it; flowing, its end is seen without a reader.
      this.resume()
      return
    }
    this.connection = null
    this.#own = { version: PROTOCOL_VERSION, role: carrier.role, nonce: randomBytes(32) }
    this.inner = new Duplex({
      allowHalfOpen: true,
      write: (chunk: Buffer, _enc, cb) => {
        if (this.push(chunk)) cb()
        else this.#releaseOut = cb
      },
      final: (cb) => {
        this.push(null)
        cb()
      },
      read: () => this.#release('in'),
    })
    this.inner.on('error', () => undefined) // surfaced through the Noise stream and this one
    this.push(encodePreamble(this.#own))
  }

  /**
   * On a connection: its ends become this stream's — the peer's end finishes our writable side,
   * our end going out ends our readable side — and its close is the raw side's. Called once the
   * session listens to the connection itself, so the session judges a close first.
   */
  followConnection(): void {
    const connection = this.connection
    if (!connection) return
    const closed = (): void => {
      this.rawClosed()
      // Closed without both ends (destroyed, reset, timed out): the session has judged it.
      if (!this.destroyed) this.destroy()
    }
    if (connection.destroyed) return closed()
    connection.once('end', () => this.end())
    connection.once('finish', () => this.push(null))
    connection.once('close', closed)
  }

  /** See `ReplicationStream.finished`. */
  finished(): Promise<void> {
    return this.outcome.settled()
  }

  /** The Noise handshake is through (the secret stream sends and receives). */
  noiseReady(): void {
    this.#secured = true
  }

  /** The raw stream under us (a socket) has closed: nothing we write reaches the peer any more. */
  rawClosed(): void {
    if (this.#_rawGone) return
    this.#_rawGone = true
    this.emit('raw-close')
  }

  get rawGone(): boolean {
    return this.#_rawGone
  }

  /** The channel is open: the handshake deadline no longer applies. */
  handshakeDone(): void {
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer)
    this.#handshakeTimer = null
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.connection) {
      return cb(KappaError.invalid('a replication on a connection carries no bytes: do not pipe it'))
    }
    try {
      if (this.#received !== null) {
        this.#received = Buffer.concat([this.#received, chunk])
        if (this.#received.byteLength < PREAMBLE_BYTES) return cb()
        const rest = this.#received.subarray(PREAMBLE_BYTES)
        this.#settleRoles(decodePreamble(this.#received.subarray(0, PREAMBLE_BYTES)))
        this.#received = null
        if (rest.byteLength === 0) return cb()
        chunk = rest
      }
      this.#guard?.check(chunk)
    } catch (err) {
      return cb(err as Error)
    }
    if (this.inner?.push(chunk)) cb()
    else this.#releaseIn = cb
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.connection) return cb()
    // The secret stream waits for the rest of a handshake even after its raw stream ended: a peer
    // that hung up inside the handshake would otherwise be noticed only at the 10 s deadline.
    if (!this.#secured) {
      return cb(new KappaError('ERR_PROTOCOL', 'the peer ended the stream before the handshake'))
    }
    if (this.#guard?.partial)
      return cb(new KappaError('ERR_PROTOCOL', 'the peer ended the stream inside a frame'))
    this.inner?.push(null)
    cb()
  }

  override _read(): void {
    this.#release('out')
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.handshakeDone()
    this.#releaseIn = null
    this.#releaseOut = null
    this.inner?.destroy()
    cb(err)
  }

  #release(which: 'in' | 'out'): void {
    const release = which === 'in' ? this.#releaseIn : this.#releaseOut
    if (which === 'in') this.#releaseIn = null
    else this.#releaseOut = null
    release?.()
  }

  #settleRoles(remote: Preamble): void {
    if (!this.#own) throw new KappaError('ERR_PROTOCOL', 'no preamble on a connection')
    const isInitiator = decideInitiator(this.#own, remote)
    // The responder receives Noise messages 1 and 3 and the header; the initiator message 2 and the header.
    this.#guard = new FrameGuard(isInitiator ? 2 : 3)
    this.#onRoles(isInitiator)
  }
}

function decideInitiator(own: Preamble, remote: Preamble): boolean {
  if (remote.role === 'connection') {
    throw new KappaError(
      'ERR_PROTOCOL',
      "the peer replicates on its connection's own encryption: give replicate() the encrypted connection",
    )
  }
  if (own.role !== 'negotiate' && remote.role !== 'negotiate') {
    if (own.role === remote.role) {
      throw new KappaError('ERR_PROTOCOL', `both sides asked to be the Noise ${own.role}`)
    }
    return own.role === 'initiator'
  }
  if (own.role !== 'negotiate') return own.role === 'initiator'
  if (remote.role !== 'negotiate') return remote.role === 'responder'
  const order = Buffer.compare(own.nonce, remote.nonce)
  if (order === 0) throw new KappaError('ERR_PROTOCOL', 'the stream is connected to itself')
  return order > 0
}
