/**
 * hyperlog's node hash: a "framed" digest where every part is preceded by its byte length and a
 * newline, so `["ab"], "c"` and `["a"], "bc"` differ. Links first (in the order given), then the
 * encoded value. Identity, signature, log and seq are not hashed.
 */
import crypto, { createHash } from 'node:crypto'
import { KappaError } from '../errors.js'
import { toError } from '../util/errors.js'
import type { AsyncHashFunction, HashFunction, NodeHash } from './types.js'

/** A framed hash over any algorithm node:crypto knows (`'sha256'`, `'sha1'`, …). */
export function framedHash(algorithm: string): HashFunction {
  return (links, value) => {
    let head = ''
    for (const link of links) head += `${Buffer.byteLength(link)}\n${link}`
    head += `${value.byteLength}\n`
    // The framed bytes at once: one native call per node instead of a Hash object and an update
    // per part (node ≥ 20.12 has crypto.hash; before it, the object).
    const headLength = Buffer.byteLength(head)
    const framed = Buffer.allocUnsafe(headLength + value.byteLength)
    framed.write(head, 0)
    framed.set(value, headLength)
    if (oneShot) return oneShot(algorithm, framed, 'hex')
    return createHash(algorithm).update(framed).digest('hex')
  }
}

const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'hex') => string }).hash

/** hyperlog's default: framed sha256, hex. */
export const defaultHash: HashFunction = framedHash('sha256')

/** Computes node keys with the log's hook: `asyncHash` wins over `hash`, else the default. */
export class NodeHasher {
  readonly #hash: HashFunction
  readonly #asyncHash: AsyncHashFunction | undefined

  constructor(hash?: HashFunction, asyncHash?: AsyncHashFunction) {
    this.#hash = hash ?? defaultHash
    this.#asyncHash = asyncHash
  }

  /** True when hashing needs no callback, so a whole batch can be hashed in one loop. */
  get synchronous(): boolean {
    return this.#asyncHash === undefined
  }

  hashSync(links: string[], value: Buffer): NodeHash {
    return checked(this.#hash(links, value))
  }

  hash(links: string[], value: Buffer): Promise<NodeHash> {
    const asyncHash = this.#asyncHash
    if (!asyncHash) {
      try {
        return Promise.resolve(this.hashSync(links, value))
      } catch (err) {
        return Promise.reject(toError(err))
      }
    }
    return new Promise((resolve, reject) => {
      try {
        asyncHash(links, value, (err, key) => {
          if (err) reject(err)
          else {
            try {
              resolve(checked(key))
            } catch (e) {
              reject(e)
            }
          }
        })
      } catch (err) {
        reject(toError(err))
      }
    })
  }
}

function checked(key: unknown): NodeHash {
  if (typeof key !== 'string' || key.length === 0) {
    throw new KappaError('ERR_INVALID_ARGUMENT', 'the hash function must return a non-empty string')
  }
  return key as NodeHash
}
