/**
 * The feed key of a named writer from its signing public key. Corestore signs a named writer's
 * feed with a version-1 manifest naming that one key, so anyone holding the public key computes
 * the feed key (membership derives an admin's writer from the key of its membership log).
 */
import Hypercore from 'hypercore'
import type { FeedKey } from './types.js'

export function writerFeedKey(publicKey: Uint8Array): FeedKey {
  const key = Hypercore.key({ version: 1, signers: [{ publicKey: Buffer.from(publicKey) }] })
  return Buffer.from(key).toString('hex') as FeedKey
}
