/**
 * Argument checks of the public HyperKV methods: bad input → ERR_INVALID_ARGUMENT before anything
 * is written.
 */
import { KappaError } from '../errors.js'
import type { NodeHash } from '../hyperlog/index.js'
import type { WriteRow } from './hyperkv.js'
import type { KvFields } from './messages.js'
import type { BatchRow, GetOptions, KvReadStreamOptions, WriteOptions } from './types.js'
import { optionNames, rejectUnknownOptions } from '../util/options.js'

const WRITE_OPTIONS: ReadonlySet<string> = optionNames<WriteOptions>({ links: true, fields: true })
const NO_OPTIONS: ReadonlySet<string> = new Set()
const GET_OPTIONS: ReadonlySet<string> = optionNames<GetOptions>({ fields: true })
const BATCH_ROW: ReadonlySet<string> = optionNames<BatchRow>({
  type: true,
  key: true,
  value: true,
  links: true,
  fields: true,
})
const READ_STREAM_OPTIONS: ReadonlySet<string> = optionNames<KvReadStreamOptions>({
  gt: true,
  gte: true,
  lt: true,
  lte: true,
  limit: true,
  values: true,
  fields: true,
  live: true,
  old: true,
})

export function checkKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw KappaError.invalid('key must be a string')
}

/** Values are stored as JSON; what JSON cannot hold at the top level is refused. */
export function checkValue(value: unknown): void {
  const type = typeof value
  if (type === 'function' || type === 'symbol' || type === 'bigint') {
    throw KappaError.invalid('value must be JSON-serializable')
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function optionsObject(opts: unknown, known: ReadonlySet<string>, what: string): Record<string, unknown> {
  if (opts === undefined || opts === null) return {}
  if (!isPlainObject(opts)) throw KappaError.invalid('options must be an object')
  rejectUnknownOptions(opts, known, what)
  return opts
}

/** Links as hyperkv took them: hashes, or anything with a `key` (nodes, register entries). */
export function checkLinks(links: unknown): NodeHash[] | null {
  if (links === undefined || links === null) return null
  if (!Array.isArray(links)) throw KappaError.invalid('links must be an array')
  return links.map((link: unknown) => {
    const key = isPlainObject(link) ? link.key : link
    if (typeof key !== 'string' || key.length === 0) {
      throw KappaError.invalid('a link must be a node hash or a node with a key')
    }
    return key as NodeHash
  })
}

function checkFields(fields: unknown): KvFields | undefined {
  if (fields === undefined || fields === null) return undefined
  if (!isPlainObject(fields)) throw KappaError.invalid('fields must be an object')
  return fields
}

export function checkWriteOptions(opts: WriteOptions | undefined): {
  links: NodeHash[] | null
  fields: KvFields | undefined
} {
  const o = optionsObject(opts, WRITE_OPTIONS, 'write options')
  return { links: checkLinks(o.links), fields: checkFields(o.fields) }
}

/** `createHistoryStream` takes no options. */
export function checkHistoryOptions(opts: unknown): void {
  optionsObject(opts, NO_OPTIONS, 'history stream options')
}

export function checkGetOptions(opts: GetOptions | undefined): { fields: boolean } {
  return { fields: optionsObject(opts, GET_OPTIONS, 'get options').fields === true }
}

export function checkBatchRows(rows: readonly BatchRow[]): WriteRow[] {
  if (!Array.isArray(rows)) throw KappaError.invalid('rows must be an array')
  return rows.map((row: unknown, i) => {
    if (!isPlainObject(row)) throw KappaError.invalid(`batch row ${i} must be an object`)
    rejectUnknownOptions(row, BATCH_ROW, `batch row ${i}`)
    if (row.type === undefined) throw KappaError.invalid(`batch row ${i}: type not provided`)
    if (row.type !== 'put' && row.type !== 'del')
      throw KappaError.invalid(`batch row ${i}: type not recognized`)
    checkKey(row.key)
    if (row.type === 'put') checkValue(row.value)
    return {
      type: row.type,
      key: row.key,
      value: row.type === 'put' ? row.value : undefined,
      fields: checkFields(row.fields),
      links: checkLinks(row.links),
    }
  })
}

export interface ReadStreamSettings {
  range: { gt?: string; gte?: string; lt?: string; lte?: string }
  limit: number
  values: boolean
  fields: boolean
  live: boolean
  old: boolean
}

export function checkReadStreamOptions(opts: KvReadStreamOptions | undefined): ReadStreamSettings {
  const o = optionsObject(opts, READ_STREAM_OPTIONS, 'read stream options')
  const range: ReadStreamSettings['range'] = {}
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    const value = o[bound]
    if (value === undefined) continue
    if (typeof value !== 'string') throw KappaError.invalid(`${bound} must be a string`)
    range[bound] = value
  }
  const limit = o.limit === undefined ? -1 : o.limit
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < -1) {
    throw KappaError.invalid('limit must be a non-negative integer')
  }
  return {
    range,
    limit,
    values: o.values !== false,
    fields: o.fields === true,
    live: o.live === true,
    old: o.old !== false,
  }
}
