/** Medians, ratios and the printed tables of the bench. */
import type { Measure } from './rows.js'

export function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** How many times better kappadb is than the original on this measure (>1 = kappadb better). */
export function ratio(
  measure: Measure,
  kappadb: number | undefined,
  original: number | undefined,
): number | undefined {
  if (kappadb === undefined || original === undefined || kappadb <= 0 || original <= 0) return undefined
  return measure.higherIsBetter ? kappadb / original : original / kappadb
}

/** Whether kappadb meets the contract target; undefined when there is no target or no figure. */
export function meets(
  measure: Measure,
  kappadb: number | undefined,
  r: number | undefined,
): boolean | undefined {
  const target = measure.target
  if (!target || kappadb === undefined) return undefined
  if ('atMost' in target) return kappadb <= target.atMost
  return r === undefined ? undefined : r >= target.ratio
}

export function targetText(measure: Measure): string {
  const target = measure.target
  if (!target) return '—'
  return 'atMost' in target ? `≤ ${target.atMost} ${measure.unit}` : `≥ ${target.ratio}×`
}

export function formatNumber(value: number | undefined, unit = ''): string {
  if (value === undefined) return 'n/a'
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3
  const text = value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 })
  return unit ? `${text} ${unit}` : text
}

export function formatRatio(r: number | undefined): string {
  return r === undefined ? 'n/a' : `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}×`
}

/** A share as a percentage: 0.352 → `35%`. */
export function formatShare(share: number): string {
  return `${Math.round(share * 100)}%`
}

/** A Markdown table (it also reads well in a terminal). */
export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const line = (cells: string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n')
}
