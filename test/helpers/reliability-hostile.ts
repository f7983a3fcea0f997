/**
 * Parts for the hostile-peer tests: an honest HyperKV serving replication on 127.0.0.1 (every
 * connection's outcome recorded), raw sockets that write crafted bytes, a relay between a real
 * peer and the honest one that can corrupt or stop the traffic, and snapshots of what a store
 * answers, to show it unchanged.
 */
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { isKappaError } from '../../src/errors.js'
import type { HyperKV } from '../../src/kv/index.js'
import { PREAMBLE_BYTES, PROTOCOL_VERSION } from '../../src/feeds/messages.js'
import { readRows } from './reliability-model.js'
import { closedWith } from './reliability-sync.js'

export interface Outcome {
  /** The KappaError code the stream ended with, 'END' for a clean end, 'UNCODED' for anything else. */
  code: string
}

export function outcomeOf(err: Error | null): Outcome {
  if (err === null) return { code: 'END' }
  return { code: isKappaError(err) ? err.code : 'UNCODED' }
}

export interface HonestServer {
  port: number
  /** The outcome of the next connection to end (in the order they end). */
  next(): Promise<Outcome>
  close(): Promise<void>
}

/** Serves `kv.log.replicate(socket, opts)` to every connection. */
export async function serve(kv: HyperKV, opts: { timeout?: number } = {}): Promise<HonestServer> {
  const outcomes: Outcome[] = []
  const waiters: Array<() => void> = []
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    socket.once('close', () => sockets.delete(socket))
    let stream: Duplex
    try {
      stream = kv.log.replicate(socket, opts)
    } catch (err) {
      outcomes.push(outcomeOf(err as Error))
      return
    }
    void closedWith(stream).then((err) => {
      outcomes.push(outcomeOf(err))
      for (const wake of waiters.splice(0)) wake()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as net.AddressInfo).port,
    async next() {
      while (outcomes.length === 0) await new Promise<void>((resolve) => waiters.push(resolve))
      return outcomes.shift()!
    },
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** A raw socket that writes `bytes`, then ends (or stays open, silent). */
export function rawPeer(port: number, bytes: Buffer, keepOpen = false): net.Socket {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  socket.on('data', () => undefined) // reads whatever the honest side says
  socket.write(bytes)
  if (!keepOpen) socket.end()
  return socket
}

/** A well-formed preamble (magic, version, role, nonce): what opens every replication. */
export function preamble(role: 0 | 1 | 2 = 0, version = PROTOCOL_VERSION): Buffer {
  const out = Buffer.alloc(PREAMBLE_BYTES)
  out.write('kpdb', 0)
  out[4] = version
  out[5] = role
  for (let i = 6; i < PREAMBLE_BYTES; i++) out[i] = (i * 37) & 0xff
  return out
}

export interface RelayControl {
  /** Bytes relayed so far from the peer to the honest side. */
  readonly toHonest: number
  /** From now on, bytes are no longer forwarded in either direction (the socket stays open). */
  stop(): void
  close(): void
}

/**
 * Connects `stream` (a real peer's replication stream) to the honest server through a relay
 * that hands each chunk going to the honest side to `tamper` first, and can go silent.
 */
export function relay(
  port: number,
  stream: Duplex,
  tamper: (chunk: Buffer, offset: number) => Buffer = (c) => c,
): RelayControl {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  stream.on('error', () => undefined)
  let stopped = false
  let toHonest = 0
  stream.on('data', (chunk: Buffer) => {
    if (stopped) return
    const out = tamper(chunk, toHonest)
    toHonest += chunk.byteLength
    socket.write(out)
  })
  socket.on('data', (chunk: Buffer) => {
    if (!stopped && !stream.destroyed) stream.write(chunk)
  })
  socket.on('end', () => {
    if (!stopped) stream.end()
  })
  stream.on('end', () => {
    if (!stopped) socket.end()
  })
  return {
    get toHonest() {
      return toHonest
    },
    stop: () => (stopped = true),
    close: () => {
      socket.destroy()
      stream.destroy()
    },
  }
}

export interface Snapshot {
  rows: unknown[]
  heads: string[]
  changes: number
}

/** What a store answers: its read stream (with values), its heads and its change count. */
export async function snapshot(kv: HyperKV): Promise<Snapshot> {
  await kv.ready()
  const heads = (await kv.log.heads()).map((node) => node.key as string)
  return { rows: await readRows(kv), heads, changes: kv.log.changes }
}
