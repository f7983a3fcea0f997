/**
 * Crash safety of levelView (CONTRACT §2, §7): a child process appends and indexes a sum/count
 * view on classic-level and is killed with SIGKILL at a random point; reopened, the stored totals
 * must equal a fresh rebuild over the logs — no entry applied twice, none lost. The same directory
 * is reused across kill points so state accumulates. Seeded: KAPPA_CRASH_SEED replays a run.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { Kappa } from '../../src/kappa/index.js'
import { runAndKill, sumCountView, type SumCount } from '../helpers/kappa-crash.js'
import { tempDir } from '../helpers/kappa.js'
import { randomGenerator } from '../helpers/kv-random.js'

const KILL_POINTS = process.env.EXTENSIVE ? 300 : 50
/** Independent directories killed side by side: a child spends most of its life starting up. */
const CHAINS = 2
const CHILD = fileURLToPath(new URL('./fixtures/crash-sum.ts', import.meta.url))

test(`levelView survives SIGKILL at ${KILL_POINTS} random points`, async (t) => {
  const seed = Number(process.env.KAPPA_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const chains = Array.from({ length: CHAINS }, async (_, chain) => {
    const dir = await tempDir(t, 'kappadb-crash-')
    return killChain(dir, seed, chain, Math.ceil(KILL_POINTS / CHAINS))
  })
  const entries = await Promise.all(chains)
  assert.ok(
    entries.every((n) => n > 0),
    `the children appended something (seed ${seed})`,
  )
})

/** `points` kill/reopen rounds on one directory; returns the entries in its logs at the end. */
async function killChain(dir: string, seed: number, chain: number, points: number): Promise<number> {
  const random = randomGenerator(seed + chain)
  let lastTotal = 0
  for (let point = 0; point < points; point++) {
    const where = `seed ${seed}, chain ${chain}, kill point ${point}`
    await runAndKill(CHILD, dir, Math.floor(random() * 2 ** 31), Math.floor(random() * 120))
    const { stored, rebuilt, entries } = await reopen(dir)
    assert.deepEqual(stored, rebuilt, `stored totals equal a fresh rebuild (${where})`)
    assert.equal(stored.count, entries, `every entry counted once (${where})`)
    assert.ok(entries >= lastTotal, `no entry lost from the logs (${where})`)
    lastTotal = entries
  }
  return lastTotal
}

/** Reopens the directory: the persisted view's totals, a fresh in-memory rebuild's, and the log size. */
async function reopen(dir: string): Promise<{ stored: SumCount; rebuilt: SumCount; entries: number }> {
  const db = new ClassicLevel<string, number>(`${dir}/views`, { valueEncoding: 'json' })
  const core = new Kappa<number>(`${dir}/logs`, { valueEncoding: 'json' })
  try {
    const api = core
      .use('stored', sumCountView(db, 10))
      .use('rebuilt', sumCountView(new MemoryLevel({ valueEncoding: 'json' }), 100)).api
    await core.ready()
    const entries = core.feeds().reduce((n, feed) => n + feed.length, 0)
    return { stored: await api.stored.totals(), rebuilt: await api.rebuilt.totals(), entries }
  } finally {
    await core.close()
    await db.close()
  }
}
