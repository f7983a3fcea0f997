/**
 * Hyperswarm topics are 32 bytes. kappadb derives them by hashing, with a label per kind so a name
 * and a key never collide, and so a topic published on the DHT reveals neither the name's owner's
 * database key nor anything that lets a stranger replicate (the database key stays secret).
 */
import crypto from 'hypercore-crypto'
import { KappaError } from '../errors.js'

declare const topicBrand: unique symbol
/** A 32-byte Hyperswarm topic. */
export type Topic = Buffer & { readonly [topicBrand]: true }

const NAME_LABEL = Buffer.from('kappadb/topic/name/v1')
const KEY_LABEL = Buffer.from('kappadb/topic/database-key/v1')

/** The topic for a human-chosen name (`hyperkv join NAME`): every peer using the name meets. */
export function topicFromName(name: string): Topic {
  if (typeof name !== 'string' || name.length === 0)
    throw KappaError.invalid('topic name must be a non-empty string')
  return crypto.hash([NAME_LABEL, Buffer.from(name, 'utf-8')]) as Topic
}

/** The topic for a database key: every replica of that database meets there. */
export function topicFromKey(key: Uint8Array): Topic {
  if (!(key instanceof Uint8Array) || key.byteLength !== 32)
    throw KappaError.invalid('database key must be 32 bytes')
  return crypto.hash([KEY_LABEL, Buffer.from(key)]) as Topic
}

/** What `join` accepts as a topic: a name (hashed), or 32 bytes used as they are. */
export type TopicInput = string | Uint8Array

export function toTopic(input: TopicInput): Topic {
  if (typeof input === 'string') return topicFromName(input)
  if (input instanceof Uint8Array && input.byteLength === 32) return Buffer.from(input) as Topic
  throw KappaError.invalid('topic must be a name or 32 bytes')
}
