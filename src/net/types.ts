/**
 * Public types of the net layer: joining a Hyperswarm topic and replicating with every peer found.
 */
import type { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import type { KeyPair } from '../feeds/types.js'
import type { BootstrapInput } from './bootstrap.js'

/*
 * Hyperswarm's objects as the API hands them out or takes them: the members kappadb relies on
 * (the packages ship no types, and kappadb's declarations of them stay inside it).
 */

/** An encrypted connection to a peer (`@hyperswarm/secret-stream`'s NoiseSecretStream). */
export interface SecretStreamLike extends Duplex {
  readonly isInitiator: boolean
  /** The peer's public key once the handshake is done. */
  readonly remotePublicKey: Buffer | null
  readonly handshakeHash: Buffer | null
}

/** A HyperDHT 6 node (`new HyperDHT(opts)`, `testnet.createNode()`): checked at run time. */
export interface HyperDHTLike {
  ready(): Promise<unknown>
  destroy(...args: never[]): Promise<unknown>
}

/** `join.swarm`: the Hyperswarm 4 instance underneath. */
export interface HyperswarmLike extends EventEmitter {
  readonly keyPair: KeyPair
  readonly destroyed: boolean
  /** Open connections. */
  readonly connections: ReadonlySet<SecretStreamLike>
  /** Known peers by hex public key. */
  readonly peers: ReadonlyMap<string, unknown>
  /** Connection attempts in flight. */
  readonly connecting: number
  joinPeer(publicKey: Buffer): void
  leavePeer(publicKey: Buffer): void
  /** Resolves once every pending announce, lookup and connection attempt has settled. */
  flush(): Promise<boolean>
}

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
 * (Hypercore/Corestore given the socket return the socket), a stream that runs on the socket
 * (kappadb's stores given the socket: its `connection` is the socket), or a separate Duplex: only
 * the last is piped to the socket both ways.
 */
export type ReplicateConnection = (socket: SecretStreamLike, peer: JoinPeer) => Duplex

export interface JoinOptions {
  replicate: ReplicateConnection
  /** DHT bootstrap nodes (`'host:port,…'` or a list); default `$HYPERKV_BOOTSTRAP`, else the public ones. */
  bootstrap?: BootstrapInput
  /** Use this DHT node instead of creating one (tests: `testnet.createNode()`); destroyed on leave. */
  dht?: HyperDHTLike
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

/** `'probing'`: no answer yet and no verdict; then whether a bootstrap node answered the last round. */
export type BootstrapState = 'probing' | 'reachable' | 'unreachable'
