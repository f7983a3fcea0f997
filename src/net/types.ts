/**
 * Public types of the net layer: joining a Hyperswarm topic and replicating with every peer found.
 */
import type { Duplex } from 'node:stream'
import type HyperDHT from 'hyperdht'
import type { KeyPair } from 'hyperdht'
import type { NoiseSecretStream } from '@hyperswarm/secret-stream'
import type { BootstrapInput } from './bootstrap.js'

/** A peer we are connected to. */
export interface JoinPeer {
  /** The peer's swarm public key (not a feed key). */
  readonly publicKey: Buffer
  /** Hex form of `publicKey`. */
  readonly id: string
  /** true when we dialled the peer, false when it dialled us. */
  readonly client: boolean
}

/**
 * Turns one encrypted connection into a replication stream. Return the socket's own replication
 * (Hypercore/Corestore/Multifeed given the socket return it, or a stream that uses it) or a
 * separate Duplex: the latter is piped to the socket both ways.
 */
export type ReplicateConnection = (socket: NoiseSecretStream, peer: JoinPeer) => Duplex

export interface JoinOptions {
  replicate: ReplicateConnection
  /** DHT bootstrap nodes (`'host:port,…'` or a list); default `$HYPERKV_BOOTSTRAP`, else the public ones. */
  bootstrap?: BootstrapInput
  /** Use this DHT node instead of creating one (tests: `testnet.createNode()`); destroyed on leave. */
  dht?: HyperDHT
  /** The swarm's identity; default a fresh one. */
  keyPair?: KeyPair
  /** Announce ourselves so peers connect to us (default true). */
  server?: boolean
  /** Look peers up and connect to them (default true). */
  client?: boolean
  /** Most peers connected at once (default Hyperswarm's 64). */
  maxPeers?: number
  /**
   * Delays (ms) between extra announce + lookup rounds after the first. Peers that start together
   * look each other up before any has announced; these rounds let them meet in about a second.
   * After the last one Hyperswarm's own refresh (every ~10 minutes) takes over.
   * Default `[1000, 2000, 4000, 8000, 16000, 32000]`.
   */
  rediscover?: readonly number[]
  /** Where `HYPERKV_BOOTSTRAP` is read from (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>
}

export interface JoinEvents {
  /** A peer connected and its replication stream started. */
  connection: [peer: JoinPeer]
  /** A peer's connection closed; `err` is the first error its socket or replication stream raised. */
  disconnection: [peer: JoinPeer, err: Error | null]
  /** An announce + lookup round completed (the first, and each `rediscover` round). */
  discovered: []
  /**
   * No DHT bootstrap node answered a round of pings (the first round ends within ~5 s). The swarm
   * keeps trying; `'online'` follows once one answers.
   */
  offline: []
  /** A bootstrap node answers (the first time, or again after `'offline'`); peers are looked up anew. */
  online: []
}
