/**
 * Test helpers for the view layer: Kappa cores in temp directories (closed, then removed, when the
 * test ends), adder views with in-memory state like multifeed-index's tests, and small utilities.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import type { TestContext } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { Kappa, levelView, type KappaOptions } from '../../src/kappa/index.js'
import type { Entry, View, ViewDb, ViewState } from '../../src/kappa/index.js'

/** A fresh temp directory, removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'kappadb-kappa-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }))
  return dir
}

/** A Kappa over a fresh temp directory (or `dir`), json values; closed when the test ends. */
export async function openCore<T = unknown>(
  t: TestContext,
  opts: KappaOptions<T> & { dir?: string } = {},
): Promise<Kappa<T> & { dir: string }> {
  const { dir: given, ...rest } = opts
  const dir = given ?? (await mkdtemp(join(tmpdir(), 'kappadb-kappa-')))
  const core = Object.assign(new Kappa<T>(dir, { valueEncoding: 'json', ...rest }), { dir })
  t.after(async () => {
    await core.close()
    if (!given) await rm(dir, { recursive: true, force: true, maxRetries: 3 })
  })
  return core
}

/** An entry of the `latestView` tests: a key and its value. */
export type KeyValue = { key: string; value: string }

/**
 * A levelView (in memory) of the latest value each key was given, in indexing order; `get(key)`
 * (undefined for none). What a re-index leaves shows whether removed entries still count.
 */
export function latestView() {
  return levelView(new MemoryLevel<string, string>(), (vdb: ViewDb<string>) => ({
    async map(entries: Entry<KeyValue>[]) {
      await vdb.batch(entries.map((e) => ({ type: 'put' as const, key: e.value.key, value: e.value.value })))
    },
    api: {
      get: (_core: unknown, key: string) => vdb.get(key),
    },
  }))
}

/** Where an adder keeps its state: shared between indexers to mimic "the same store, reopened". */
export interface AdderStore {
  sum: number
  state: Uint8Array | undefined
  batches: number[]
  clears: number
}

export function adderStore(): AdderStore {
  return { sum: 0, state: undefined, batches: [], clears: 0 }
}

export interface AdderOptions {
  store?: AdderStore
  maxBatch?: number
  /** Delay (ms) of fetchState/storeState, as multifeed-index's "slow versions" tests. */
  delay?: number
  /** Map asynchronously with random delays up to this many ms. */
  asyncMap?: number
  /** No fetch/store/clear: positions kept in memory. */
  memoryState?: boolean
}

/** multifeed-index's adder: sums numeric entries into `store.sum`, keeping its state in `store`. */
export function adder(
  opts: AdderOptions = {},
): View<number, { get: (core: unknown) => number }> & { store: AdderStore } {
  const store = opts.store ?? adderStore()
  const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))
  const add = (entries: Entry<number>[]) => {
    store.batches.push(entries.length)
    for (const entry of entries) if (typeof entry.value === 'number') store.sum += entry.value
  }
  const view: View<number, { get: (core: unknown) => number }> & { store: AdderStore } = {
    store,
    maxBatch: opts.maxBatch ?? 1,
    map: opts.asyncMap
      ? async (entries: Entry<number>[]) => {
          await wait(Math.floor(Math.random() * (opts.asyncMap ?? 1)))
          add(entries)
        }
      : (entries: Entry<number>[], next: () => void) => {
          add(entries)
          next()
        },
    api: { get: () => store.sum },
  }
  if (opts.memoryState) return view
  const delay = opts.delay ?? 0
  view.fetchState = (cb) => {
    setTimeout(() => cb(null, store.state), delay)
  }
  view.storeState = (state, cb) => {
    setTimeout(() => {
      store.state = Buffer.from(state)
      cb()
    }, delay)
  }
  view.clearIndex = (cb) => {
    store.clears++
    store.sum = 0
    store.state = undefined
    setTimeout(cb, delay)
  }
  return view
}

/** Records every 'state-update' of `name`. */
export function recordStates(core: Kappa<any, any>, name: string): ViewState[] {
  const states: ViewState[] = []
  core.on('state-update', (n, state) => {
    if (n === name) states.push(state)
  })
  return states
}

/** One non-live replication of two cores, both directions, until both streams end. */
export async function sync(a: Kappa<any, any>, b: Kappa<any, any>): Promise<void> {
  const left = a.replicate(true)
  const right = b.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
}
