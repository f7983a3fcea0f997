/**
 * `npm run bench`: every performance figure measured on kappadb, on the original it replaces and on
 * Autobase 7 + Hyperbee 2, in one run on one machine, each scenario in a fresh child process,
 * several runs, medians, ratios, and the machine's own limits beside them. See docs/BENCHMARKS.md.
 *
 * Options:
 *   --quick            small sizes, one run each (a smoke test of the whole bench, ~2–3 minutes)
 *   --runs N           runs per scenario and side (default 5, 3 for the long rows; median reported)
 *   --only a,b         only the rows (and limits) whose id contains one of these strings
 *   --kappadb-only     skip every other side (their figures then read n/a)
 *   --no-originals     skip the originals (hyperkv 2.1, kappa-core 6)
 *   --no-mem           skip the originals' in-memory backends
 *   --no-autobase      skip Autobase + Hyperbee
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
import { LIMITS, ROWS, SIDES, type Measure, type Row, type Side } from './rows.js'
import {
  formatNumber,
  formatRatio,
  formatShare,
  markdownTable,
  median,
  meets,
  ratio,
  targetText,
} from './table.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const ORIGINALS = join(ROOT, 'bench', 'originals')
const AUTOBASE = join(ROOT, 'bench', 'autobase')
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
    sides: [...SIDES],
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
    else if (arg === '--no-originals')
      opts.sides = opts.sides.filter((s) => s !== 'original' && s !== 'original-mem')
    else if (arg === '--no-mem') opts.sides = opts.sides.filter((s) => s !== 'original-mem')
    else if (arg === '--no-autobase') opts.sides = opts.sides.filter((s) => s !== 'autobase')
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
    'npm run bench -- [--quick] [--runs N] [--only ids] [--kappadb-only] [--no-originals] [--no-mem] [--no-autobase] [--no-limits | --limits-only] [--cpu-prof] [--json FILE]\n' +
    `rows: ${ROWS.map((r) => r.id).join(', ')}\nlimits: ${LIMITS.map((l) => l.id).join(', ')}`
  )
}

/**
 * The other sides live in packages of their own under bench/ (never dependencies of kappadb):
 * installed from their locks the first time a run needs them.
 */
const PACKAGES = {
  originals: {
    dir: ORIGINALS,
    modules: ['hyperkv', 'kappa-core'],
    note: 'the originals into bench/originals (npm ci, once; sodium-native 2 compiles, needs a C toolchain and libtool)',
  },
  autobase: {
    dir: AUTOBASE,
    modules: ['autobase', 'hyperbee'],
    note: 'Autobase + Hyperbee into bench/autobase (npm ci, once; prebuilt binaries, nothing compiles)',
  },
}

function ensureInstalled({ dir, modules, note }: (typeof PACKAGES)[keyof typeof PACKAGES]): void {
  if (modules.every((m) => existsSync(join(dir, 'node_modules', m)))) return
  console.error(`bench: installing ${note}…`)
  execFileSync('npm', ['ci', '--prefix', dir, '--no-audit', '--no-fund'], { stdio: 'inherit' })
}

/** Whether a selected row runs a scenario on any of `sides`. */
function needs(opts: Options, sides: Side[]): boolean {
  return ROWS.some(
    (row) =>
      selected(row.id, opts.only) && sides.some((side) => opts.sides.includes(side) && row.scripts[side]),
  )
}

function selected(id: string, only: readonly string[]): boolean {
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
      samples: { kappadb: [], original: [], 'original-mem': [], autobase: [], 'classic-level': [] },
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

/** One figure: the medians of every side, and how kappadb compares with each. */
interface Line {
  id: string
  figure: string
  /** The measure's label within its row (the 1M row has several). */
  label: string | undefined
  unit: string
  measure: Measure
  values: Partial<Record<Side, number>>
  verdicts: Verdict[]
  errors: Partial<Record<Side, string>>
  failures: Partial<Record<Side, number>>
}

/** A comparison the contract judges: against a side, or an absolute bound (`absolute`). */
interface Verdict {
  against: 'original' | 'absolute' | 'autobase' | 'classic-level'
  /** Times better than that side (a share of it for `classic-level`); undefined for `absolute`. */
  ratio: number | undefined
  target: string
  ok: boolean | undefined
}

function verdicts(measure: Measure, values: Partial<Record<Side, number>>): Verdict[] {
  const k = values.kappadb
  const out: Verdict[] = []
  const target = measure.target
  if (target) {
    const r = ratio(measure, k, values.original)
    out.push({
      against: 'atMost' in target ? 'absolute' : 'original',
      ratio: 'atMost' in target ? undefined : r,
      target: targetText(measure),
      ok: meets(measure, k, r),
    })
  }
  if (measure.autobaseTarget !== undefined) {
    const r = ratio(measure, k, values.autobase)
    out.push({
      against: 'autobase',
      ratio: r,
      target: `≥ ${measure.autobaseTarget}×`,
      ok: r === undefined ? undefined : r >= measure.autobaseTarget,
    })
  }
  if (measure.classicLevelTarget !== undefined) {
    const share = ratio(measure, k, values['classic-level'])
    out.push({
      against: 'classic-level',
      ratio: share,
      target: `≥ ${formatShare(measure.classicLevelTarget)}`,
      ok: share === undefined ? undefined : share >= measure.classicLevelTarget,
    })
  }
  return out
}

function lines(outcomes: RowOutcome[]): Line[] {
  const out: Line[] = []
  for (const { row, samples, errors, failures } of outcomes) {
    for (const { label, measure } of row.measures) {
      const values: Partial<Record<Side, number>> = {}
      for (const side of SIDES) values[side] = medianOf(samples[side], measure.field)
      out.push({
        id: row.id,
        figure: label ? `${row.figure}: ${label}` : row.figure,
        label,
        unit: measure.unit,
        measure,
        values,
        verdicts: verdicts(measure, values),
        errors,
        failures,
      })
    }
  }
  return out
}

/** The median, or `failed`; `(k failed)` marks a median over fewer runs. */
function cell(l: Line, side: Side): string {
  const value = l.values[side]
  if (value === undefined) return l.errors[side] ? 'failed' : 'n/a'
  return `${formatNumber(value)}${l.failures[side] ? ` (${l.failures[side]} failed)` : ''}`
}

function okText(ok: boolean | undefined): string {
  return ok === undefined ? '—' : ok ? 'yes' : 'NO'
}

/** The target and verdict cells of the comparisons named, joined (`—` when there are none). */
function judged(vs: Verdict[]): [string, string] {
  if (vs.length === 0) return ['—', '—']
  const oks = vs.map((v) => v.ok)
  const ok = oks.includes(false) ? false : oks.includes(undefined) ? undefined : true
  return [vs.map((v) => v.target).join(' and '), okText(ok)]
}

const of = (l: Line, ...against: Verdict['against'][]): Verdict[] =>
  l.verdicts.filter((v) => against.includes(v.against))

/**
 * kappadb against the originals and, beside them, against Autobase + Hyperbee (those columns when a
 * row ran on it). The first target column holds the target over the original or an absolute bound.
 */
function figuresTable(ls: Line[], withAutobase: boolean): string {
  const autobase = (l: Line): string[] =>
    withAutobase
      ? [
          cell(l, 'autobase'),
          formatRatio(ratio(l.measure, l.values.kappadb, l.values.autobase)),
          ...judged(of(l, 'autobase')),
        ]
      : []
  return markdownTable(
    [
      'figure',
      'unit',
      'kappadb',
      'original',
      'ratio',
      'target',
      'ok',
      ...(withAutobase ? ['Autobase + Hyperbee', 'ratio', 'target', 'ok'] : []),
      'original in memory',
      'ratio',
    ],
    ls.map((l) => [
      l.figure,
      l.unit,
      cell(l, 'kappadb'),
      cell(l, 'original'),
      formatRatio(ratio(l.measure, l.values.kappadb, l.values.original)),
      ...judged(of(l, 'original', 'absolute')),
      ...autobase(l),
      cell(l, 'original-mem'),
      formatRatio(ratio(l.measure, l.values.kappadb, l.values['original-mem'])),
    ]),
  )
}

/** kappadb's share of the raw storage operation under it. */
function machineTable(ls: Line[]): string {
  return markdownTable(
    ['figure', 'unit', 'kappadb', 'raw classic-level', 'share', 'target', 'ok'],
    ls
      .filter((l) => l.measure.classicLevelTarget !== undefined)
      .map((l) => {
        const share = ratio(l.measure, l.values.kappadb, l.values['classic-level'])
        return [
          `${l.figure}: against a raw classic-level awaited put of the same value`,
          l.unit,
          cell(l, 'kappadb'),
          cell(l, 'classic-level'),
          share === undefined ? 'n/a' : formatShare(share),
          ...judged(of(l, 'classic-level')),
        ]
      }),
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
  if (opts.rows && needs(opts, ['original', 'original-mem'])) ensureInstalled(PACKAGES.originals)
  if (opts.rows && needs(opts, ['autobase'])) ensureInstalled(PACKAGES.autobase)
  mkdirSync(join(RESULTS, 'profiles'), { recursive: true })
  console.error(
    `bench: ${opts.quick ? 'quick' : 'full'} run, ${opts.runs ?? 'each row’s default number of'} run(s) per scenario; ${describeMachine(machine)}`,
  )
  const rowOutcomes = opts.rows ? await runRows(opts) : []
  const limitOutcomes = opts.limits ? await runLimits(opts) : []
  const ls = lines(rowOutcomes)
  const ran = rowOutcomes.map((o) => o.row)
  const withAutobase = opts.sides.includes('autobase') && ran.some((r) => r.scripts.autobase)
  const tables = [
    figuresTable(ls, withAutobase),
    ...(ls.some((l) => l.measure.classicLevelTarget !== undefined)
      ? [`Against the machine (the raw storage operation, same kind of process):\n\n${machineTable(ls)}`]
      : []),
  ]

  const report = [
    `kappadb vs the originals and Autobase + Hyperbee — ${opts.quick ? 'quick run (small sizes)' : `medians of ${opts.runs ?? '5 runs (3 for the replication, live-latency and 1M rows)'}${opts.runs ? ' runs' : ''}`}`,
    `machine: ${describeMachine(machine)}`,
    `original: hyperkv 2.1.1 + hyperlog 4.12.1 on levelup@1 + leveldown (in memory: memdb); kappa-core 6.0.0 + kappa-view 3.1.0 + memdb, logs on disk (in memory: random-access-memory). Autobase 7.28.1 + Hyperbee 2.27.3 on kappadb's hypercore 11.37.1 and corestore 7.12.5 (bench/autobase). Ratios: how many times better kappadb is (time and memory inverted).`,
    '',
    ...tables.flatMap((t) => [t, '']),
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
  const missed = ls.flatMap((l) =>
    l.verdicts
      .filter((v) => v.ok === false)
      .map((v) => `${l.id}${l.label ? ` ${l.label}` : ''} vs ${v.against}`),
  )
  if (missed.length) console.error(`bench: ${missed.length} figure(s) below target: ${missed.join(', ')}`)
}

main().catch((err: unknown) => {
  console.error(err)
  process.exit(1)
})
