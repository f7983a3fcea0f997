/**
 * `joinLive(store)`: `join` with the store's own live replication, on the topic of its database
 * key unless a topic is given. The stores do not import this module (nor Hyperswarm): an app that
 * never joins a swarm never loads one.
 */
import type { Duplex } from 'node:stream'
import { KappaError } from '../errors.js'
import { join, type Join } from './join.js'
import { topicFromKey, type TopicInput } from './topic.js'
import type { JoinOptions, SecretStreamLike } from './types.js'

/**
 * A store with kappadb's `key` and `replicate(connection, { live })`: Multifeed, Kappa, Hyperlog.
 * Given the encrypted connection, the replication runs on its own Noise stream and muxer.
 */
export interface LiveReplicable {
  readonly key: Uint8Array
  replicate(connection: SecretStreamLike, opts: { live: boolean }): Duplex
}

export type JoinLiveOptions = Omit<JoinOptions, 'replicate'>

/**
 * `joinLive(store, topic?, opts?)`, also `joinLive(store, opts)`. The swarm's connection is
 * already encrypted and knows its role; the store's replication runs on it, with no second
 * handshake or encryption.
 */
export function joinLive(
  store: LiveReplicable,
  topic?: TopicInput | JoinLiveOptions,
  opts?: JoinLiveOptions,
): Join {
  if (store === null || typeof store !== 'object' || typeof store.replicate !== 'function') {
    throw KappaError.invalid('joinLive(store): store must have replicate() and a database key')
  }
  if (isOptions(topic)) {
    if (opts !== undefined)
      throw KappaError.invalid('joinLive(store, topic, opts): topic must be a name or 32 bytes')
    return joinLive(store, undefined, topic)
  }
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
    throw KappaError.invalid('join options must be an object')
  }
  if (opts !== undefined && Object.hasOwn(opts, 'replicate')) {
    throw KappaError.invalid("joinLive options: replicate is the store's own (use join for another)")
  }
  return join(topic ?? topicFromKey(store.key), {
    ...opts,
    replicate: (socket) => store.replicate(socket, { live: true }),
  })
}

function isOptions(value: unknown): value is JoinLiveOptions {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array)
}
