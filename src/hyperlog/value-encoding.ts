/**
 * Node values as hyperlog encoded them: a codec object, `'json'`, `'utf-8'`, or binary. Strings
 * are stored as utf-8 whatever the encoding (as the original did), so `add(null, 'hello')` works
 * on a binary log.
 */
import { KappaError } from '../errors.js'
import { MAX_VALUE_DEPTH, jsonTooDeep } from '../feeds/limits.js'
import type { HyperlogValueEncoding } from './types.js'

export function isValueEncoding(value: unknown): value is HyperlogValueEncoding {
  if (value === 'json' || value === 'utf-8' || value === 'utf8' || value === 'binary') return true
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { encode?: unknown }).encode === 'function' &&
    typeof (value as { decode?: unknown }).decode === 'function'
  )
}

export function encodeValue(value: unknown, encoding: HyperlogValueEncoding): Buffer {
  let out: unknown = value
  try {
    if (typeof encoding === 'object') out = encoding.encode(value)
    else if (encoding === 'json') out = JSON.stringify(value) as string | undefined
  } catch (err) {
    // A cycle, a BigInt, a throwing toJSON or codec: the caller's value, nothing written.
    if (err instanceof KappaError) throw err
    throw new KappaError('ERR_INVALID_ARGUMENT', 'value could not be encoded', { cause: err })
  }
  if (out === undefined && encoding === 'json') throw KappaError.invalid('value cannot be encoded as JSON')
  if (encoding === 'json') {
    const bytes = Buffer.from(out as string)
    if (jsonTooDeep(bytes))
      throw KappaError.invalid(`value nests deeper than MAX_VALUE_DEPTH (${MAX_VALUE_DEPTH})`)
    return bytes
  }
  if (typeof out === 'string') return Buffer.from(out)
  if (out instanceof Uint8Array)
    return Buffer.isBuffer(out) ? out : Buffer.from(out.buffer, out.byteOffset, out.byteLength)
  throw KappaError.invalid('value must be a string or bytes with this value encoding')
}

/** Throws `ERR_PROTOCOL` when the bytes (a peer's, perhaps) do not decode with this encoding. */
export function decodeValue(bytes: Buffer, encoding: HyperlogValueEncoding): unknown {
  if (encoding === 'utf-8' || encoding === 'utf8') return bytes.toString()
  if (encoding === 'binary') return bytes
  try {
    if (typeof encoding === 'object') return encoding.decode(bytes)
    return JSON.parse(bytes.toString())
  } catch (err) {
    throw new KappaError('ERR_PROTOCOL', 'a node value does not decode with this valueEncoding', {
      cause: err,
    })
  }
}
