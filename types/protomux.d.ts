// Declarations for the parts of protomux 3 (and the secret stream under it) kappadb calls.
declare module 'protomux' {
  import type { Duplex } from 'node:stream'

  /** A compact-encoding encoder (structurally; compact-encoding does not export its interface). */
  export interface Encoding<M> {
    preencode(state: { start: number; end: number; buffer: Uint8Array | null }, message: M): void
    encode(state: { start: number; end: number; buffer: Uint8Array | null }, message: M): void
    decode(state: { start: number; end: number; buffer: Uint8Array | null }): M
  }

  export interface ProtomuxMessage<M> {
    send(message: M): boolean
  }

  export interface ChannelOptions {
    protocol: string
    id?: Buffer | null
    unique?: boolean
    onopen?: (handshake: unknown, channel: Channel) => void
    onclose?: (isRemote: boolean, channel: Channel) => void
    ondestroy?: (channel: Channel) => void
  }

  export interface Channel {
    readonly protocol: string
    readonly opened: boolean
    readonly closed: boolean
    readonly destroyed: boolean
    addMessage<M>(opts: {
      encoding: Encoding<M>
      onmessage?: (message: M, channel: Channel) => void
    }): ProtomuxMessage<M>
    open(handshake?: unknown): void
    close(): void
    fullyOpened(): Promise<boolean>
    cork(): void
    uncork(): void
  }

  export default class Protomux {
    static from(stream: Duplex): Protomux
    readonly stream: Duplex
    /** How many cork() calls are pending: messages sent meanwhile wait in a batch until 0. */
    readonly corked: number
    cork(): void
    uncork(): void
    createChannel(opts: ChannelOptions): Channel | null
    pair(opts: { protocol: string; id?: Buffer | null }, notify: (id: Buffer | null) => void): void
    unpair(opts: { protocol: string; id?: Buffer | null }): void
    destroy(err?: Error): void
    /** The channels open on this muxer. */
    [Symbol.iterator](): Iterator<Channel>
  }
}

declare module '@hyperswarm/secret-stream' {
  import { Duplex } from 'node:stream'
  import type Protomux from 'protomux'

  export class NoiseSecretStream extends Duplex {
    constructor(isInitiator: boolean, rawStream?: Duplex | null, opts?: Record<string, unknown>)
    readonly isInitiator: boolean
    readonly rawStream: Duplex
    readonly handshakeHash: Buffer | null
    readonly remotePublicKey: Buffer | null
    readonly opened: Promise<boolean>
    userData: Protomux | null
    setTimeout(ms: number): void
    setKeepAlive(ms: number): void
  }
  export default NoiseSecretStream
}
