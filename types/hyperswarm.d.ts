// Declarations for the parts of hyperswarm 4 kappadb calls. Hyperswarm ships no types.
declare module 'hyperswarm' {
  import { EventEmitter } from 'node:events'
  import type HyperDHT from 'hyperdht'
  import type { KeyPair, NodeAddress } from 'hyperdht'
  import type { NoiseSecretStream } from '@hyperswarm/secret-stream'

  export interface HyperswarmOptions {
    /** Use this DHT node (it is destroyed with the swarm); else one is created from `bootstrap`. */
    dht?: HyperDHT
    /** Bootstrap nodes of the DHT the swarm creates; ignored when `dht` is given. */
    bootstrap?: Array<NodeAddress | string>
    keyPair?: KeyPair
    seed?: Buffer
    /** Most connections kept at once (default 64). */
    maxPeers?: number
    /** Most connection attempts in flight (default 3). */
    maxParallel?: number
    /** Return true to refuse a peer. */
    firewall?: (remotePublicKey: Buffer, payload: unknown) => boolean
  }

  /** What the swarm knows about one remote peer. */
  export interface PeerInfo extends EventEmitter {
    readonly publicKey: Buffer
    /** Topics this peer was found under (empty for a peer that connected to us). */
    readonly topics: Buffer[]
    /** true when we dialled the peer, false when it connected to our server. */
    readonly client: boolean
    readonly server: boolean
    readonly banned: boolean
    readonly explicit: boolean
    /** Failed connection attempts since the last good connection. */
    readonly attempts: number
    reconnect(value: boolean): void
    ban(value: boolean): void
  }

  export interface JoinOptions {
    /** Announce ourselves under the topic, so peers can connect to us (default true). */
    server?: boolean
    /** Look the topic up and connect to the peers found (default true). */
    client?: boolean
    limit?: number
  }

  /** One `join()` of a topic; destroying it leaves the topic (for this session). */
  export interface PeerDiscoverySession {
    readonly topic: Buffer
    readonly isClient: boolean
    readonly isServer: boolean
    readonly destroyed: boolean
    /** Announce and look up again now. */
    refresh(opts?: JoinOptions): Promise<boolean | undefined>
    /** Resolves once the first announce and lookup have completed. */
    flushed(): Promise<boolean>
    destroy(): Promise<void>
  }

  export interface HyperswarmEvents {
    /** An encrypted connection to a peer, ready to carry a replication protocol. */
    connection: [socket: NoiseSecretStream, peerInfo: PeerInfo]
    update: []
    ban: [peerInfo: PeerInfo, err: Error]
  }

  export default class Hyperswarm extends EventEmitter<HyperswarmEvents> {
    constructor(opts?: HyperswarmOptions)
    readonly dht: HyperDHT
    readonly keyPair: KeyPair
    readonly destroyed: boolean
    readonly suspended: boolean
    /** Open connections (NoiseSecretStreams). */
    readonly connections: Set<NoiseSecretStream>
    /** Known peers by hex public key. */
    readonly peers: Map<string, PeerInfo>
    readonly connecting: number
    join(topic: Buffer, opts?: JoinOptions): PeerDiscoverySession
    leave(topic: Buffer): Promise<void>
    joinPeer(publicKey: Buffer): void
    leavePeer(publicKey: Buffer): void
    listen(): Promise<void>
    /** Resolves once every pending announce, lookup and connection attempt has settled. */
    flush(): Promise<boolean>
    destroy(opts?: { force?: boolean }): Promise<void>
  }
}
