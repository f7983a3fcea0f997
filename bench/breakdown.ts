/**
 * Where one operation's time goes, measured directly rather than sampled: wraps the storage calls
 * (classic-level, memory-level, Hypercore) and the stages between kappadb's layers (Hyperlog.batch,
 * every kappa view's map/storeState, every change index's map, Feed.getBatch), runs one workload,
 * and prints per stage the calls per operation and the wall time (time until the call's promise
 * settled, waiting included; stages nest, so the times overlap).
 *
 *   node --import tsx bench/breakdown.ts <put-seq|batch|get|sum> [n]
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import Hypercore from 'hypercore'
import { MemoryLevel } from 'memory-level'
import { HyperKV, Hyperlog, Kappa, levelView, type LevelLike } from '../src/index.js'

interface Stage {
  calls: number
  ms: number
  /** Elements handed to batch/getMany calls. */
  items: number
}

const stages = new Map<string, Stage>()
let recording = false

function record(label: string, ms: number, items: number): void {
  if (!recording) return
  const s = stages.get(label) ?? { calls: 0, ms: 0, items: 0 }
  s.calls++
  s.ms += ms
  s.items += items
  stages.set(label, s)
}

type AnyFn = (...args: any[]) => any

function timedFn(fn: AnyFn, label: string): AnyFn {
  return function (this: unknown, ...args: any[]) {
    const t0 = performance.now()
    const items = Array.isArray(args[0]) ? args[0].length : 0
    const result = fn.apply(this, args)
    if (result && typeof result.then === 'function') {
      return (result as Promise<unknown>).finally(() => record(label, performance.now() - t0, items))
    }
    record(label, performance.now() - t0, items)
    return result
  }
}

function wrap(proto: any, method: string, label: string): void {
  proto[method] = timedFn(proto[method] as AnyFn, label)
}

function instrument(): void {
  wrap(ClassicLevel.prototype, '_get', 'classic-level get')
  wrap(ClassicLevel.prototype, '_getMany', 'classic-level getMany')
  // Synchronous reads (classic-level 3): no thread-pool round trip.
  if (typeof (ClassicLevel.prototype as any)._getSync === 'function') {
    wrap(ClassicLevel.prototype, '_getSync', 'classic-level getSync')
  }
  wrap(ClassicLevel.prototype, '_batch', 'classic-level batch')
  wrap(ClassicLevel.prototype, '_put', 'classic-level put')
  wrap(ClassicLevel.prototype, '_iterator', 'classic-level iterator (opening)')
  wrap(MemoryLevel.prototype, '_get', 'memory-level get')
  wrap(MemoryLevel.prototype, '_batch', 'memory-level batch')
  wrap(Hypercore.prototype, 'append', 'Hypercore append')
  wrap(Hypercore.prototype, 'get', 'Hypercore get')
  wrap(Hyperlog.prototype, 'batch', 'Hyperlog.batch (until it resolves)')
  const use = Kappa.prototype.use as AnyFn
  ;(Kappa.prototype as any).use = function (this: unknown, name: string, version: unknown, view: unknown) {
    const v = (typeof version === 'object' && version !== null ? version : view) as Record<string, AnyFn>
    for (const m of ['map', 'storeState']) if (v[m]) v[m] = timedFn(v[m], `kappa view '${name}' ${m}`)
    return use.call(this, name, version, view)
  }
  const createIndex = (Hyperlog.prototype as any).createIndex as AnyFn
  ;(Hyperlog.prototype as any).createIndex = function (this: unknown, opts: { name?: string; map: AnyFn }) {
    return createIndex.call(this, {
      ...opts,
      map: timedFn(opts.map, `change index '${opts.name ?? 'default'}' map`),
    })
  }
}

const dirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kappadb-breakdown-'))
  dirs.push(dir)
  return dir
}

const doc = (i: number): { n: number; text: string } => ({ n: i, text: `value number ${i}` })
const rows = (from: number, n: number) =>
  Array.from({ length: n }, (_, i) => ({
    type: 'put' as const,
    key: `key-${from + i}`,
    value: doc(from + i),
  }))

/** Each workload prepares untimed, then runs `measure` (recorded) and returns how many operations it made. */
const workloads: Record<
  string,
  (n: number, measure: (fn: () => Promise<void>) => Promise<void>) => Promise<void>
> = {
  async 'put-seq'(n, measure) {
    const kv = new HyperKV(tempDir())
    for (let i = 0; i < 50; i++) await kv.put(`warm-${i}`, i)
    await measure(async () => {
      for (let i = 0; i < n; i++) await kv.put(`key-${i}`, doc(i))
    })
    await kv.close()
  },
  async batch(n, measure) {
    const kv = new HyperKV(tempDir())
    await kv.batch(rows(1e7, 1000))
    await measure(async () => {
      for (let i = 0; i < n; i += 1000) await kv.batch(rows(i, Math.min(1000, n - i)))
      await kv.ready()
    })
    await kv.close()
  },
  async get(n, measure) {
    const dir = tempDir()
    const first = new HyperKV(dir)
    for (let i = 0; i < n; i += 1000) await first.batch(rows(i, Math.min(1000, n - i)))
    await first.close()
    const kv = new HyperKV(dir)
    await kv.get('key-0')
    await measure(async () => {
      for (let i = 0; i < n; i++) await kv.get(`key-${i}`)
    })
    await kv.close()
  },
  async sum(n, measure) {
    const core = new Kappa(tempDir(), { valueEncoding: 'json' })
    const writer = await core.writer('default')
    for (let i = 0; i < n; i += 1000) await writer.append(new Array(Math.min(1000, n - i)).fill(1))
    await measure(async () => {
      core.use(
        'sum',
        1,
        levelView<unknown, object, number>(
          new MemoryLevel() as unknown as LevelLike,
          { valueEncoding: 'json' },
          (db) => ({
            async map(entries) {
              let sum = (await db.get('sum')) ?? 0
              for (const e of entries) if (typeof e.value === 'number') sum += e.value
              await db.put('sum', sum)
            },
          }),
        ),
      )
      await core.ready('sum')
    })
    await core.close()
  },
}

async function main(): Promise<void> {
  const [name = '', nArg] = process.argv.slice(2)
  const workload = workloads[name]
  if (!workload) throw new Error(`usage: bench/breakdown.ts <${Object.keys(workloads).join('|')}> [n]`)
  const n = Number(nArg ?? (name === 'sum' ? 100000 : name === 'put-seq' ? 2000 : 10000))
  instrument()
  let total = 0
  await workload(n, async (fn) => {
    recording = true
    const t0 = performance.now()
    await fn()
    total = performance.now() - t0
    recording = false
  })
  const unit = name === 'sum' ? 'entry' : name === 'batch' ? 'row' : name.startsWith('put') ? 'put' : 'get'
  console.log(`${name}: ${n} in ${total.toFixed(0)} ms = ${((1000 * total) / n).toFixed(1)} µs per ${unit}`)
  console.log(
    `${'stage'.padEnd(38)} ${'calls/op'.padStart(9)} ${'items/call'.padStart(10)} ${'wall ms'.padStart(9)} ${'µs/call'.padStart(8)}`,
  )
  for (const [label, s] of [...stages].sort((a, b) => b[1].ms - a[1].ms)) {
    console.log(
      `${label.padEnd(38)} ${(s.calls / n).toFixed(3).padStart(9)} ${(s.items ? (s.items / s.calls).toFixed(0) : '').padStart(10)} ${s.ms.toFixed(1).padStart(9)} ${((1000 * s.ms) / s.calls).toFixed(0).padStart(8)}`,
    )
  }
}

main()
  .catch((err: unknown) => {
    console.error(err)
    process.exitCode = 1
  })
  .finally(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    process.exit()
  })
