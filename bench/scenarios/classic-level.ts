/**
 * The machine's floor under kappadb's sequential put: a raw classic-level awaited `put` of the same
 * key and value (the value JSON-encoded, as a store would hold it), in the same kind of process as
 * bench/scenarios/hyperkv.ts `put-seq` (a fresh child through tsx, the same warm-up):
 *   node --import tsx bench/scenarios/classic-level.ts put-seq disk <n>
 */
import { ClassicLevel } from 'classic-level'
import { runScenarios, timed, tmpdir, type Scenario } from './common.js'

const WARMUP = 100

const value = (i: number): string => JSON.stringify({ n: i, text: `value number ${i}` })
const key = (i: number): string => `key-${String(i).padStart(8, '0')}`

const scenarios: Record<string, Scenario> = {
  async 'put-seq'(_backend, n) {
    const db = new ClassicLevel<string, string>(tmpdir('classic-level'))
    await db.open()
    for (let i = 0; i < WARMUP; i++) await db.put(key(1e7 + i), value(i))
    const seconds = await timed('classic-level-put-seq', async () => {
      for (let i = 0; i < n; i++) await db.put(key(i), value(i))
    })
    if ((await db.get(key(n - 1))) !== value(n - 1)) throw new Error(`wrong value for ${key(n - 1)}`)
    await db.close()
    return { count: n, seconds, unit: 'puts' }
  },
}

runScenarios(scenarios)
