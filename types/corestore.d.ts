// Declarations for the parts of corestore 7 kappadb calls. Corestore ships no types.
declare module 'corestore' {
  import type { EventEmitter } from 'node:events'
  import type { Duplex } from 'node:stream'
  import type Hypercore from 'hypercore'
  import type { CompatManifest, KeyPair } from 'hypercore'
  import type { NoiseSecretStream } from '@hyperswarm/secret-stream'

  export interface CorestoreOptions {
    /** Wait for the storage lock instead of failing. */
    wait?: boolean
    readOnly?: boolean
  }

  export interface CorestoreGetOptions {
    name?: string
    key?: Buffer | string
    keyPair?: KeyPair
    manifest?: CompatManifest
    /** false: the core is not announced to peers (not replicated). */
    active?: boolean
    inflightRange?: [number, number]
    /** Reject with STORAGE_EMPTY instead of creating a missing core. */
    createIfMissing?: boolean
    wait?: boolean
    timeout?: number
  }

  /** The outer stream of `replicate()`: a secret-stream bridge whose `noiseStream` carries Protomux. */
  export interface ReplicationStream extends Duplex {
    noiseStream: NoiseSecretStream
  }

  export default class Corestore extends EventEmitter {
    constructor(storage: string, opts?: CorestoreOptions)
    readonly opened: boolean
    readonly closed: boolean
    readonly closing: Promise<void> | null
    ready(): Promise<void>
    close(): Promise<void>
    get(opts: CorestoreGetOptions | Buffer | string): Hypercore
    namespace(name: string | Buffer): Corestore
    session(): Corestore
    replicate(isInitiator: boolean | Duplex, opts?: { keepAlive?: boolean }): ReplicationStream
    /** Calls `fn` with the internal core of every Hypercore opened in the store from now on. */
    watch(fn: (core: unknown) => void): void
    unwatch(fn: (core: unknown) => void): void
  }
}
