/**
 * Seeded random convergence: ≥ 4 replicas write, sync in random pairs and modes
 * (some streams cut mid-way, some live), restart; after a full sync every replica equals the
 * reference model. `npm test` runs a few fixed seeds; `npm run test:extensive` runs 500.
 * `SEED=<n> npm test -- reliability/convergence` replays one scenario (`SEED=random` draws one;
 * `SIZE=large` for one of the large scenarios of an extensive run: the failure message says which).
 *
 * Owned scenarios add membership (peer 0 owns the database; adds, and in `full` ones removals,
 * come among the other steps); at the end every peer has the same members and shows exactly
 * what they include, writes linking an excluded node included once anchors travelled (docs/RELIABILITY.md).
 * `OWNED=adds|full SEED=<n>` replays one.
 */
import test from 'node:test'
import type { TestContext } from 'node:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXTENSIVE, mix, seedFromEnv } from '../helpers/prng.js'
import { LARGE, SMALL, generateScenario, type Owned } from '../helpers/reliability-scenario.js'
import { ScenarioRunner } from '../helpers/reliability-runner.js'

const replay = seedFromEnv()
const replayOwned: Owned =
  process.env.OWNED === 'adds' || process.env.OWNED === 'full' ? process.env.OWNED : false

/** `count` seeds of one kind (none when replaying another kind). */
function seedsOf(owned: Owned, label: string, count: number): number[] {
  if (replay !== null) return owned === replayOwned ? [replay] : []
  return Array.from({ length: count }, (_, i) => mix(0xc0ffee, `${label}-${i}`))
}

const OPEN = seedsOf(false, 'convergence', Number(process.env.SCENARIOS ?? (EXTENSIVE ? 500 : 4)))
const ADDS = seedsOf('adds', 'owned-adds', Number(process.env.OWNED_SCENARIOS ?? (EXTENSIVE ? 150 : 2)))
const FULL = seedsOf('full', 'owned-full', Number(process.env.OWNED_SCENARIOS ?? (EXTENSIVE ? 100 : 2)))

// Scenarios mostly wait on sockets and timers: several run side by side.
const CONCURRENCY = EXTENSIVE ? 8 : 2

/** `todo`: the scenarios are a known failure (each seed's subtest says so, so none fails the run). */
async function runAll(t: TestContext, seeds: readonly number[], owned: Owned, todo?: string): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'kappadb-rel-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const run = async (seed: number, i: number) => {
    // Under EXTENSIVE every fourth scenario is a large one; a replay takes SIZE=large|small.
    const large = replay !== null ? process.env.SIZE === 'large' : EXTENSIVE && i % 4 === 3
    const scenario = generateScenario(seed, large ? LARGE : SMALL, { owned })
    const dir = join(root, String(seed))
    try {
      await new ScenarioRunner(scenario, dir).run()
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  let next = 0
  const worker = async () => {
    while (next < seeds.length) {
      const i = next++
      await t.test(`seed ${seeds[i]}`, { todo }, () => run(seeds[i]!, i))
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
}

test(
  `convergence: ${OPEN.length} random scenario(s) end equal to the reference model`,
  { concurrency: CONCURRENCY },
  (t) => runAll(t, OPEN, false),
)

test(
  `convergence, owned: ${ADDS.length} random scenario(s) with adds end with equal members, showing what they include`,
  { concurrency: CONCURRENCY },
  (t) => runAll(t, ADDS, 'adds'),
)

test(
  `convergence, owned: ${FULL.length} random scenario(s) with removals and never-added writers end equal`,
  { concurrency: CONCURRENCY },
  (t) => runAll(t, FULL, 'full'),
)
