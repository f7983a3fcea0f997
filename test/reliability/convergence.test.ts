/**
 * Seeded random convergence (CONTRACT §7): ≥ 4 replicas write, sync in random pairs and modes
 * (some streams cut mid-way, some live), restart; after a full sync every replica equals the
 * reference model. `npm test` runs a few fixed seeds; `npm run test:extensive` runs 500.
 * `SEED=<n> npm test -- reliability/convergence` replays one scenario (`SEED=random` draws one;
 * `SIZE=large` for one of the large scenarios of an extensive run: the failure message says which).
 */
import test from 'node:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXTENSIVE, mix, seedFromEnv } from '../helpers/prng.js'
import { LARGE, SMALL, generateScenario } from '../helpers/reliability-scenario.js'
import { ScenarioRunner } from '../helpers/reliability-runner.js'

const COUNT = Number(process.env.SCENARIOS ?? (EXTENSIVE ? 500 : 4))
const replay = seedFromEnv()
const seeds =
  replay !== null ? [replay] : Array.from({ length: COUNT }, (_, i) => mix(0xc0ffee, `convergence-${i}`))

// Scenarios mostly wait on sockets and timers: several run side by side.
const CONCURRENCY = EXTENSIVE ? 8 : 2

test(
  `convergence: ${seeds.length} random scenario(s) end equal to the reference model`,
  { concurrency: CONCURRENCY },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'kappadb-rel-'))
    t.after(() => rm(root, { recursive: true, force: true }))
    const run = async (seed: number, i: number) => {
      // Under EXTENSIVE every fourth scenario is a large one; a replay takes SIZE=large|small.
      const large = replay !== null ? process.env.SIZE === 'large' : EXTENSIVE && i % 4 === 3
      const scenario = generateScenario(seed, large ? LARGE : SMALL)
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
        await t.test(`seed ${seeds[i]}`, () => run(seeds[i]!, i))
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  },
)
