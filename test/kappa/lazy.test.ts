/**
 * Lazy feeds under a view: feeds' cores close when idle (`coreIdleTime`) and open again to be
 * written, downloaded or read, and the view indexes every entry exactly once — local and replicated
 * entries alike, across idle closes, a sync and a reopen. Real Hypercores in temp directories.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { HypercoreFeed } from '../../src/feeds/feed.js'
import type { Entry, Kappa, View } from '../../src/kappa/index.js'
import { openCore, sync } from '../helpers/kappa.js'
import { until } from '../helpers/until.js'

const WRITERS = 6
const ROUNDS = 3

/**
 * A view counting how many times it indexed each `feed:seq`, its positions kept in `stored` (so a
 * view opened again on the same `stored` resumes where it was).
 */
function countingView(stored: { state: Uint8Array | null } = { state: null }) {
  const seen = new Map<string, number>()
  const view: View<string> = {
    map(entries: Entry<string>[]) {
      for (const e of entries) seen.set(`${e.key}:${e.seq}`, (seen.get(`${e.key}:${e.seq}`) ?? 0) + 1)
      return Promise.resolve()
    },
    fetchState: (cb) => cb(null, stored.state),
    storeState: (state, cb) => {
      stored.state = Buffer.from(state)
      cb()
    },
  }
  return { seen, view, stored }
}

function openCores(core: Kappa<string>): number {
  return core.feeds().filter((feed) => (feed as HypercoreFeed<string>).coreOpen).length
}

/** Every entry of every feed indexed exactly once: `total` of them. */
function assertOnce(seen: Map<string, number>, total: number, where: string): void {
  assert.equal(seen.size, total, `${where}: every entry indexed`)
  const twice = [...seen].filter(([, n]) => n !== 1)
  assert.deepEqual(twice, [], `${where}: no entry indexed twice`)
}

test('cores closed when idle and opened again on demand: every entry indexed exactly once, here, at a peer and after a reopen', async (t) => {
  const a = await openCore<string>(t, { coreIdleTime: 5 })
  const b = await openCore<string>(t, { coreIdleTime: 5 })
  const atA = countingView()
  const atB = countingView()
  a.use('count', atA.view)
  b.use('count', atB.view)
  for (let round = 0; round < ROUNDS; round++) {
    for (let w = 0; w < WRITERS; w++) {
      const feed = await a.writer(`w${w}`)
      await feed.append(`w${w}-${round}`)
    }
    await a.ready()
    // Every core closes before the next round opens it again to append.
    await until(() => openCores(a) === 0, `round ${round}: the cores at A to close when idle`)
    await sync(a, b)
    await b.ready()
    await until(() => openCores(b) === 0, `round ${round}: the cores at B to close when idle`)
    assertOnce(atA.seen, WRITERS * (round + 1), `A, round ${round}`)
    assertOnce(atB.seen, WRITERS * (round + 1), `B, round ${round}`)
  }

  // Reopened: the view's positions hold; nothing is indexed again, and new entries once.
  await b.close()
  const again = await openCore<string>(t, { dir: b.dir, coreIdleTime: 5 })
  const resumed = countingView(atB.stored)
  again.use('count', resumed.view)
  await again.ready()
  assert.equal(resumed.seen.size, 0, 'a reopened view indexes nothing again')
  await (await a.writer('w0')).append('w0-late')
  await sync(a, again)
  await again.ready()
  assertOnce(resumed.seen, 1, 'after the reopen')
  assert.equal([...resumed.seen.keys()][0], `${(await a.writer('w0')).id}:${ROUNDS}`)
})
