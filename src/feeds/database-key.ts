/**
 * The database key ("encryption key" in multifeed): peers replicate only when theirs match. Without
 * one a store uses multifeed's well-known open key, so every open store replicates with every other.
 */
import crypto from 'hypercore-crypto'
import { KappaError } from '../errors.js'

/** multifeed's default root key: stores opened without a key all share it. */
export const OPEN_DATABASE_KEY = Buffer.from(
  'bee80ff3a4ee5e727dc44197cb9d25bf8f19d50b0f3ad2984cfe5b7d14e75de7',
  'hex',
)

/** 32 bytes, or 64 hex characters → a fresh 32-byte Buffer. */
export function toDatabaseKey(key: Buffer | Uint8Array | string | undefined): Buffer {
  if (key === undefined) return Buffer.from(OPEN_DATABASE_KEY)
  if (typeof key === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(key)) throw KappaError.invalid('database key must be 64 hex characters')
    return Buffer.from(key, 'hex')
  }
  if (key instanceof Uint8Array && key.byteLength === 32) return Buffer.from(key)
  throw KappaError.invalid('database key must be 32 bytes or 64 hex characters')
}

/** Where this database's cores live inside a Corestore: distinct per database key. */
export function namespaceOf(key: Buffer): string {
  return `kappadb/multifeed/${crypto.discoveryKey(key).toString('hex')}`
}

/** A feed key given as a Buffer or 64 hex characters. */
export function toFeedKey(key: unknown): Buffer {
  if (typeof key === 'string' && /^[0-9a-fA-F]{64}$/.test(key)) return Buffer.from(key, 'hex')
  if (key instanceof Uint8Array && key.byteLength === 32) return Buffer.from(key)
  throw KappaError.invalid('feed key must be 32 bytes or 64 hex characters')
}
