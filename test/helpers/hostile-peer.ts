/**
 * A hostile peer for the replication tests: it speaks our real protocol — the preamble, Noise
 * (Corestore's own replication stream), the multifeed channel with the key proof, and hello / add /
 * done messages — but with whatever contents a test gives it: claimed lengths no proof backs,
 * random keys, forged tree hashes, offers by the hundred thousand. The cores it serves are real
 * Hypercores it signs itself (`signedCore`), so it can also hold a second history of a key pair.
 *
 *   const evil = await HostilePeer.open(t)
 *   const core = await evil.signedCore(keyPair, ['a', 'b'])
 *   const s = await evil.connect(port)
 *   s.hello([await evil.offer(core), { ...offerOf(core), length: 2 ** 40, signedLength: 2 ** 40 }])
 */
import net from 'node:net'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import Corestore from 'corestore'
import type { ReplicationStream } from 'corestore'
import type Hypercore from 'hypercore'
import type { KeyPair } from 'hypercore'
import type { Channel, ProtomuxMessage } from 'protomux'
import crypto from 'hypercore-crypto'
import { toDatabaseKey } from '../../src/feeds/database-key.js'
import {
  CHANNEL_PROTOCOL,
  OfferList,
  PREAMBLE_BYTES,
  PROTOCOL_VERSION,
  addEncoding,
  doneEncoding,
  encodeBlocks,
  encodePreamble,
  helloEncoding,
  leafEncoding,
  settledEncoding,
  splitEncoding,
  DIGEST_BYTES,
  type HelloMessage,
  type LeafMessage,
  type SettledMessage,
  type SplitMessage,
  proofEncoding,
  treeEncoding,
  treeRequestEncoding,
  type FeedOffer,
  type TreeMessage,
  type TreeRequestMessage,
  type WireMode,
} from '../../src/feeds/messages.js'
import { computeProof } from '../../src/feeds/replication/proof.js'
import { guardForks, treeHashAt, treeMessageOf } from '../../src/feeds/replication/trees.js'

export interface ConnectOptions {
  /** The database key to prove (default: the open key). */
  key?: Buffer
  /** The channel version its hello claims (default: ours). */
  version?: number
  /** The preamble version (default: ours). */
  preambleVersion?: number
  /** Send Noise keep-alives (default true); false makes a silent peer truly silent. */
  keepAlive?: boolean
  /** Answer the honest side's tree requests truthfully (default true); false never answers. */
  answerTrees?: boolean
  /** Sends this instead of the true answer (null: "I cannot") to a tree request. */
  forgeTree?: (request: TreeRequestMessage, truth: TreeMessage | null) => TreeMessage
}

export class HostilePeer {
  readonly store: Corestore
  private readonly sessions = new Set<HostileSession>()

  private constructor(store: Corestore) {
    this.store = store
  }

  /** A hostile peer with its own Corestore in a temp directory, torn down when the test ends. */
  static async open(t: TestContext): Promise<HostilePeer> {
    const dir = await mkdtemp(join(tmpdir(), 'kappadb-hostile-'))
    const peer = new HostilePeer(new Corestore(dir))
    t.after(async () => {
      for (const session of peer.sessions) session.destroy()
      await peer.store.close().catch(() => undefined)
      await rm(dir, { recursive: true, force: true, maxRetries: 3 })
    })
    await peer.store.ready()
    return peer
  }

  /**
   * A real core signed with `keyPair` (version-0 manifest: the feed key is the public key), holding
   * `values` as entries, one block each, in our block format: a Buffer as it is, anything else as JSON.
   */
  async signedCore(keyPair: KeyPair, values: unknown[]): Promise<Hypercore> {
    const core = this.store.get({
      key: keyPair.publicKey,
      keyPair,
      manifest: { version: 0, signers: [{ publicKey: keyPair.publicKey }] },
    })
    await core.ready()
    // Its own Hypercore would print "conflict detected" into the test runner's output.
    guardForks(core, { fork: () => undefined, checked: () => undefined })
    for (const value of values) {
      const entry = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))
      const [block] = encodeBlocks(core.length, [entry])
      await core.append(block)
    }
    return core
  }

  /** The offer an honest peer would make for `core`: its true lengths and tree hash. */
  async offer(core: Hypercore): Promise<FeedOffer> {
    const length = core.length
    return {
      key: core.key,
      length: core.contiguousLength,
      signedLength: length,
      treeHash: await treeHashAt(core, length),
    }
  }

  /** Connects to a store listening on 127.0.0.1:`port`, as the Noise initiator. */
  async connect(port: number, opts: ConnectOptions = {}): Promise<HostileSession> {
    const socket = net.connect(port, '127.0.0.1')
    socket.setNoDelay(true)
    socket.on('error', () => undefined)
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject))
    const session = new HostileSession(this.store, socket, opts)
    this.sessions.add(session)
    void session.closed.then(() => this.sessions.delete(session))
    await session.opened
    return session
  }
}

/** `count` offers of random keys nobody holds, each claiming `length` blocks. */
export function randomOffers(count: number, length = 1): FeedOffer[] {
  const offers: FeedOffer[] = []
  for (let i = 0; i < count; i++) {
    offers.push({
      key: randomBytes(32),
      length,
      signedLength: length,
      treeHash: randomBytes(32),
    } as FeedOffer)
  }
  return offers
}

/** The answer "I cannot" to a tree request of `key`. */
export function cannotTree(key: Buffer): TreeMessage {
  const none = Buffer.alloc(0)
  return { key, length: 0, fork: 0, nodes: [], additionalNodes: [], signature: none, manifest: none }
}

/** A fresh ed25519 key pair. */
export function keyPair(): KeyPair {
  return crypto.keyPair()
}

interface Messages {
  proof: ProtomuxMessage<{ mac: Buffer }>
  hello: ProtomuxMessage<HelloMessage>
  add: ProtomuxMessage<{ feeds: OfferList }>
  done: ProtomuxMessage<Record<string, never>>
  treeRequest: ProtomuxMessage<TreeRequestMessage>
  tree: ProtomuxMessage<TreeMessage>
  split: ProtomuxMessage<SplitMessage>
  settled: ProtomuxMessage<SettledMessage>
  leaf: ProtomuxMessage<LeafMessage>
}

/** One connection of a hostile peer; `opened` once the channel is open and both proofs went out. */
export class HostileSession {
  readonly socket: net.Socket
  readonly stream: ReplicationStream
  readonly opened: Promise<void>
  readonly closed: Promise<void>
  /** What the honest side sent on the channel. */
  readonly received: {
    hellos: unknown[]
    adds: unknown[]
    done: number
    treeRequests: TreeRequestMessage[]
    trees: TreeMessage[]
  } = {
    hellos: [],
    adds: [],
    done: 0,
    treeRequests: [],
    trees: [],
  }
  private readonly opts: ConnectOptions
  private channel: Channel | null = null
  private readonly treeWaiters: Array<() => void> = []
  private messages: Messages | null = null

  constructor(store: Corestore, socket: net.Socket, opts: ConnectOptions) {
    this.socket = socket
    this.opts = opts
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()))
    const key = opts.key ?? toDatabaseKey(undefined)
    socket.write(
      encodePreamble({
        version: opts.preambleVersion ?? PROTOCOL_VERSION,
        role: 'initiator',
        nonce: randomBytes(32),
      }),
    )
    this.stream = store.replicate(true)
    this.stream.on('error', () => undefined)
    if (opts.keepAlive === false) this.stream.noiseStream.setKeepAlive(0)
    // The channel exists before any byte arrives: a peer's open finding none would be rejected.
    const mux = this.stream.noiseStream.userData!
    this.opened = new Promise<void>((resolve, reject) => {
      socket.once('close', () => reject(new Error('the honest side closed the connection')))
      const channel = mux.createChannel({
        protocol: CHANNEL_PROTOCOL,
        id: crypto.discoveryKey(key),
        onopen: () => {
          const hash = this.stream.noiseStream.handshakeHash!
          this.messages!.proof.send({ mac: computeProof(key, hash, true) })
          resolve()
        },
      })!
      this.channel = channel
      this.messages = {
        proof: channel.addMessage({ encoding: proofEncoding, onmessage: () => undefined }),
        hello: channel.addMessage({
          encoding: helloEncoding,
          onmessage: (m) => void this.received.hellos.push(m),
        }),
        add: channel.addMessage({ encoding: addEncoding, onmessage: (m) => void this.received.adds.push(m) }),
        done: channel.addMessage({ encoding: doneEncoding, onmessage: () => void this.received.done++ }),
        treeRequest: channel.addMessage({
          encoding: treeRequestEncoding,
          onmessage: (m) => {
            this.received.treeRequests.push(m)
            if (opts.answerTrees !== false) this.answerTree(store, m).catch(() => undefined)
          },
        }),
        tree: channel.addMessage({
          encoding: treeEncoding,
          onmessage: (m) => {
            this.received.trees.push(m)
            for (const wake of this.treeWaiters.splice(0)) wake()
          },
        }),
        split: channel.addMessage({ encoding: splitEncoding, onmessage: () => undefined }),
        settled: channel.addMessage({ encoding: settledEncoding, onmessage: () => undefined }),
        leaf: channel.addMessage({ encoding: leafEncoding, onmessage: () => undefined }),
      } as unknown as Messages
      channel.open()
    })
    this.readPreamble()
    this.opened.catch(() => undefined)
  }

  /**
   * Sends a hello whose digest differs from anything the honest side holds, then (as the Noise
   * initiator, who answers the whole key range first) offers exactly `feeds` as one leaf of it.
   */
  hello(feeds: FeedOffer[], mode: WireMode = 'sync'): void {
    this.messages!.hello.send({
      version: this.opts.version ?? PROTOCOL_VERSION,
      mode,
      summary: { count: feeds.length, digest: randomBytes(DIGEST_BYTES) },
    })
    this.messages!.leaf.send({
      range: { depth: 0, prefix: Buffer.alloc(0) },
      reply: false,
      feeds: OfferList.of(feeds),
    })
  }

  /** Sends `feeds` as a live add. */
  add(feeds: FeedOffer[]): boolean {
    return this.messages!.add.send({ feeds: OfferList.of(feeds) })
  }

  /**
   * Answers a tree request with the proof of the core it holds under that key (its true tree, with
   * its manifest when asked), or "I cannot" (length 0) when it has none at that length.
   */
  private async answerTree(store: Corestore, m: TreeRequestMessage): Promise<void> {
    const core = store.get({ key: m.key })
    let tree: TreeMessage | null
    try {
      await core.ready()
      tree = await treeMessageOf(core, m.length, m.manifest)
    } catch {
      tree = null
    } finally {
      await core.close()
    }
    if (this.opts.forgeTree) tree = this.opts.forgeTree(m, tree)
    this.messages!.tree.send(tree ?? cannotTree(m.key))
  }

  /** Resolves with the tree answers received once there are `count` (or rejects at the close). */
  async trees(count: number): Promise<TreeMessage[]> {
    while (this.received.trees.length < count) {
      await Promise.race([
        new Promise<void>((resolve) => this.treeWaiters.push(resolve)),
        this.closed.then(() => {
          throw new Error(`the connection closed after ${this.received.trees.length} tree answers`)
        }),
      ])
    }
    return this.received.trees.slice(0, count)
  }

  /** Sends tree requests (in one batch of the muxer, so the honest side decodes them at once). */
  requestTrees(requests: TreeRequestMessage[]): void {
    this.channel!.cork()
    for (const request of requests) this.messages!.treeRequest.send(request)
    this.channel!.uncork()
  }

  done(): void {
    this.messages!.done.send({})
  }

  /** Ends the connection cleanly (the Noise stream's end). */
  end(): void {
    this.stream.noiseStream.end()
  }

  destroy(): void {
    this.socket.destroy()
    this.stream.destroy()
  }

  /** Waits for the honest side's preamble, then runs Noise over the rest of the socket. */
  private readPreamble(): void {
    let received = Buffer.alloc(0)
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (received.byteLength < PREAMBLE_BYTES) return
      this.socket.off('data', onData)
      this.socket.pause()
      const rest = received.subarray(PREAMBLE_BYTES)
      if (rest.byteLength > 0) this.socket.unshift(rest)
      this.socket.pipe(this.stream).pipe(this.socket)
    }
    this.socket.on('data', onData)
  }
}
