/**
 * `join(topic, opts)`: live replication with every peer Hyperswarm finds on a topic. Generic over
 * the replication: `opts.replicate(socket, peer)` turns each encrypted connection into a stream
 * (Multifeed, Kappa, Hyperlog and HyperKV all provide one), so `joinLive(kv.log)` and `joinLive(core)` are
 * one-liners over this. Hyperswarm itself reconnects to peers that drop while the topic is joined.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import Hyperswarm from 'hyperswarm'
import type { PeerDiscoverySession, PeerInfo } from 'hyperswarm'
import HyperDHT from 'hyperdht'
import type { NoiseSecretStream } from '@hyperswarm/secret-stream'
import { KappaError } from '../errors.js'
import { withCallback, type Callback } from '../util/callback.js'
import { toError } from '../util/errors.js'
import { optionNames, rejectUnknownOptions } from '../util/options.js'
import { isLoopbackOnly, resolveBootstrap } from './bootstrap.js'
import { BootstrapProbe } from './bootstrap-probe.js'
import { toTopic, type Topic, type TopicInput } from './topic.js'
import type {
  BootstrapState,
  HyperswarmLike,
  JoinEvents,
  JoinOptions,
  JoinPeer,
  ReplicateConnection,
} from './types.js'

const DEFAULT_REDISCOVER = [1000, 2000, 4000, 8000, 16000, 32000] as const
/** Bootstrap probe rounds: while no bootstrap node answers, and while one does (ms). */
const PROBE_RETRY = 5000
const PROBE_CHECK = 30_000
/** How long `leave()` waits for a connection's clean end to reach the peer before destroying it. */
const LEAVE_GRACE = 2000
/** How long a connection Hyperswarm replaced (a duplicate) waits for its replacement to arrive. */
const SWAP_GRACE = 5000
/** Hyperswarm's error for the losing one of two connections to the same peer. */
const DUPLICATE_MESSAGE = 'Duplicate connection'

export class Join extends EventEmitter<JoinEvents> {
  /** The 32-byte topic announced and looked up on the DHT. */
  readonly topic: Topic
  readonly #hyperswarm: Hyperswarm
  readonly #replicate: ReplicateConnection
  readonly #discovery: PeerDiscoverySession
  readonly #connected = new Map<NoiseSecretStream, JoinPeer>()
  /** Peers by id: the connected ones, each with how many connections it has now. */
  readonly #byId = new Map<string, { peer: JoinPeer; connections: number }>()
  /** Peers whose connection Hyperswarm replaced: their 'disconnection' waits for the replacement. */
  readonly #swapping = new Map<string, NodeJS.Timeout>()
  readonly #firstRound: Promise<void>
  readonly #probe: BootstrapProbe
  #rediscoverTimer: NodeJS.Timeout | null = null
  #closing: Promise<void> | null = null
  /** Connections that arrived while leaving, ending gracefully (the swarm waits for them). */
  readonly #lateEnds = new Set<Promise<void>>()

  constructor(topic: TopicInput, opts: JoinOptions) {
    super()
    const checked = checkOptions(opts)
    this.topic = toTopic(topic)
    this.#replicate = checked.replicate
    this.#hyperswarm = createSwarm(checked)
    this.#hyperswarm.on('connection', (socket, info) => this.#onConnection(socket, info))
    this.#discovery = this.#hyperswarm.join(this.topic, { server: checked.server, client: checked.client })
    this.#firstRound = this.#discovery.flushed().then(() => {
      if (!this.#closing) this.emit('discovered')
    })
    this.#scheduleRediscovery([...checked.rediscover])
    this.#probe = new BootstrapProbe(this.#hyperswarm.dht, {
      retryInterval: PROBE_RETRY,
      checkInterval: PROBE_CHECK,
      onChange: (state, before) => this.#onBootstrapState(state, before),
    })
    this.#probe.start()
  }

  /** The Hyperswarm underneath (for advanced use: stats, `joinPeer`). */
  get swarm(): HyperswarmLike {
    return this.#hyperswarm
  }

  /** Peers connected now, one entry per peer (Hyperswarm may hold two connections to one briefly). */
  get peers(): JoinPeer[] {
    return [...this.#byId.values()].map((entry) => entry.peer)
  }

  /**
   * Whether a DHT bootstrap node answers: `'probing'` until the first round of pings is through
   * (a few seconds at most), then `'reachable'` or `'unreachable'` as of the last round.
   */
  get bootstrapState(): BootstrapState {
    return this.#probe.state
  }

  get closed(): boolean {
    return this.#closing !== null
  }

  /** Resolves once the first announce and lookup have completed (peers found then are dialling). */
  ready(cb?: Callback<void>): Promise<void> {
    const ready = this.#closing ? Promise.reject(KappaError.closed('join')) : this.#firstRound
    return withCallback(ready, cb)
  }

  /** Leaves the topic: closes every connection, unannounces, destroys the swarm and its DHT node. */
  leave(cb?: Callback<void>): Promise<void> {
    this.#closing ??= this.#destroy()
    return withCallback(this.#closing, cb)
  }

  /** Same as `leave()`. */
  close(cb?: Callback<void>): Promise<void> {
    return this.leave(cb)
  }

  async #destroy(): Promise<void> {
    if (this.#rediscoverTimer) clearTimeout(this.#rediscoverTimer)
    this.#probe.stop()
    for (const timer of this.#swapping.values()) clearTimeout(timer)
    // End each connection and let the end reach the peer before the swarm (and its UDP socket)
    // goes: a destroyed connection whose last packet never left is noticed by the peer only
    // when its own timeout fires, ~10 s later.
    await Promise.all([...this.#connected.keys()].map((socket) => endGracefully(socket)))
    // Connections that arrived meanwhile end before the swarm goes too.
    while (this.#lateEnds.size > 0) {
      const pending = [...this.#lateEnds]
      this.#lateEnds.clear()
      await Promise.all(pending)
    }
    await this.#hyperswarm.destroy()
  }

  #onBootstrapState(state: BootstrapState, before: BootstrapState): void {
    if (this.#closing) return
    if (state === 'unreachable') this.emit('offline')
    else if (state === 'reachable') {
      this.emit('online')
      if (before !== 'unreachable') return
      // The rounds that ran while nothing answered announced nothing: announce and look up now.
      this.#discovery.refresh().then(
        () => {
          if (!this.#closing) this.emit('discovered')
        },
        () => undefined,
      )
    }
  }

  #onConnection(socket: NoiseSecretStream, info: PeerInfo): void {
    const publicKey = socket.remotePublicKey ?? info.publicKey
    const peer: JoinPeer = { publicKey, id: publicKey.toString('hex'), client: info.client }
    let firstError: Error | null = null
    const remember = (err: unknown): void => {
      firstError ??= toError(err)
    }
    socket.on('error', remember)
    if (this.#closing) {
      // A connection that arrives while leaving (Hyperswarm's replacement of a duplicate, say)
      // ends as the others do: destroyed, it would reach the peer as a reset.
      this.#lateEnds.add(endGracefully(socket))
      return
    }
    this.#connected.set(socket, peer)
    let stream: Duplex | null = null
    socket.once('close', () => {
      this.#connected.delete(socket)
      if (stream && stream !== socket) stream.destroy()
      this.#peerClosed(peer, firstError)
    })
    this.#peerOpened(peer)
    try {
      stream = this.#replicate(socket, peer)
    } catch (err) {
      // Seen as a disconnection carrying the error, like any other failed replication.
      remember(err)
      socket.destroy()
      return
    }
    if (stream !== socket) {
      const replication = stream
      replication.on('error', remember)
      // While leaving, the connection ends gracefully instead (endGracefully): destroying it now
      // could reset it before our end reached the peer.
      replication.on('close', () => {
        if (!this.#closing) socket.destroy()
      })
      // A replication on the connection itself (kappadb's stores given the socket) carries no bytes.
      if (!runsOn(replication, socket)) socket.pipe(replication).pipe(socket)
    }
  }

  #peerOpened(peer: JoinPeer): void {
    const entry = this.#byId.get(peer.id)
    if (entry) {
      entry.connections++
      return
    }
    this.#byId.set(peer.id, { peer, connections: 1 })
    const swap = this.#swapping.get(peer.id)
    if (swap) {
      // The replacement of a duplicate: the same peer, still connected.
      clearTimeout(swap)
      this.#swapping.delete(peer.id)
      return
    }
    this.emit('connection', peer)
  }

  #peerClosed(peer: JoinPeer, err: Error | null): void {
    const entry = this.#byId.get(peer.id)
    if (!entry) return
    if (--entry.connections > 0) return
    this.#byId.delete(peer.id)
    if (err?.message === DUPLICATE_MESSAGE && !this.#closing) {
      // Hyperswarm closes one of two connections to a peer and hands over the other right after.
      const timer = setTimeout(() => {
        this.#swapping.delete(peer.id)
        this.emit('disconnection', peer, null)
      }, SWAP_GRACE)
      timer.unref()
      this.#swapping.set(peer.id, timer)
      return
    }
    this.emit('disconnection', peer, err)
  }

  /** Extra announce + lookup rounds: peers that started together find each other on the next one. */
  #scheduleRediscovery(delays: number[]): void {
    const delay = delays.shift()
    if (delay === undefined || this.#closing) return
    this.#rediscoverTimer = setTimeout(() => {
      this.#rediscoverTimer = null
      if (this.#closing) return
      this.#discovery.refresh().then(
        () => {
          if (this.#closing) return
          this.emit('discovered')
          this.#scheduleRediscovery(delays)
        },
        // A failed round (network down, swarm destroyed meanwhile) is not fatal: try the next one.
        () => this.#scheduleRediscovery(delays),
      )
    }, delay)
    this.#rediscoverTimer.unref()
  }
}

/** Whether `stream` is a replication that runs on `socket`'s own Noise stream (its `connection`). */
function runsOn(stream: Duplex, socket: NoiseSecretStream): boolean {
  return (stream as { connection?: unknown }).connection === socket
}

/** Ends `socket` and resolves once it closed, destroying it after LEAVE_GRACE. */
function endGracefully(socket: NoiseSecretStream): Promise<void> {
  if (socket.destroyed) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), LEAVE_GRACE)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
    socket.end()
  })
}

/** Joins `topic` (a name, hashed, or 32 bytes) and replicates with every peer found there. */
export function join(topic: TopicInput, opts: JoinOptions): Join {
  return new Join(topic, opts)
}

interface CheckedOptions extends JoinOptions {
  server: boolean
  client: boolean
  rediscover: readonly number[]
}

const JOIN_OPTIONS = optionNames<JoinOptions>({
  replicate: true,
  bootstrap: true,
  dht: true,
  keyPair: true,
  server: true,
  client: true,
  maxPeers: true,
  rediscover: true,
  env: true,
})

function checkOptions(opts: JoinOptions): CheckedOptions {
  if (opts === null || typeof opts !== 'object') throw KappaError.invalid('join options are required')
  rejectUnknownOptions(opts, JOIN_OPTIONS, 'join options')
  if (typeof opts.replicate !== 'function')
    throw KappaError.invalid('join needs opts.replicate(socket, peer)')
  const server = opts.server ?? true
  const client = opts.client ?? true
  if (typeof server !== 'boolean' || typeof client !== 'boolean') {
    throw KappaError.invalid('server and client must be booleans')
  }
  if (!server && !client) throw KappaError.invalid('join needs server or client (or both)')
  const rediscover = opts.rediscover ?? DEFAULT_REDISCOVER
  if (!Array.isArray(rediscover) || !rediscover.every((d) => Number.isFinite(d) && d >= 0)) {
    throw KappaError.invalid('rediscover must be a list of delays in ms')
  }
  if (opts.maxPeers !== undefined && !(Number.isInteger(opts.maxPeers) && opts.maxPeers > 0)) {
    throw KappaError.invalid('maxPeers must be a positive integer')
  }
  if (opts.dht !== undefined && !(opts.dht instanceof HyperDHT))
    throw KappaError.invalid('dht must be a HyperDHT')
  return { ...opts, server, client, rediscover }
}

function createSwarm(opts: CheckedOptions): Hyperswarm {
  const dht = (opts.dht as HyperDHT | undefined) ?? createDHT(opts)
  return new Hyperswarm({
    ...(dht ? { dht } : {}),
    ...(opts.keyPair ? { keyPair: opts.keyPair } : {}),
    ...(opts.maxPeers ? { maxPeers: opts.maxPeers } : {}),
  })
}

/**
 * A DHT node for an explicit bootstrap; undefined lets Hyperswarm use the public network.
 *
 * On a loopback-only DHT every node is reachable at 127.0.0.1, so the node says so (`firewalled:
 * false`) instead of learning it: a node that still counts itself firewalled answers a connection
 * with a holepunch, and there the dialling side's LAN shortcut races the answering side's NAT
 * analysis — the dialler opens a connection the other side has already dropped, which Hyperswarm
 * keeps as the peer's connection until it times out (~10 s); two peers dialling each other that
 * way can miss each other for several rounds.
 */
function createDHT(opts: CheckedOptions): HyperDHT | undefined {
  const bootstrap = resolveBootstrap(opts.bootstrap, opts.env ?? process.env)
  if (!bootstrap) return undefined
  if (isLoopbackOnly(bootstrap)) return new HyperDHT({ bootstrap, host: '127.0.0.1', firewalled: false })
  return new HyperDHT({ bootstrap })
}
