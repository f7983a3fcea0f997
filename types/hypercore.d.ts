// Declarations for the parts of hypercore 11 kappadb calls. Hypercore ships no types.
declare module 'hypercore' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'
  import type Protomux from 'protomux'

  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }

  /** A version-0 manifest: one ed25519 signer whose public key is the core key (hypercore 9 style). */
  export interface CompatManifest {
    version: 0
    signers: Array<{ publicKey: Buffer }>
  }

  export interface HypercorePeer {
    /** The replication stream this peer is on. */
    readonly stream: unknown
    remoteLength: number
    remoteContiguousLength: number
  }

  export interface TreeNode {
    index: number
    size: number
    hash: Buffer
  }

  /** A Merkle proof (`core.proof()`); with `upgrade.start` 0 and no block, a "fully remote" one. */
  export interface Proof {
    fork: number
    block: unknown
    hash: unknown
    seek: unknown
    upgrade: {
      start: number
      length: number
      /** From 0: the roots of the tree at `length`. */
      nodes: TreeNode[]
      /** Nodes from `length` up to the signed length the signature is for. */
      additionalNodes: TreeNode[]
      signature: Buffer | null
    } | null
    manifest: unknown
  }

  export interface DownloadRange {
    start?: number
    /** Exclusive end; -1 keeps the range open (live). */
    end?: number
    blocks?: number[]
    linear?: boolean
  }

  export interface Download {
    ready(): Promise<void>
    /** Resolves once the range is downloaded, and also when the download is destroyed. */
    done(): Promise<void>
    destroy(): void
  }

  export interface HypercoreGetOptions {
    /** Wait for the block to arrive from a peer (default true). */
    wait?: boolean
    timeout?: number
  }

  export interface HypercoreEvents {
    append: []
    close: []
    ready: []
    download: [index: number, byteLength: number, from: unknown]
    upload: [index: number, byteLength: number, from: unknown]
    'peer-add': [peer: HypercorePeer]
    'peer-remove': [peer: HypercorePeer]
    'verification-error': [err: Error, req: unknown, res: unknown, from: HypercorePeer | null]
  }

  export default class Hypercore extends EventEmitter<HypercoreEvents> {
    /** The key of the core a manifest describes (its hash; the public key itself with `compat`). */
    static key(
      manifest: { version?: number; signers: Array<{ publicKey: Buffer; namespace?: Buffer }> },
      opts?: { compat?: boolean },
    ): Buffer
    static discoveryKey(key: Buffer): Buffer
    static getProtocolMuxer(stream: Duplex): Protomux
    static MAX_SUGGESTED_BLOCK_SIZE: number

    readonly key: Buffer
    readonly discoveryKey: Buffer
    readonly keyPair: KeyPair | null
    readonly id: string
    readonly length: number
    readonly contiguousLength: number
    readonly byteLength: number
    readonly writable: boolean
    readonly readable: boolean
    readonly opened: boolean
    readonly closed: boolean
    readonly closing: Promise<void> | null
    readonly peers: HypercorePeer[]
    readonly fork: number

    ready(): Promise<void>
    close(): Promise<void>
    append(
      blocks: Buffer | Uint8Array | Array<Buffer | Uint8Array>,
    ): Promise<{ length: number; byteLength: number }>
    get(index: number, opts?: HypercoreGetOptions): Promise<Buffer | null>
    has(start: number, end?: number): Promise<boolean>
    /** Frees the stored blocks `[start, end)` (the tree stays: they can be downloaded again). */
    clear(start: number, end?: number): Promise<unknown>
    download(range?: DownloadRange): Download
    update(opts?: { wait?: boolean }): Promise<boolean>
    /** The Merkle tree hash at `length` (default: the signed length); needs block `length - 1`. */
    treeHash(length?: number): Promise<Buffer>
    setUserData(key: string, value: Buffer | Uint8Array | null): Promise<void>
    getUserData(key: string): Promise<Buffer | null>
    proof(opts: { upgrade: { start: number; length: number } }): Promise<Proof>
    /** Throws unless `proof` (fully remote) is signed by this core's writer. */
    verifyFullyRemote(proof: Proof): Promise<unknown>
    setActive(active: boolean): void
    /** Whether every upgrade asked of a peer asks for its newest block too (for the whole core). */
    setAlwaysLatestBlock(enabled: boolean): Promise<void>
    /** Cuts the core to `length` blocks (its fork goes up by one). */
    truncate(length: number): Promise<void>
    /** A session that stays at the core's length now. */
    snapshot(): Hypercore
  }
}
