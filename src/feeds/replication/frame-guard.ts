/**
 * Checks the framing of the bytes a peer sends, before the Noise layer sees them. The secret
 * stream frames every message with a 3-byte little-endian length; fed an absurd length during the
 * handshake it would allocate up to 16 MiB and wait forever. Handshake frames are tiny, so any of
 * the first ones above HANDSHAKE_FRAME_LIMIT is refused at once; a stream that ends in the middle
 * of a frame is refused too (a truncated frame).
 */
import { KappaError } from '../../errors.js'

/** Noise XX messages and the stream-id header are well under this. */
export const HANDSHAKE_FRAME_LIMIT = 4096

export class FrameGuard {
  /** Frames still bound by the handshake limit. */
  #handshakeFrames: number
  /** Bytes of the current length prefix read so far (0–2), and the prefix value being built. */
  #prefixBytes = 0
  #prefix = 0
  /** Payload bytes still expected for the current frame. */
  #remaining = 0

  /** The Noise initiator receives 2 handshake frames (msg 2, header); the responder 3. */
  constructor(handshakeFrames: number) {
    this.#handshakeFrames = handshakeFrames
  }

  /** Throws ERR_PROTOCOL when `chunk` breaks the framing rules. */
  check(chunk: Uint8Array): void {
    let offset = 0
    while (offset < chunk.byteLength) {
      if (this.#remaining > 0) {
        const take = Math.min(this.#remaining, chunk.byteLength - offset)
        this.#remaining -= take
        offset += take
        continue
      }
      this.#prefix += chunk[offset++] * 256 ** this.#prefixBytes
      if (++this.#prefixBytes < 3) continue
      const length = this.#prefix
      this.#prefix = 0
      this.#prefixBytes = 0
      if (this.#handshakeFrames > 0) {
        this.#handshakeFrames--
        if (length > HANDSHAKE_FRAME_LIMIT) {
          throw new KappaError('ERR_PROTOCOL', `oversized handshake frame (${length} bytes)`)
        }
      }
      this.#remaining = length
    }
  }

  /** True when the stream stopped inside a frame. */
  get partial(): boolean {
    return this.#prefixBytes > 0 || this.#remaining > 0
  }
}
