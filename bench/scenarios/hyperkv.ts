/**
 * kappadb's HyperKV, run exactly as bench/originals/scenarios/hyperkv.cjs runs hyperkv 2.1.1:
 *   node --import tsx bench/scenarios/hyperkv.ts <put-seq|put-concurrent|batch|batch-cold|get|get-warm|read-stream|replicate|live-latency> disk <n>
 * kappadb always keeps its logs on disk (Hypercore 11 in a Corestore).
 */
import { once } from 'node:events'
import { createServer, connect, type AddressInfo, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { finished } from 'node:stream/promises'
import { HyperKV, type BatchRow } from '../../src/index.js'
import { now, runScenarios, timed, tmpdir, type Scenario, type ScenarioResult } from './common.js'

const WARMUP = 100
/**
 * The batch row warms up with the operation it measures, twenty batches of 1,000 rows, so it
 * reports the steady rate: in a fresh process kappadb's first batches run about three times
 * slower, then about a third slower until the twentieth or so, while V8 optimizes the per-batch
 * code and grows its young generation (hyperkv 2.1 is the same cold or warm).
 */
const BATCH_WARMUP = 20_000

const value = (i: number): { n: number; text: string } => ({ n: i, text: `value number ${i}` })
const key = (i: number): string => `key-${String(i).padStart(8, '0')}`

function open(dir = tmpdir('hyperkv')): HyperKV {
  return new HyperKV(dir)
}

/**
 * A store holding n keys (plus WARMUP others), indexed, then closed and reopened so reads start
 * with cold caches, as in a new process.
 */
async function filledAndReopened(n: number, reopen = true): Promise<HyperKV> {
  const dir = tmpdir('hyperkv')
  const first = open(dir)
  await fill(first, n)
  await fill(first, WARMUP, 1e7)
  await checkGet(first, n - 1)
  if (!reopen) return first
  await first.close()
  return open(dir)
}

async function fill(kv: HyperKV, n: number, from = 0, rowsPerBatch = 1000): Promise<void> {
  for (let i = from; i < from + n; i += rowsPerBatch) {
    const rows: BatchRow[] = []
    for (let j = i; j < Math.min(from + n, i + rowsPerBatch); j++)
      rows.push({ type: 'put', key: key(j), value: value(j) })
    await kv.batch(rows)
  }
}

/** Whether `kv`'s get of key i returns exactly value i. */
async function holds(kv: HyperKV, i: number): Promise<boolean> {
  const got = Object.values(await kv.get(key(i))) as { value?: { n?: number } }[]
  return got.length === 1 && got[0]?.value?.n === i
}

async function checkGet(kv: HyperKV, i: number): Promise<void> {
  if (!(await holds(kv, i)))
    throw new Error(`wrong value for ${key(i)}: ${JSON.stringify(await kv.get(key(i)))}`)
}

/** n rows in batches of 1,000 after `warmup` rows of the same kind. */
async function batches(n: number, warmup: number, label: string): Promise<ScenarioResult> {
  const kv = open()
  if (warmup > 0) await fill(kv, warmup, 1e7)
  else await kv.ready()
  const seconds = await timed(label, async () => {
    await fill(kv, n)
  })
  await checkGet(kv, n - 1)
  await kv.close()
  return { count: n, seconds, unit: 'rows' }
}

/** Resolves once `check()` is true, checking now and after each of `kv`'s `update` events. */
async function until(kv: HyperKV, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    let wake = (): void => undefined
    const next = new Promise<void>((resolve) => (wake = resolve))
    kv.on('update', wake)
    try {
      if (await check()) return
      await next
    } finally {
      kv.off('update', wake)
    }
  }
}

/** Two live replication streams of `a` and `b` joined over TCP on 127.0.0.1; returns the disconnect. */
async function tcpPair(a: HyperKV, b: HyperKV): Promise<() => void> {
  const streams: Duplex[] = []
  const sockets: Socket[] = []
  const join = (socket: Socket, stream: Duplex): void => {
    socket.setNoDelay(true)
    sockets.push(socket)
    streams.push(stream)
    stream.pipe(socket).pipe(stream)
  }
  const server = createServer((socket) => join(socket, a.log.replicate(false, { live: true })))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1')
  join(socket, b.log.replicate(true, { live: true }))
  return () => {
    for (const s of [...streams, ...sockets]) s.destroy()
    server.close()
  }
}

/** The nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(sorted.length * p) - 1)]!
}

async function gets(kv: HyperKV, n: number, label: string): Promise<ScenarioResult> {
  for (let i = 0; i < WARMUP; i++) await checkGet(kv, 1e7 + i)
  const seconds = await timed(label, async () => {
    for (let i = 0; i < n; i++) await checkGet(kv, i)
  })
  await kv.close()
  return { count: n, seconds, unit: 'gets' }
}

const scenarios: Record<string, Scenario> = {
  async 'put-seq'(_backend, n) {
    const kv = open()
    for (let i = 0; i < WARMUP; i++) await kv.put(key(1e7 + i), value(i))
    const seconds = await timed('kv-put-seq', async () => {
      for (let i = 0; i < n; i++) await kv.put(key(i), value(i))
    })
    await checkGet(kv, n - 1)
    await kv.close()
    return { count: n, seconds, unit: 'puts' }
  },

  async 'put-concurrent'(_backend, n) {
    const kv = open()
    for (let i = 0; i < WARMUP; i++) await kv.put(key(1e7 + i), value(i))
    const seconds = await timed('kv-put-concurrent', async () => {
      const all: Promise<unknown>[] = []
      for (let i = 0; i < n; i++) all.push(kv.put(key(i), value(i)))
      await Promise.all(all)
    })
    await checkGet(kv, n - 1)
    await kv.close()
    return { count: n, seconds, unit: 'puts' }
  },

  batch(_backend, n) {
    return batches(n, BATCH_WARMUP, 'kv-batch')
  },

  // A fresh process, no warm-up: the first n rows in batches of 1,000.
  'batch-cold'(_backend, n) {
    return batches(n, 0, 'kv-batch-cold')
  },

  async get(_backend, n) {
    return gets(await filledAndReopened(n), n, 'kv-get')
  },

  // The same reads in the process that wrote the keys, without reopening.
  async 'get-warm'(_backend, n) {
    return gets(await filledAndReopened(n, false), n, 'kv-get-warm')
  },

  async 'read-stream'(_backend, n) {
    const kv = await filledAndReopened(n)
    await checkGet(kv, 1e7)
    let rows = 0
    const seconds = await timed('kv-read-stream', async () => {
      for await (const row of kv.createReadStream()) {
        const values = (row as { values?: object }).values
        if (!values || Object.keys(values).length !== 1) throw new Error('row without value')
        rows++
      }
    })
    if (rows !== n + WARMUP) throw new Error(`read ${rows} rows, expected ${n + WARMUP}`)
    await kv.close()
    return { count: n + WARMUP, seconds, unit: 'rows' }
  },

  // A holds n nodes (n new keys, written in batches); B is empty. Timed: replication until B's get
  // returns the last key.
  async replicate(_backend, n) {
    const a = open()
    const b = open()
    await fill(a, n)
    await b.ready()
    const seconds = await timed('kv-replicate', async () => {
      const left = a.log.replicate(true)
      const right = b.log.replicate(false)
      left.pipe(right).pipe(left)
      await Promise.all([finished(left), finished(right)])
      await checkGet(b, n - 1)
    })
    await Promise.all([a.close(), b.close()])
    return { count: n, seconds, unit: 'nodes', wholeSeconds: seconds, wholeRate: n / seconds }
  },

  // A and B, two stores replicating live over TCP on 127.0.0.1 in this process. n puts on A, one
  // at a time, each timed from the put until B's get returns it.
  async 'live-latency'(_backend, n) {
    const a = open()
    const b = open()
    await Promise.all([a.ready(), b.ready()])
    const disconnect = await tcpPair(a, b)
    for (let i = 0; i < WARMUP; i++) {
      await a.put(key(1e7 + i), value(1e7 + i))
      await until(b, () => holds(b, 1e7 + i))
    }
    const latencies: number[] = []
    const seconds = await timed('kv-live-latency', async () => {
      for (let i = 0; i < n; i++) {
        const start = now()
        await a.put(key(i), value(i))
        await until(b, () => holds(b, i))
        latencies.push((now() - start) * 1000)
      }
    })
    disconnect()
    await Promise.all([a.close(), b.close()])
    latencies.sort((x, y) => x - y)
    return {
      count: n,
      seconds,
      unit: 'puts',
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      max: latencies[latencies.length - 1],
    }
  },
}

runScenarios(scenarios)
