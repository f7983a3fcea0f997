/** `get KEY`, `list [...]`, `history KEY`: JSON on stdout. */
import type { KvReadStreamOptions } from '../../kv/index.js'
import type { Prepare } from '../context.js'
import { toJson, writeJsonLines, writeOut } from '../output.js'
import { holderStopped } from '../stop.js'
import { optionalString, parseCount, parseFlag } from '../values.js'

/** The rows stopped because the holder serving this command stopped: that is no success. */
function throwIfHolderStopped(signal: AbortSignal, dir: string): void {
  const stopped = holderStopped(signal, dir)
  if (stopped) throw stopped
}

export const prepareGet: Prepare = (inv) => {
  const [key] = inv.args as [string]
  const fields = inv.options.fields === true
  return async (kv, { io }) => {
    const values = await kv.get(key, { fields })
    // Indented, as the original command printed it.
    await writeOut(io.stdout, toJson(values, 2) + '\n')
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
  return async (kv, { io, signal, dir }) => {
    await writeJsonLines(io.stdout, kv.createReadStream(opts), signal)
    throwIfHolderStopped(signal, dir)
  }
}

export const prepareHistory: Prepare = (inv) => {
  const [key] = inv.args as [string]
  return async (kv, { io, signal, dir }) => {
    await writeJsonLines(io.stdout, kv.createHistoryStream(key), signal)
    throwIfHolderStopped(signal, dir)
  }
}
