/**
 * kappadb's HyperKV, run exactly as bench/originals/scenarios/hyperkv.cjs runs hyperkv 2.1.1:
 *   node --import tsx bench/scenarios/hyperkv.ts <put-seq|put-concurrent|batch|get|read-stream|replicate> disk <n>
 * kappadb always keeps its logs on disk (Hypercore 11 in a Corestore).
 */
import { finished } from 'node:stream/promises'
import { HyperKV, type BatchRow } from '../../src/index.js'
import { runScenarios, timed, tmpdir, type Scenario, type ScenarioResult } from './common.js'

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

async function checkGet(kv: HyperKV, i: number): Promise<void> {
  const values = await kv.get(key(i))
  const got = Object.values(values) as { value?: { n?: number } }[]
  if (got.length !== 1 || got[0]?.value?.n !== i)
    throw new Error(`wrong value for ${key(i)}: ${JSON.stringify(values)}`)
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

  async batch(_backend, n) {
    const kv = open()
    await fill(kv, BATCH_WARMUP, 1e7)
    const seconds = await timed('kv-batch', async () => {
      await fill(kv, n)
    })
    await checkGet(kv, n - 1)
    await kv.close()
    return { count: n, seconds, unit: 'rows' }
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
    return { count: n, seconds, unit: 'nodes' }
  },
}

runScenarios(scenarios)
