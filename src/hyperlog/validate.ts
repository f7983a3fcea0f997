/**
 * Argument checks of the public methods: bad input → `ERR_INVALID_ARGUMENT`, nothing changed.
 */
import { KappaError } from '../errors.js'
import type { CreateIndexOptions } from './change-index.js'
import type {
  AddOptions,
  BatchDoc,
  BatchOptions,
  GetOptions,
  HyperlogOptions,
  ReadStreamOptions,
} from './types.js'
import { isValueEncoding } from './value-encoding.js'
import { optionNames, rejectUnknownOptions } from '../util/options.js'

const invalid = KappaError.invalid

const HYPERLOG_OPTIONS: ReadonlySet<string> = optionNames<HyperlogOptions>({
  valueEncoding: true,
  encoding: true,
  key: true,
  maxFeeds: true,
  hash: true,
  asyncHash: true,
  identity: true,
  sign: true,
  verify: true,
  minFreeBytes: true,
  membership: true,
  policy: true,
})
const ADD_OPTIONS: ReadonlySet<string> = optionNames<AddOptions>({
  valueEncoding: true,
  identity: true,
  signature: true,
})
const BATCH_OPTIONS: ReadonlySet<string> = optionNames<BatchOptions>({
  valueEncoding: true,
  identity: true,
  signature: true,
  proof: true,
})
const GET_OPTIONS: ReadonlySet<string> = optionNames<GetOptions>({ valueEncoding: true })
const READ_STREAM_OPTIONS: ReadonlySet<string> = optionNames<ReadStreamOptions>({
  since: true,
  until: true,
  reverse: true,
  limit: true,
  live: true,
  tail: true,
  valueEncoding: true,
})
const INDEX_OPTIONS: ReadonlySet<string> = optionNames<CreateIndexOptions<never>>({
  db: true,
  name: true,
  maxBatch: true,
  map: true,
  reset: true,
})

export function checkStorage(storage: unknown): void {
  if (typeof storage === 'string') {
    if (storage.length === 0) throw invalid('storage path is empty')
    return
  }
  const s = storage as { kappa?: { writer?: unknown; use?: unknown }; db?: { sublevel?: unknown } } | null
  if (
    s === null ||
    typeof s !== 'object' ||
    typeof s.kappa?.writer !== 'function' ||
    typeof s.kappa.use !== 'function' ||
    typeof s.db?.sublevel !== 'function'
  ) {
    throw invalid('storage must be a directory path or { kappa, db }')
  }
}

/** `given`: the storage is a given `{ kappa, db }`, whose store options are the kappa's. */
export function checkHyperlogOptions(opts: HyperlogOptions, given: boolean): void {
  if (opts === null || typeof opts !== 'object') throw invalid('opts must be an object')
  rejectUnknownOptions(opts, HYPERLOG_OPTIONS, 'hyperlog options')
  if (given) {
    for (const name of ['membership', 'key', 'maxFeeds', 'policy'] as const) {
      if (opts[name] !== undefined) {
        throw invalid(`${name} belongs to the given kappa: open it with kappa(storage, { ${name} })`)
      }
    }
  }
  for (const name of ['valueEncoding', 'encoding'] as const) {
    if (opts[name] !== undefined && !isValueEncoding(opts[name]))
      throw invalid(`opts.${name} is not a value encoding`)
  }
  for (const name of ['hash', 'asyncHash', 'sign', 'verify'] as const) {
    if (opts[name] !== undefined && typeof opts[name] !== 'function')
      throw invalid(`opts.${name} must be a function`)
  }
  if (opts.identity !== undefined && !(opts.identity instanceof Uint8Array))
    throw invalid('opts.identity must be bytes')
  const floor = opts.minFreeBytes
  if (floor !== undefined && (typeof floor !== 'number' || !Number.isFinite(floor) || floor < 0))
    throw invalid('opts.minFreeBytes must be a non-negative number')
}

export function checkAddOptions(opts: AddOptions | undefined, known = ADD_OPTIONS): void {
  if (opts === undefined || opts === null) return
  if (typeof opts !== 'object') throw invalid('options must be an object')
  rejectUnknownOptions(opts, known, 'add options')
  checkEncoding(opts.valueEncoding)
  if (opts.identity !== undefined && !(opts.identity instanceof Uint8Array))
    throw invalid('identity must be bytes')
  if (opts.signature !== undefined && !(opts.signature instanceof Uint8Array))
    throw invalid('signature must be bytes')
}

/** A batch's options: those of `add`, and a well-formed `proof` with one flag per doc. */
export function checkBatchOptions(opts: BatchOptions | undefined, docs: number): void {
  checkAddOptions(opts, BATCH_OPTIONS)
  const proof = opts?.proof
  if (proof === undefined) return
  if (proof === null || typeof proof !== 'object') throw invalid('proof must be an object')
  if (!Number.isSafeInteger(proof.asOf) || proof.asOf < 0) throw invalid('proof.asOf must be a change number')
  if (
    !Array.isArray(proof.proven) ||
    proof.proven.length !== docs ||
    !proof.proven.every((p) => typeof p === 'boolean')
  ) {
    throw invalid('proof.proven must hold one boolean per doc')
  }
}

export function checkGetOptions(opts: GetOptions | undefined): void {
  if (opts === undefined || opts === null) return
  if (typeof opts !== 'object') throw invalid('options must be an object')
  rejectUnknownOptions(opts, GET_OPTIONS, 'get options')
  checkEncoding(opts.valueEncoding)
}

export function checkBatchDocs(docs: unknown): asserts docs is BatchDoc[] {
  if (!Array.isArray(docs)) throw invalid('batch takes an array of { links, value }')
  for (const doc of docs) {
    if (doc === null || typeof doc !== 'object')
      throw invalid('a batch doc must be an object { links, value }')
    const identity = (doc as BatchDoc).identity
    if (identity !== undefined && !(identity instanceof Uint8Array))
      throw invalid('a doc identity must be bytes')
  }
}

export function checkNodeHash(key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) throw invalid('a node key must be a non-empty string')
}

export function checkReadStreamOptions(opts: ReadStreamOptions): void {
  if (opts === null || typeof opts !== 'object') throw invalid('options must be an object')
  rejectUnknownOptions(opts, READ_STREAM_OPTIONS, 'read stream options')
  for (const name of ['since', 'until', 'limit'] as const) {
    const v = opts[name]
    if (v !== undefined && v !== null && (typeof v !== 'number' || Number.isNaN(v))) {
      throw invalid(`${name} must be a number`)
    }
  }
  checkEncoding(opts.valueEncoding)
}

export function checkIndexOptions(opts: CreateIndexOptions<never>): void {
  if (opts === null || typeof opts !== 'object') throw invalid('createIndex options must be an object')
  rejectUnknownOptions(opts, INDEX_OPTIONS, 'createIndex options')
  if (typeof opts.map !== 'function') throw invalid('createIndex needs a map function')
  const db = opts.db as { sublevel?: unknown; batch?: unknown } | null
  if (
    db === null ||
    typeof db !== 'object' ||
    typeof db.sublevel !== 'function' ||
    typeof db.batch !== 'function'
  ) {
    throw invalid('createIndex needs an abstract-level db')
  }
  if (opts.name !== undefined && (typeof opts.name !== 'string' || opts.name.length === 0)) {
    throw invalid('index name must be a non-empty string')
  }
  if (opts.maxBatch !== undefined && (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1)) {
    throw invalid('maxBatch must be a positive integer')
  }
}

function checkEncoding(encoding: unknown): void {
  if (encoding !== undefined && !isValueEncoding(encoding))
    throw invalid('valueEncoding is not a value encoding')
}
