/**
 * kappadb's Kappa with the seed README's sum view (levelView over memory-level, default settings),
 * run exactly as bench/originals/scenarios/kappa-core.cjs runs kappa-core 6:
 *   node --import tsx bench/scenarios/kappa.ts <sum|replicate|million> disk <n>
 */
import { execFileSync } from 'node:child_process'
import { finished } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { Kappa, levelView, type LevelLike, type View } from '../../src/index.js'
import { timed, peakRssMB, runScenarios, tmpdir, type Scenario } from './common.js'

type SumApi = { get(core: unknown, cb: (err: Error | null, sum?: number) => void): void }
type SumCore = Kappa<unknown, { sum: SumApi }>

// The seed README's view, as the original's scenario runs it (json values so the sum stays a number).
function sumview(store: LevelLike): View<unknown, SumApi> {
  return levelView<unknown, SumApi, number>(store, { valueEncoding: 'json' }, (db) => ({
    map(entries, next) {
      void db.get('sum', (err, value) => {
        let sum: number
        if (err && (err as { notFound?: boolean }).notFound) sum = 0
        else if (err) return next(err)
        else sum = value as number
        entries.forEach((entry) => {
          if (typeof entry.value === 'number') sum += entry.value
        })
        void db.put('sum', sum, next)
      })
    },
    api: {
      get(
        this: { ready(cb: () => void): void },
        _core: unknown,
        cb: (err: Error | null, sum?: number) => void,
      ) {
        this.ready(() => {
          void db.get('sum', (err, value) => {
            if (err && (err as { notFound?: boolean }).notFound) cb(null, 0)
            else cb(err, value)
          })
        })
      },
    },
  }))
}

function open(dir = tmpdir('kappa')): SumCore {
  return new Kappa(dir, { valueEncoding: 'json' }) as SumCore
}

/** n entries (the number 1 each) in one writer, appended in arrays of 1000. */
async function fill(core: SumCore, n: number): Promise<void> {
  const writer = await core.writer('default')
  for (let i = 0; i < n; i += 1000) await writer.append(new Array(Math.min(1000, n - i)).fill(1))
}

async function checkSum(core: SumCore, n: number): Promise<void> {
  const sum = await new Promise<number | undefined>((resolve, reject) =>
    core.api.sum.get((err, s) => (err ? reject(err) : resolve(s))),
  )
  if (sum !== n) throw new Error(`sum is ${String(sum).slice(0, 40)}, expected ${n}`)
}

function openPersistent(dir: string): { core: SumCore; db: ClassicLevel } {
  const core = open(`${dir}/logs`)
  const db = new ClassicLevel(`${dir}/views`)
  core.use('sum', 1, sumview(db as unknown as LevelLike))
  return { core, db }
}

const scenarios: Record<string, Scenario> = {
  // Entries already in the log; time from adding the view until it is ready.
  async sum(_backend, n) {
    const core = open()
    await fill(core, n)
    const seconds = await timed('kappa-sum', async () => {
      core.use('sum', 1, sumview(new MemoryLevel() as unknown as LevelLike))
      await core.ready('sum')
    })
    await checkSum(core, n)
    await core.close()
    return { count: n, seconds, unit: 'entries' }
  },

  // A holds the entries; B (empty, with the view) replicates them and indexes until ready.
  async replicate(_backend, n) {
    const a = open()
    await fill(a, n)
    const b = open()
    b.use('sum', 1, sumview(new MemoryLevel() as unknown as LevelLike))
    await b.ready()
    const seconds = await timed('kappa-replicate', async () => {
      const left = a.replicate(true)
      const right = b.replicate(false)
      left.pipe(right).pipe(left)
      await Promise.all([finished(left), finished(right)])
      await b.ready('sum')
    })
    await checkSum(b, n)
    await Promise.all([a.close(), b.close()])
    return { count: n, seconds, unit: 'entries' }
  },

  // n entries appended (arrays of 1000) while the sum view (classic-level on disk) indexes them,
  // then a fresh process reopens the directory until the view is ready again.
  async million(backend, n) {
    const dir = tmpdir('kappa-million')
    const { core, db } = openPersistent(dir)
    const seconds = await timed('kappa-million', async () => {
      await fill(core, n)
      await core.ready('sum')
    })
    await checkSum(core, n)
    const writeRssMB = peakRssMB()
    await core.close()
    await db.close()
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), 'million-reopen', backend, String(n), dir],
      { encoding: 'utf8' },
    )
    const line = out.split('\n').find((l) => l.startsWith('RESULT ')) ?? ''
    const reopen = JSON.parse(line.slice(7)) as { seconds: number; peakRssMB: number }
    return {
      count: n,
      seconds,
      unit: 'entries',
      writeRssMB,
      reopenSeconds: reopen.seconds,
      reopenRssMB: reopen.peakRssMB,
    }
  },

  async 'million-reopen'(_backend, n) {
    const dir = process.argv[5] ?? ''
    let opened: ReturnType<typeof openPersistent> | undefined
    const seconds = await timed('kappa-million-reopen', async () => {
      opened = openPersistent(dir)
      await opened.core.ready('sum')
    })
    const { core, db } = opened!
    await checkSum(core, n)
    await core.close()
    await db.close()
    return { seconds }
  },
}

runScenarios(scenarios, (name) => name === 'million-reopen')
