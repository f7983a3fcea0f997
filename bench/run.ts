/**
 * `npm run bench`: every figure of CONTRACT §6 measured on kappadb and on the original it replaces,
 * in one run on one machine, each scenario in a fresh child process, several runs, medians, ratios,
 * and the machine's own limits beside them. See docs/BENCHMARKS.md.
 *
 * Options:
 *   --quick            small sizes, one run each (a smoke test of the whole bench, ~1–2 minutes)
 *   --runs N           runs per scenario and side (default 5, 3 for the long rows; median reported)
 *   --only a,b         only the rows (and limits) whose id contains one of these strings
 *   --kappadb-only     skip the originals (their figures then read n/a)
 *   --no-mem           skip the originals' in-memory backends
 *   --no-limits        skip the machine limits; --limits-only: only them
 *   --cpu-prof         write V8 CPU profiles of the timed part of kappadb's scenarios to
 *                      bench/results/profiles/ (summarise them with bench/profile-summary.ts)
 *   --json FILE        also write the results there (default bench/results/latest.json on full runs)
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runChild, type ChildResult } from './child.js'
import { describeMachine, machineInfo } from './machine.js'
import { LIMITS, ROWS, type Row, type Side } from './rows.js'
import { formatNumber, formatRatio, markdownTable, median, meets, ratio, targetText } from './table.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ORIGINALS = join(ROOT, 'bench', 'originals')
const RESULTS = join(ROOT, 'bench', 'results')

interface Options {
  quick: boolean
  /** Runs per scenario and side; undefined: each row's own default (5, or 3 for long rows). */
  runs: number | undefined
  only: string[]
  sides: Side[]
  limits: boolean
  rows: boolean
  cpuProf: boolean
  json: string | undefined
}

function parseOptions(argv: string[]): Options {
  const opts: Options = {
    quick: false,
    runs: undefined,
    only: [],
    sides: ['kappadb', 'original', 'original-mem'],
    limits: true,
    rows: true,
    cpuProf: false,
    json: undefined,
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = (): string => {
      const v = argv[++i]
      if (v === undefined) throw new Error(`${arg} needs a value`)
      return v
    }
    if (arg === '--quick') opts.quick = true
    else if (arg === '--runs') {
      opts.runs = Math.max(1, Number(value()) | 0)
    } else if (arg === '--only') opts.only.push(...value().split(','))
    else if (arg === '--kappadb-only') opts.sides = ['kappadb']
    else if (arg === '--no-mem') opts.sides = opts.sides.filter((s) => s !== 'original-mem')
    else if (arg === '--no-limits') opts.limits = false
    else if (arg === '--limits-only') opts.rows = false
    else if (arg === '--cpu-prof') opts.cpuProf = true
    else if (arg === '--json') opts.json = resolve(value())
    else if (arg === '--help' || arg === '-h') {
      console.log(readHelp())
      process.exit(0)
    } else throw new Error(`unknown option ${arg} (see --help)`)
  }
  if (opts.quick && opts.runs === undefined) opts.runs = 1
  return opts
}

function readHelp(): string {
  return (
    'npm run bench -- [--quick] [--runs N] [--only ids] [--kappadb-only] [--no-mem] [--no-limits | --limits-only] [--cpu-prof] [--json FILE]\n' +
    `rows: ${ROWS.map((r) => r.id).join(', ')}\nlimits: ${LIMITS.map((l) => l.id).join(', ')}`
  )
}

/** The originals live in their own package; install them from its lock the first time. */
function ensureOriginals(): void {
  if (
    existsSync(join(ORIGINALS, 'node_modules', 'hyperkv')) &&
    existsSync(join(ORIGINALS, 'node_modules', 'kappa-core'))
  )
    return
  console.error(
    'bench: installing the originals into bench/originals (npm ci, once; sodium-native 2 compiles, needs a C toolchain and libtool)…',
  )
  execFileSync('npm', ['ci', '--prefix', ORIGINALS, '--no-audit', '--no-fund'], { stdio: 'inherit' })
}

function selected(id: string, only: string[]): boolean {
  return only.length === 0 || only.some((o) => id.includes(o))
}

function childArgs(script: string, side: Side, scenario: string, n: number): string[] {
  const backend = side === 'original-mem' ? 'mem' : 'disk'
  const flags = script.endsWith('.ts') ? ['--import', 'tsx'] : []
  return [...flags, join(ROOT, script), scenario, backend, String(n)]
}

type Samples = Record<Side, ChildResult[]>

interface RowOutcome {
  row: Row
  n: number
  samples: Samples
  errors: Partial<Record<Side, string>>
  failures: Partial<Record<Side, number>>
}

async function runRows(opts: Options): Promise<RowOutcome[]> {
  const outcomes: RowOutcome[] = []
  for (const row of ROWS) {
    if (!selected(row.id, opts.only)) continue
    const n = opts.quick ? row.size.quick : row.size.full
    const outcome: RowOutcome = {
      row,
      n,
      samples: { kappadb: [], original: [], 'original-mem': [] },
      errors: {},
      failures: {},
    }
    // Sides alternate within each run so a busy moment of the machine hits all of them alike.
    const runs = opts.runs ?? row.runs
    for (let run = 1; run <= runs; run++) {
      for (const side of opts.sides) {
        const script = row.scripts[side]
        if (!script) continue
        const started = Date.now()
        try {
          const result = await runChild({
            args: childArgs(script, side, row.scenario, n),
            // Profiles cover exactly the timed part of kappadb's scenarios (bench/scenarios/common.ts).
            env: opts.cpuProf && side === 'kappadb' ? { BENCH_CPU_PROF: join(RESULTS, 'profiles') } : {},
            cwd: ROOT,
            timeoutMs: opts.quick ? 120_000 : 300_000,
          })
          outcome.samples[side].push(result)
          const main = row.measures[0]!.measure
          console.error(
            `  ${row.id} ${side} run ${run}/${runs}: ${formatNumber(result[main.field] as number | undefined, main.unit)} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
          )
        } catch (err) {
          // Keep going: the other runs may succeed; the table says how many failed.
          outcome.failures[side] = (outcome.failures[side] ?? 0) + 1
          outcome.errors[side] = (err as Error).message
          console.error(`  ${row.id} ${side} run ${run}/${runs}: FAILED ${(err as Error).message}`)
        }
      }
    }
    outcomes.push(outcome)
  }
  return outcomes
}

interface LimitOutcome {
  id: string
  label: string
  rate: number | undefined
  unit: string
  error?: string
}

async function runLimits(opts: Options): Promise<LimitOutcome[]> {
  const outcomes: LimitOutcome[] = []
  for (const limit of LIMITS) {
    if (!selected(limit.id, opts.only)) continue
    const n = opts.quick ? limit.size.quick : limit.size.full
    const rates: number[] = []
    let unit = ''
    let error: string | undefined
    for (let run = 1; run <= Math.min(opts.runs ?? 3, 3); run++) {
      try {
        const r = await runChild({
          args: ['--import', 'tsx', join(ROOT, 'bench', 'limits.ts'), limit.id, 'disk', String(n)],
          cwd: ROOT,
          timeoutMs: 120_000,
        })
        rates.push(r.rate ?? 0)
        unit = String(r.unit ?? '')
      } catch (err) {
        error = (err as Error).message
        break
      }
    }
    const rate = median(rates)
    console.error(`  limit ${limit.id}: ${error ? `FAILED ${error}` : formatNumber(rate, `${unit}/s`)}`)
    outcomes.push({ id: limit.id, label: limit.label, rate, unit: `${unit}/s`, error })
  }
  return outcomes
}

function medianOf(samples: ChildResult[], field: string): number | undefined {
  return median(samples.map((s) => s[field]).filter((v): v is number => typeof v === 'number'))
}

interface Line {
  id: string
  figure: string
  unit: string
  kappadb: number | undefined
  original: number | undefined
  originalMem: number | undefined
  ratio: number | undefined
  ratioMem: number | undefined
  target: string
  ok: boolean | undefined
  errors: Partial<Record<Side, string>>
  failures: Partial<Record<Side, number>>
}

function lines(outcomes: RowOutcome[]): Line[] {
  const out: Line[] = []
  for (const { row, samples, errors, failures } of outcomes) {
    for (const { label, measure } of row.measures) {
      const k = medianOf(samples.kappadb, measure.field)
      const o = medianOf(samples.original, measure.field)
      const m = medianOf(samples['original-mem'], measure.field)
      const r = ratio(measure, k, o)
      out.push({
        id: row.id,
        figure: label ? `${row.figure}: ${label}` : row.figure,
        unit: measure.unit,
        kappadb: k,
        original: o,
        originalMem: m,
        ratio: r,
        ratioMem: ratio(measure, k, m),
        target: targetText(measure),
        ok: meets(measure, k, r),
        errors,
        failures,
      })
    }
  }
  return out
}

/** The median, or `failed`; `(k failed)` marks a median over fewer runs. */
function cell(l: Line, side: Side, value: number | undefined): string {
  if (value === undefined) return l.errors[side] ? 'failed' : 'n/a'
  return `${formatNumber(value)}${l.failures[side] ? ` (${l.failures[side]} failed)` : ''}`
}

function okText(ok: boolean | undefined): string {
  return ok === undefined ? '—' : ok ? 'yes' : 'NO'
}

function figuresTable(ls: Line[]): string {
  return markdownTable(
    ['figure', 'unit', 'kappadb', 'original', 'ratio', 'target', 'ok', 'original in memory', 'ratio'],
    ls.map((l) => [
      l.figure,
      l.unit,
      cell(l, 'kappadb', l.kappadb),
      cell(l, 'original', l.original),
      formatRatio(l.ratio),
      l.target,
      okText(l.ok),
      cell(l, 'original-mem', l.originalMem),
      formatRatio(l.ratioMem),
    ]),
  )
}

function limitsTable(limits: LimitOutcome[]): string {
  return markdownTable(
    ['machine limit', 'rate'],
    limits.map((l) => [l.label, l.error ? 'failed' : formatNumber(l.rate, l.unit)]),
  )
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2))
  const machine = machineInfo(ROOT)
  const started = Date.now()
  if (opts.rows && opts.sides.some((s) => s !== 'kappadb')) ensureOriginals()
  mkdirSync(join(RESULTS, 'profiles'), { recursive: true })
  console.error(
    `bench: ${opts.quick ? 'quick' : 'full'} run, ${opts.runs ?? 'each row’s default number of'} run(s) per scenario; ${describeMachine(machine)}`,
  )
  const rowOutcomes = opts.rows ? await runRows(opts) : []
  const limitOutcomes = opts.limits ? await runLimits(opts) : []
  const ls = lines(rowOutcomes)

  const report = [
    `kappadb vs the originals — ${opts.quick ? 'quick run (small sizes)' : `medians of ${opts.runs ?? '5 runs (3 for the replication and 1M rows)'}${opts.runs ? ' runs' : ''}`}`,
    `machine: ${describeMachine(machine)}`,
    `original: hyperkv 2.1.1 + hyperlog 4.12.1 on levelup@1 + leveldown (in memory: memdb); kappa-core 6.0.0 + kappa-view 3.1.0 + memdb, logs on disk (in memory: random-access-memory). Ratios: how many times better kappadb is (time and memory inverted).`,
    '',
    figuresTable(ls),
    '',
    ...(limitOutcomes.length ? [limitsTable(limitOutcomes), ''] : []),
    `bench took ${((Date.now() - started) / 1000).toFixed(0)} s`,
  ].join('\n')
  console.log(report)
  for (const o of rowOutcomes) {
    for (const [side, err] of Object.entries(o.errors)) console.log(`${o.row.id} ${side} failed: ${err}`)
  }

  const jsonPath =
    opts.json ??
    (!opts.quick && opts.only.length === 0 && opts.rows && opts.limits
      ? join(RESULTS, 'latest.json')
      : undefined)
  if (jsonPath) {
    const samples = rowOutcomes.map((o) => ({
      id: o.row.id,
      n: o.n,
      samples: o.samples,
      errors: o.errors,
      failures: o.failures,
    }))
    writeFileSync(
      jsonPath,
      `${JSON.stringify({ machine, options: opts, lines: ls, limits: limitOutcomes, samples }, null, 2)}\n`,
    )
    if (jsonPath.endsWith('.json')) writeFileSync(jsonPath.replace(/\.json$/, '.md'), `${report}\n`)
    console.error(`bench: results written to ${jsonPath}`)
  }
  const missed = ls.filter((l) => l.ok === false)
  if (missed.length)
    console.error(`bench: ${missed.length} figure(s) below target: ${missed.map((l) => l.id).join(', ')}`)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
