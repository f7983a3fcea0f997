/** `get KEY`, `list [...]`, `history KEY`: JSON on stdout. */
import type { KvReadRow, KvReadStreamOptions } from '../../kv/index.js'
import type { Prepare } from '../context.js'
import { toJson, writeJsonLines, writeOut } from '../output.js'
import { optionalString, parseCount, parseFlag } from '../values.js'

export const prepareGet: Prepare = (inv) => {
  const [key] = inv.args as [string]
  const fields = inv.options.fields === true
  return async (kv, { io }) => {
    const values = await kv.get(key, { fields })
    // Indented, as the original command printed it.
    await writeOut(io.stdout, toJson(byHash(values), 2) + '\n')
  }
}

export const prepareList: Prepare = (inv) => {
  const o = inv.options
  const opts: KvReadStreamOptions = {}
  const limit = parseCount(o.limit, 'limit', 'list')
  if (limit !== undefined) opts.limit = limit
  const values = parseFlag(o.values, 'values', 'list')
  if (values !== undefined) opts.values = values
  if (o.fields === true) opts.fields = true
  if (o.live === true) opts.live = true
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    const key = optionalString(o[bound])
    if (key !== undefined) opts[bound] = key
  }
  return async (kv, { io, signal }) => {
    await writeJsonLines(io.stdout, kv.createReadStream(opts), signal, (row) =>
      canonicalRow(row as KvReadRow),
    )
  }
}

export const prepareHistory: Prepare = (inv) => {
  const [key] = inv.args as [string]
  return async (kv, { io, signal }) => {
    await writeJsonLines(io.stdout, kv.createHistoryStream(key), signal)
  }
}

/*
 * A key's heads come out of the store in this replica's insertion order, which differs between
 * replicas that received the same nodes in another order. The command prints them sorted by hash,
 * so two synced replicas print byte-identical output.
 */
function byHash<V>(values: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
}

function canonicalRow(row: KvReadRow): KvReadRow {
  const sorted: KvReadRow = { ...row, links: [...row.links].sort() }
  if (row.values) sorted.values = byHash<unknown>(row.values) as KvReadRow['values']
  return sorted
}
