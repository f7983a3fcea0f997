/**
 * Every performance figure (docs/BENCHMARKS.md), with the scenario that measures it on each side.
 * Sizes are chosen so a full run stays near a quarter of an hour on a 2-core machine; `--quick`
 * uses the small sizes.
 */

/**
 * Which implementation a scenario runs. `original-mem` is the original on its in-memory backend;
 * `autobase` is Autobase 7 + Hyperbee 2 (bench/autobase); `classic-level` is the raw storage
 * operation under a kappadb figure (the machine's floor).
 */
export type Side = 'kappadb' | 'original' | 'original-mem' | 'autobase' | 'classic-level'
export const SIDES: Side[] = ['kappadb', 'original', 'original-mem', 'autobase', 'classic-level']

export interface Measure {
  /** Column heading of the value, e.g. `puts/s`. */
  unit: string
  /** Which field of the scenario's result is the figure. */
  field: string
  /** true when a bigger value is better (rates); false for seconds and megabytes. */
  higherIsBetter: boolean
  /** Contract target: a ratio over the original (`ratio`) or an absolute ceiling (`atMost`); none for information. */
  target?: { ratio: number } | { atMost: number }
  /** Contract target as a ratio over Autobase + Hyperbee (2 for a time: at most half of theirs). */
  autobaseTarget?: number
  /** Contract target as kappadb's share of the raw classic-level rate (0.35 = 35%). */
  classicLevelTarget?: number
}

export interface Row {
  id: string
  figure: string
  /** The original it is compared with (column note). */
  original: string
  /** Scenario script per side, relative to the repo root, and its scenario name. */
  scripts: Partial<Record<Side, string>>
  scenario: string
  size: { full: number; quick: number }
  /** Runs per side in a full run (the median is reported): more for short, noisy rows. */
  runs: number
  /** One table line per measure (the 1M row has two). */
  measures: { label?: string; measure: Measure }[]
}

const KV = {
  kappadb: 'bench/scenarios/hyperkv.ts',
  original: 'bench/originals/scenarios/hyperkv.cjs',
  'original-mem': 'bench/originals/scenarios/hyperkv.cjs',
  autobase: 'bench/autobase/scenarios/autobase.cjs',
}
const KAPPA = {
  kappadb: 'bench/scenarios/kappa.ts',
  original: 'bench/originals/scenarios/kappa-core.cjs',
  'original-mem': 'bench/originals/scenarios/kappa-core.cjs',
}
/** The target over Autobase + Hyperbee of every hyperkv workload (beside the one over hyperkv 2.1). */
const AUTOBASE = 3
const rate = (unit: string, ratio: number | undefined, autobaseTarget?: number): Measure => ({
  unit,
  field: 'rate',
  higherIsBetter: true,
  ...(ratio === undefined ? {} : { target: { ratio } }),
  ...(autobaseTarget === undefined ? {} : { autobaseTarget }),
})
const latency = (field: string, atMost: number): Measure => ({
  unit: 'ms',
  field,
  higherIsBetter: false,
  target: { atMost },
  autobaseTarget: 2,
})

export const ROWS: Row[] = [
  {
    id: 'put-seq',
    figure: 'hyperkv sequential put, each awaited, on disk',
    original: 'hyperkv 2.1',
    scripts: { ...KV, 'classic-level': 'bench/scenarios/classic-level.ts' },
    scenario: 'put-seq',
    size: { full: 3000, quick: 500 },
    runs: 5,
    measures: [{ measure: { ...rate('puts/s', 3, AUTOBASE), classicLevelTarget: 0.35 } }],
  },
  {
    id: 'put-concurrent',
    figure: '1,000 concurrent puts',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'put-concurrent',
    size: { full: 1000, quick: 1000 },
    runs: 5,
    measures: [{ measure: rate('puts/s', 20, AUTOBASE) }],
  },
  {
    id: 'batch',
    figure: 'batch rows/s (batches of 1,000 rows)',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'batch',
    size: { full: 10000, quick: 2000 },
    runs: 5,
    measures: [{ measure: rate('rows/s', 20, AUTOBASE) }],
  },
  {
    id: 'batch-cold',
    figure: 'batch rows/s measured cold (a fresh process, 20 batches of 1,000 rows, no warm-up)',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'batch-cold',
    size: { full: 20000, quick: 5000 },
    runs: 5,
    // Autobase's figure is for information: the cold batch's target is over hyperkv 2.1 only.
    measures: [{ measure: rate('rows/s', 20) }],
  },
  {
    id: 'get',
    figure: 'get, each awaited, store reopened (cold caches)',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'get',
    size: { full: 10000, quick: 2000 },
    runs: 5,
    measures: [{ measure: rate('gets/s', 3, AUTOBASE) }],
  },
  {
    id: 'get-warm',
    figure: 'get, each awaited, in the process that wrote (warm caches)',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'get-warm',
    size: { full: 10000, quick: 2000 },
    runs: 5,
    measures: [{ measure: rate('gets/s', 3, AUTOBASE) }],
  },
  {
    id: 'read-stream',
    figure: 'createReadStream with values, store reopened',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'read-stream',
    size: { full: 10000, quick: 2000 },
    runs: 5,
    measures: [{ measure: rate('rows/s', 3, AUTOBASE) }],
  },
  {
    id: 'replicate-kv',
    figure: 'replicate 20k nodes to an empty peer',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'replicate',
    size: { full: 20000, quick: 2000 },
    runs: 3,
    measures: [
      // Autobase fast-forwards: its figure is "until the last key is readable" (docs/BENCHMARKS.md).
      { label: 'until get works there', measure: rate('nodes/s', 5, AUTOBASE) },
      {
        label: 'until every node is local there',
        measure: { unit: 'nodes/s', field: 'wholeRate', higherIsBetter: true },
      },
    ],
  },
  {
    id: 'live-latency',
    figure: 'live propagation: a put on A until get on B returns it',
    original: '—',
    scripts: { kappadb: KV.kappadb, autobase: KV.autobase },
    scenario: 'live-latency',
    size: { full: 1000, quick: 200 },
    runs: 3,
    measures: [
      { label: 'p50', measure: latency('p50', 5) },
      { label: 'p99', measure: latency('p99', 25) },
    ],
  },
  {
    id: 'sum',
    figure: 'sum view over 100k entries, default settings, until ready',
    original: 'kappa-core 6',
    scripts: KAPPA,
    scenario: 'sum',
    size: { full: 100000, quick: 20000 },
    runs: 5,
    measures: [{ measure: rate('entries/s', 2) }],
  },
  {
    id: 'replicate-view',
    figure: "replicate 50k entries until the other side's view is ready",
    original: 'kappa-core 6',
    scripts: KAPPA,
    scenario: 'replicate',
    size: { full: 50000, quick: 5000 },
    runs: 3,
    measures: [{ measure: rate('entries/s', 2) }],
  },
  {
    id: 'million',
    figure: '1M entries',
    original: 'kappa-core 6',
    // The original's in-memory backend cannot be reopened.
    scripts: { kappadb: KAPPA.kappadb, original: KAPPA.original },
    scenario: 'million',
    size: { full: 1000000, quick: 100000 },
    runs: 3,
    measures: [
      {
        label: 'peak RSS while appending and indexing (sum view on disk)',
        measure: { unit: 'MB', field: 'writeRssMB', higherIsBetter: false, target: { atMost: 250 } },
      },
      {
        label: 'reopen until the view is ready',
        measure: { unit: 's', field: 'reopenSeconds', higherIsBetter: false, target: { atMost: 1 } },
      },
      {
        label: 'append and index',
        measure: { unit: 'entries/s', field: 'rate', higherIsBetter: true },
      },
    ],
  },
  ...[1000, 5000].map((n): Row => ({
    id: `scale-${n / 1000}k`,
    figure: `scale: ${n.toLocaleString('en')} local writers (--quick: ${(n / 10).toLocaleString('en')}) × 10 entries, count view`,
    original: 'kappa-core 6',
    // kappa-core 6 keeps its logs on disk only here: its in-memory backend has no reopen to measure.
    scripts: { kappadb: 'bench/scenarios/scale.ts', original: KAPPA.original },
    scenario: 'scale',
    size: { full: n, quick: n / 10 },
    runs: 1,
    measures: [
      {
        label: 'reopen until the view is ready',
        measure: { unit: 's', field: 'reopenSeconds', higherIsBetter: false, target: { atMost: 0.5 } },
      },
      {
        label: 'memory per idle feed after reopen',
        measure: { unit: 'KB', field: 'reopenRssKBPerFeed', higherIsBetter: false, target: { atMost: 10 } },
      },
      {
        label: 'open files after reopen',
        measure: { unit: 'files', field: 'reopenOpenFiles', higherIsBetter: false },
      },
      {
        label: 'first sync to an empty peer until its view is ready',
        measure: { unit: 's', field: 'firstSyncSeconds', higherIsBetter: false, target: { ratio: 3 } },
      },
      {
        label: 'reconnect in sync',
        measure: { unit: 'ms', field: 'sameMs', higherIsBetter: false, target: { atMost: 100 } },
      },
      {
        label: 'reconnect in sync, bytes A→B',
        measure: { unit: 'B', field: 'sameBytesAB', higherIsBetter: false, target: { atMost: 1024 } },
      },
      {
        label: 'reconnect in sync, bytes B→A',
        measure: { unit: 'B', field: 'sameBytesBA', higherIsBetter: false, target: { atMost: 1024 } },
      },
      {
        label: 'reconnect after one new entry',
        measure: { unit: 'ms', field: 'oneMs', higherIsBetter: false },
      },
      {
        label: 'reconnect after one new entry, bytes A→B',
        measure: { unit: 'B', field: 'oneBytesAB', higherIsBetter: false, target: { atMost: 4096 } },
      },
      {
        label: 'reconnect after one new entry, bytes B→A',
        measure: { unit: 'B', field: 'oneBytesBA', higherIsBetter: false, target: { atMost: 4096 } },
      },
    ],
  })),
]

/** The machine's limits, measured by bench/limits.ts. */
export const LIMITS: { id: string; label: string; size: { full: number; quick: number } }[] = [
  {
    id: 'hypercore-batched-append',
    label: 'Hypercore 11 append of 1,000-entry arrays',
    size: { full: 100000, quick: 20000 },
  },
  { id: 'hypercore-append', label: 'Hypercore 11 single append, awaited', size: { full: 2000, quick: 500 } },
  {
    id: 'hypercore-replicate',
    label: 'Hypercore 11 replication, one entry per block',
    size: { full: 20000, quick: 5000 },
  },
  {
    id: 'classic-level-batch',
    label: 'classic-level batch writes (1,000 per batch)',
    size: { full: 200000, quick: 50000 },
  },
  { id: 'ed25519-sign', label: 'ed25519 signs (sodium)', size: { full: 0, quick: 0 } },
  { id: 'framed-sha256', label: "framed sha256 (hyperlog's node hash)", size: { full: 0, quick: 0 } },
]
