/**
 * kappadb against another checkout of itself, row by row: `npm run bench:ab -- OTHER [options]`.
 * For a structural change, the whole bench against the main before it in one run: every row's
 * kappadb scenario runs from this checkout (A) and from OTHER (B, a checkout with its own
 * node_modules, e.g. a `git worktree` of the earlier main), A and B alternating within each run so
 * a busy moment of the machine hits both alike, each in a fresh child process.
 *
 * Options:
 *   --runs N      runs per row and side (default: each row's own, as `npm run bench`)
 *   --only a,b    only the rows whose id contains one of these strings
 *   --quick       the rows' quick sizes, one run each
 *
 * Prints, per measure, the medians of A and B, A as a share of B (inverted for times and
 * megabytes, so above 100% is better) and `BELOW` where A is more than 5% worse. A row B cannot
 * run (a scenario it does not have) reads n/a.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runChild, type ChildResult } from './child.js'
import { ROWS } from './rows.js'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
/** Worse than this share of B is reported. */
const TOLERANCE = 0.95

interface Options {
  other: string
  runs: number | undefined
  only: string[]
  quick: boolean
}

function parse(argv: string[]): Options {
  const opts: Options = { other: '', runs: undefined, only: [], quick: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--runs') opts.runs = Number(argv[++i])
    else if (arg === '--only') opts.only.push(...(argv[++i] ?? '').split(','))
    else if (arg === '--quick') opts.quick = true
    else if (!arg.startsWith('-') && !opts.other) opts.other = resolve(arg)
    else throw new Error(`bench/ab.ts: unknown argument ${arg}`)
  }
  if (!opts.other || !existsSync(join(opts.other, 'node_modules'))) {
    throw new Error(
      'usage: npm run bench:ab -- OTHER_CHECKOUT (with its node_modules) [--runs N] [--only ids] [--quick]',
    )
  }
  if (opts.runs !== undefined && !(Number.isInteger(opts.runs) && opts.runs > 0)) {
    throw new Error('--runs takes a positive integer')
  }
  return opts
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const format = (n: number | undefined): string =>
  n === undefined ? 'n/a' : n.toLocaleString('en', { maximumSignificantDigits: 4 })

async function main(): Promise<void> {
  const opts = parse(process.argv.slice(2))
  const checkouts = { A: ROOT, B: opts.other }
  console.log(`A: ${checkouts.A}\nB: ${checkouts.B}`)
  const lines: string[] = ['| row | figure | unit | A | B | A/B | |', '|---|---|---|---|---|---|---|']
  let below = 0
  for (const row of ROWS) {
    const script = row.scripts.kappadb
    if (!script) continue
    if (opts.only.length > 0 && !opts.only.some((o) => row.id.includes(o))) continue
    const n = opts.quick ? row.size.quick : row.size.full
    const runs = opts.quick ? 1 : (opts.runs ?? row.runs)
    const samples: Record<'A' | 'B', ChildResult[]> = { A: [], B: [] }
    for (let run = 1; run <= runs; run++) {
      for (const side of ['A', 'B'] as const) {
        const cwd = checkouts[side]
        if (!existsSync(join(cwd, script))) continue
        try {
          samples[side].push(
            await runChild({
              args: ['--import', 'tsx', join(cwd, script), row.scenario, 'disk', String(n)],
              cwd,
              timeoutMs: 300_000,
            }),
          )
        } catch (err) {
          console.error(`  ${row.id} ${side} run ${run}/${runs}: FAILED ${(err as Error).message}`)
        }
      }
      console.error(`  ${row.id} run ${run}/${runs} done`)
    }
    for (const { label, measure } of row.measures) {
      const value = (side: 'A' | 'B') =>
        median(samples[side].map((s) => s[measure.field]).filter((v): v is number => typeof v === 'number'))
      const a = value('A')
      const b = value('B')
      const share =
        a === undefined || b === undefined || a <= 0 || b <= 0
          ? undefined
          : measure.higherIsBetter
            ? a / b
            : b / a
      const worse = share !== undefined && share < TOLERANCE
      if (worse) below++
      lines.push(
        `| ${row.id} | ${label ?? row.figure} | ${measure.unit} | ${format(a)} | ${format(b)} | ${share === undefined ? 'n/a' : `${(share * 100).toFixed(0)}%`} | ${worse ? 'BELOW' : ''} |`,
      )
    }
  }
  console.log(lines.join('\n'))
  console.log(`${below} figure(s) more than ${((1 - TOLERANCE) * 100).toFixed(0)}% below B`)
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
