/**
 * One replication between two HyperKVs for the reliability tests, as a scenario's sync step says:
 * in-process pipes or real sockets on 127.0.0.1, any modes, live or not, and optionally cut after
 * a number of bytes by destroying one side's socket (what a dropped connection looks like).
 */
import type { Duplex } from 'node:stream'
import { isKappaError } from '../../src/errors.js'
import type { HyperKV } from '../../src/kv/index.js'
import type { Mode } from './reliability-scenario.js'
import { deadline } from './until.js'
import { socketPair } from './sockets.js'

export interface SyncPlan {
  modes: [Mode, Mode]
  live: boolean
  transport: 'pipe' | 'tcp'
  cutAfter: number | null
  cutSide: 0 | 1
  /** Non-live: give up after this long without progress (the feeds layer's `timeout`). */
  timeout?: number
}

/** How each side's stream ended: null for a clean end, else its error. */
export type SyncOutcome = [Error | null, Error | null]

export interface Connection {
  streams: [Duplex, Duplex]
  /** Settles when both streams have closed. */
  closed: Promise<SyncOutcome>
  /** True once the planned cut happened. */
  readonly cut: boolean
  /** Bytes seen so far, both directions. */
  readonly bytes: number
  /** Tears the connection down (how a live replication is left). */
  hangUp(side: 0 | 1): void
}

/** Resolves with the stream's error (or null) once it has closed. */
export function closedWith(stream: Duplex): Promise<Error | null> {
  return new Promise((resolve) => {
    let error: Error | null = null
    stream.on('error', (err: Error) => (error ??= err))
    if (stream.closed) resolve(stream.errored ?? null)
    else stream.once('close', () => resolve(error ?? stream.errored ?? null))
  })
}

export async function connect(kvs: [HyperKV, HyperKV], plan: SyncPlan): Promise<Connection> {
  const opts = (i: 0 | 1) => ({
    mode: plan.modes[i],
    live: plan.live,
    // 15 s without progress: extensive runs put 8 scenarios on 2 cores, where 5 s stalls were seen
    // from load alone (the same seeds pass when replayed); the runner's 30 s deadline still catches
    // a hang.
    ...(plan.live ? {} : { timeout: plan.timeout ?? 15_000 }),
  })
  let bytes = 0
  let cut = false
  if (plan.transport === 'pipe') {
    const streams: [Duplex, Duplex] = [
      kvs[0].log.replicate(true, opts(0)),
      kvs[1].log.replicate(false, opts(1)),
    ]
    const closed = Promise.all(streams.map(closedWith)) as Promise<SyncOutcome>
    streams[0].pipe(streams[1]).pipe(streams[0])
    return {
      streams,
      closed,
      cut: false,
      bytes: 0,
      hangUp: () => streams.forEach((s) => s.destroy()),
    }
  }

  const sockets = await socketPair()
  // Roles negotiated by the preamble (no initiator flag), as two `hyperkv sync` processes do.
  const streams: [Duplex, Duplex] = [
    kvs[0].log.replicate(sockets[0], opts(0)),
    kvs[1].log.replicate(sockets[1], opts(1)),
  ]
  const closed = Promise.all([
    ...streams.map(closedWith),
    ...sockets.map((s) => new Promise<void>((resolve) => (s.closed ? resolve() : s.once('close', resolve)))),
  ]).then(([a, b]) => [a, b] as SyncOutcome)
  const count = (chunk: Buffer) => {
    bytes += chunk.byteLength
    if (plan.cutAfter !== null && !cut && bytes >= plan.cutAfter) {
      cut = true
      sockets[plan.cutSide].destroy()
    }
  }
  for (const socket of sockets) {
    socket.on('data', count)
    socket.on('error', () => undefined) // ECONNRESET after a cut: the replication stream reports it
  }
  return {
    streams,
    closed,
    get cut() {
      return cut
    },
    get bytes() {
      return bytes
    },
    hangUp: (side) => sockets[side].destroy(),
  }
}

/** Every error a replication stream ends with must carry a KappaError code. */
export function uncodedErrors(outcome: SyncOutcome): Error[] {
  return outcome.filter((err): err is Error => err !== null && !isKappaError(err))
}

export { deadline }
