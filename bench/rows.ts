/**
 * Every figure of CONTRACT §6, with the scenario that measures it on each side. Sizes are chosen so
 * a full run stays near ten minutes on a 2-core machine; `--quick` uses the small sizes.
 */

/** Which implementation a scenario runs. `original-mem` is the original on its in-memory backend. */
export type Side = 'kappadb' | 'original' | 'original-mem'

export interface Measure {
  /** Column heading of the value, e.g. `puts/s`. */
  unit: string
  /** Which field of the scenario's result is the figure. */
  field: string
  /** true when a bigger value is better (rates); false for seconds and megabytes. */
  higherIsBetter: boolean
  /** Contract target: a ratio over the original (`ratio`) or an absolute ceiling (`atMost`); none for information. */
  target?: { ratio: number } | { atMost: number }
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
}
const KAPPA = {
  kappadb: 'bench/scenarios/kappa.ts',
  original: 'bench/originals/scenarios/kappa-core.cjs',
  'original-mem': 'bench/originals/scenarios/kappa-core.cjs',
}
const rate = (unit: string, ratio: number): Measure => ({
  unit,
  field: 'rate',
  higherIsBetter: true,
  target: { ratio },
})

export const ROWS: Row[] = [
  {
    id: 'put-seq',
    figure: 'hyperkv sequential put, each awaited, on disk',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'put-seq',
    size: { full: 3000, quick: 500 },
    runs: 5,
    measures: [{ measure: rate('puts/s', 3) }],
  },
  {
    id: 'put-concurrent',
    figure: '1,000 concurrent puts',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'put-concurrent',
    size: { full: 1000, quick: 1000 },
    runs: 5,
    measures: [{ measure: rate('puts/s', 20) }],
  },
  {
    id: 'batch',
    figure: 'batch rows/s (batches of 1,000 rows)',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'batch',
    size: { full: 10000, quick: 2000 },
    runs: 5,
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
    measures: [{ measure: rate('gets/s', 3) }],
  },
  {
    id: 'get-warm',
    figure: 'get, each awaited, in the process that wrote (warm caches)',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'get-warm',
    size: { full: 10000, quick: 2000 },
    runs: 5,
    measures: [{ measure: rate('gets/s', 3) }],
  },
  {
    id: 'read-stream',
    figure: 'createReadStream with values, store reopened',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'read-stream',
    size: { full: 10000, quick: 2000 },
    runs: 5,
    measures: [{ measure: rate('rows/s', 3) }],
  },
  {
    id: 'replicate-kv',
    figure: 'replicate 20k nodes to an empty peer until get works there',
    original: 'hyperkv 2.1',
    scripts: KV,
    scenario: 'replicate',
    size: { full: 20000, quick: 2000 },
    runs: 3,
    measures: [{ measure: rate('nodes/s', 5) }],
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
