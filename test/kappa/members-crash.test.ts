/**
 * Membership survives SIGKILL: a child process writes to an owned database and removes a writer
 * at random points (each removal below what the view indexed re-indexes it) and is killed at a
 * random moment; reopened, the membership is what its records say and the stored view equals a
 * fresh rebuild, counting exactly the entries the membership includes. Seeded: SEED replays.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { Kappa } from '../../src/kappa/index.js'
import { runAndKill, sumCountView, type SumCount } from '../helpers/kappa-crash.js'
import { tempDir } from '../helpers/kappa.js'
import { EXTENSIVE, Prng, seedFromEnv } from '../helpers/prng.js'

const KILL_POINTS = EXTENSIVE ? 60 : 10
const CHILD = fileURLToPath(new URL('./fixtures/crash-members.ts', import.meta.url))

test(`an owned database's membership and views survive SIGKILL at ${KILL_POINTS} random points`, async (t) => {
  const seed = seedFromEnv() ?? 0x6d656d62
  const rng = new Prng(seed)
  const dir = await tempDir(t, 'kappadb-members-crash-')
  let removals = 0
  for (let point = 0; point < KILL_POINTS; point++) {
    const where = `seed ${seed}, kill point ${point}`
    await runAndKill(CHILD, dir, rng.int(0, 2 ** 31), rng.int(0, 400))
    const { stored, rebuilt, counted, removed } = await reopen(dir)
    assert.deepEqual(stored, rebuilt, `stored totals equal a fresh rebuild (${where})`)
    assert.equal(stored.count, counted, `exactly the included entries counted (${where})`)
    if (removed) removals++
  }
  assert.ok(removals > 0, `some run removed the writer (seed ${seed})`)
})

async function reopen(
  dir: string,
): Promise<{ stored: SumCount; rebuilt: SumCount; counted: number; removed: boolean }> {
  const db = new ClassicLevel<string, number>(`${dir}/views`, { valueEncoding: 'json' })
  const core = new Kappa<number>(`${dir}/logs`, { valueEncoding: 'json', membership: { owner: true } })
  try {
    const api = core
      .use('stored', sumCountView(db, 10))
      .use('rebuilt', sumCountView(new MemoryLevel({ valueEncoding: 'json' }), 100)).api
    await core.ready()
    const self = await core.writer()
    const other = await core.writer('other')
    const state = core.members!.get(other.id)
    const ofOther =
      state.status === 'member'
        ? other.length
        : state.status === 'removed'
          ? Math.min(state.upTo, other.length)
          : 0
    return {
      stored: await api.stored.totals(),
      rebuilt: await api.rebuilt.totals(),
      counted: self.length + ofOther,
      removed: state.status === 'removed',
    }
  } finally {
    await core.close()
    await db.close()
  }
}
