/**
 * Replication on an encrypted connection someone else opened (a Hyperswarm connection): Corestore
 * and the multifeed channel use the connection's own Noise stream and protomux muxer, so no second
 * handshake runs and every byte is encrypted once. What the preamble does on a raw stream — refuse
 * a peer of another version — is done by a preamble with role 'connection' as the first message
 * inside the connection.
 */
import { randomBytes } from 'node:crypto'
import type { NoiseSecretStream } from '@hyperswarm/secret-stream'
import { KappaError } from '../../errors.js'
import {
  PREAMBLE_BYTES,
  PREAMBLE_MAGIC,
  PROTOCOL_VERSION,
  decodePreamble,
  encodePreamble,
} from '../messages.js'

/**
 * Whether `value` is an encrypted connection (`@hyperswarm/secret-stream`'s NoiseSecretStream,
 * what Hyperswarm and HyperDHT hand out): a stream that is its own Noise stream.
 */
export function isEncryptedConnection(value: unknown): value is NoiseSecretStream {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { noiseStream?: unknown }).noiseStream === value &&
    typeof (value as { isInitiator?: unknown }).isInitiator === 'boolean'
  )
}

/**
 * Sends our version as the connection's first message and checks the peer's first message as its
 * version: another version, or a preamble of a peer that runs its own Noise stream inside the
 * connection (a raw-stream replication piped into it), calls `refused` with ERR_VERSION_MISMATCH
 * or ERR_PROTOCOL. Call it before anything else uses the connection: the peer's protomux ignores
 * our preamble (it names no channel), and ours must not have seen the peer's first message yet.
 * A first message that is no preamble (a peer that used the connection for something else first)
 * is left to the hello, which carries the version too.
 */
export function watchVersion(connection: NoiseSecretStream, refused: (err: KappaError) => void): void {
  connection.write(encodePreamble({ version: PROTOCOL_VERSION, role: 'connection', nonce: randomBytes(32) }))
  const first = (data: Buffer): void => {
    connection.off('data', first)
    if (data.byteLength !== PREAMBLE_BYTES || !data.subarray(0, 4).equals(PREAMBLE_MAGIC)) return
    try {
      const preamble = decodePreamble(data)
      if (preamble.role !== 'connection') {
        throw new KappaError(
          'ERR_PROTOCOL',
          'the peer runs its own Noise stream inside this encrypted connection: give its replicate() the connection',
        )
      }
    } catch (err) {
      refused(err as KappaError)
    }
  }
  connection.on('data', first)
}
