// Declarations for the parts of hyperdht 6 kappadb calls (the DHT node under Hyperswarm, and the
// local testnet the tests run on). hyperdht ships no types.
declare module 'hyperdht' {
  import { EventEmitter } from 'node:events'
  import type { NoiseSecretStream } from '@hyperswarm/secret-stream'

  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }

  /** A DHT node's UDP address. */
  export interface NodeAddress {
    host: string
    port: number
  }

  export interface HyperDHTOptions {
    /** Nodes to bootstrap from, as `{ host, port }` or `'host:port'`; default the public bootstrap nodes. */
    bootstrap?: Array<NodeAddress | string>
    /** UDP port to bind (default 49737, falling back to any free port). */
    port?: number
    /** Interface to bind, e.g. `'127.0.0.1'` for a loopback-only testnet (default `'0.0.0.0'`). */
    host?: string
    /** true: never become a routing node; false: become one at once (default: adaptive). */
    ephemeral?: boolean
    firewalled?: boolean
    keyPair?: KeyPair
    seed?: Buffer
  }

  export interface HyperDHTEvents {
    'network-change': []
    'network-update': []
    persistent: []
    close: []
  }

  /** `node.createServer(onconnection)`: accepts encrypted connections to the key pair it listens on. */
  export interface HyperDHTServer {
    listen(keyPair?: KeyPair): Promise<void>
    close(): Promise<void>
  }

  export default class HyperDHT extends EventEmitter<HyperDHTEvents> {
    constructor(opts?: HyperDHTOptions)
    static keyPair(seed?: Buffer): KeyPair
    static hash(data: Buffer): Buffer
    readonly defaultKeyPair: KeyPair
    readonly bootstrapNodes: NodeAddress[]
    readonly destroyed: boolean
    readonly online: boolean
    readonly ephemeral: boolean
    readonly firewalled: boolean
    readonly host: string | null
    readonly port: number
    ready(): Promise<void>
    fullyBootstrapped(): Promise<void>
    /** One DHT ping (a UDP round trip, retried); rejects when the node does not answer. */
    ping(node: NodeAddress, opts?: { retry?: boolean }): Promise<unknown>
    /** The bound UDP address. */
    address(): NodeAddress & { family: number }
    destroy(opts?: { force?: boolean }): Promise<void>
    /** An encrypted connection to the server listening on `remotePublicKey`. */
    connect(remotePublicKey: Buffer, opts?: { keyPair?: KeyPair }): NoiseSecretStream
    createServer(onconnection: (socket: NoiseSecretStream) => void): HyperDHTServer
  }
}

declare module 'hyperdht/testnet.js' {
  import type HyperDHT from 'hyperdht'
  import type { HyperDHTOptions, NodeAddress } from 'hyperdht'

  /** A local DHT of `size` routing nodes on 127.0.0.1: no public network involved. */
  export interface Testnet extends Iterable<HyperDHT> {
    readonly nodes: HyperDHT[]
    /** The first node's address: hand it to other processes as their bootstrap. */
    readonly bootstrap: NodeAddress[]
    /** An ephemeral node bound to 127.0.0.1 and bootstrapped from this testnet. */
    createNode(opts?: HyperDHTOptions): HyperDHT
    /** Closes every node's servers, then destroys every node (created ones included). */
    destroy(): Promise<void>
  }

  export default function createTestnet(
    size?: number,
    opts?: {
      host?: string
      port?: number
      bootstrap?: NodeAddress[]
      teardown?: (fn: () => Promise<void>) => void
    },
  ): Promise<Testnet>
}
