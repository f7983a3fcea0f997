/**
 * Crash safety of levelView: a child process appends and indexes a sum/count
 * view on classic-level and is killed with SIGKILL at a random point; reopened, the stored totals
 * must equal a fresh rebuild over the logs — no entry applied twice, none lost — and, as the kill
 * left them, the per-feed positions must add up to the entries counted (each batch's data and its
 * feed's position commit together). The same directory is reused across kill points so state
 * accumulates, over several writers' feeds. Seeded: KAPPA_CRASH_SEED replays a run.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { Kappa, decodeFeedPosition, decodePositions } from '../../src/kappa/index.js'
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
    // As the kill left it: each batch's data and its feed's position committed together.
    const killed = await storedPositions(dir)
    assert.equal(killed.count, sumOf(killed.positions), `the count is what the positions say (${where})`)
    const { stored, rebuilt, entries } = await reopen(dir)
    assert.deepEqual(stored, rebuilt, `stored totals equal a fresh rebuild (${where})`)
    assert.equal(stored.count, entries, `every entry counted once (${where})`)
    assert.ok(entries >= lastTotal, `no entry lost from the logs (${where})`)
    lastTotal = entries
  }
  return lastTotal
}

function sumOf(positions: Map<string, number>): number {
  let sum = 0
  for (const n of positions.values()) sum += n
  return sum
}

/**
 * What levelView stored, read from classic-level directly: the state (a header of the per-feed
 * layout once anything was indexed), each feed's position (sublevel `p`), and the count.
 */
async function storedPositions(dir: string): Promise<{ count: number; positions: Map<string, number> }> {
  const db = new ClassicLevel<string, number>(`${dir}/views`, { valueEncoding: 'json' })
  try {
    const state = db.sublevel<string, Buffer>('s', { valueEncoding: 'buffer' })
    const header = await state.get('state')
    const positions = new Map<string, number>()
    if (header) {
      assert.equal(decodePositions(header).layout, 'per-feed', 'the positions are stored per feed')
      const records = db.sublevel<string, Buffer>('p', { keyEncoding: 'utf8', valueEncoding: 'buffer' })
      for (const [key, bytes] of await records.iterator().all()) positions.set(key, decodeFeedPosition(bytes))
    }
    const data = db.sublevel<string, number>('d', { valueEncoding: 'json' })
    return { count: (await data.get('count')) ?? 0, positions }
  } finally {
    await db.close()
  }
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
