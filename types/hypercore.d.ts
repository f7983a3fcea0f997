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
    'verification-error': [err: Error]
  }

  export default class Hypercore extends EventEmitter<HypercoreEvents> {
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

    ready(): Promise<void>
    close(): Promise<void>
    append(
      blocks: Buffer | Uint8Array | Array<Buffer | Uint8Array>,
    ): Promise<{ length: number; byteLength: number }>
    get(index: number, opts?: HypercoreGetOptions): Promise<Buffer | null>
    has(start: number, end?: number): Promise<boolean>
    download(range?: DownloadRange): Download
    update(opts?: { wait?: boolean }): Promise<boolean>
    setActive(active: boolean): void
  }
}
