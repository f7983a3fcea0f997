/**
 * What `kv.join()` and `core.join()` are: `join` with the store's own live replication, on the
 * topic of its database key unless a topic is given.
 */
import type { Duplex } from 'node:stream'
import { KappaError } from '../errors.js'
import { join, type Join } from './join.js'
import { topicFromKey, type TopicInput } from './topic.js'
import type { JoinOptions } from './types.js'

/** Anything with kappadb's `replicate(isInitiator, { live })`: Multifeed, Kappa, Hyperlog. */
export interface LiveReplicable {
  replicate(isInitiator: boolean, opts: { live: boolean }): Duplex
}

export type JoinLiveOptions = Omit<JoinOptions, 'replicate'>

/**
 * `joinLive(store, databaseKey, topic?, opts?)`, also `joinLive(store, databaseKey, opts)`.
 * The swarm's connection is already encrypted and knows its role; the store's replication runs
 * inside it (piped by `join`).
 */
export function joinLive(
  store: LiveReplicable,
  databaseKey: Uint8Array,
  topic?: TopicInput | JoinLiveOptions,
  opts?: JoinLiveOptions,
): Join {
  if (isOptions(topic)) {
    if (opts !== undefined) throw KappaError.invalid('join(topic, opts): topic must be a name or 32 bytes')
    return joinLive(store, databaseKey, undefined, topic)
  }
  if (opts !== undefined && (opts === null || typeof opts !== 'object')) {
    throw KappaError.invalid('join options must be an object')
  }
  return join(topic ?? topicFromKey(databaseKey), {
    ...opts,
    replicate: (socket) => store.replicate(socket.isInitiator, { live: true }),
  })
}

function isOptions(value: unknown): value is JoinLiveOptions {
  return typeof value === 'object' && value !== null && !(value instanceof Uint8Array)
}
