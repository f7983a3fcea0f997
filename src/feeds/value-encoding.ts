/**
 * Value encodings of feed entries: how one entry's value becomes bytes inside a block.
 * The names are the ones hypercore 9 accepted (`json`, `utf-8`, `binary`), plus any `{ encode, decode }`.
 */
import { KappaError } from '../errors.js'
import type { Codec, ValueEncoding } from './types.js'

const utf8 = new TextDecoder('utf-8')

const json: Codec = {
  encode(value) {
    const text = JSON.stringify(value)
    if (text === undefined) throw KappaError.invalid('value cannot be encoded as JSON')
    return Buffer.from(text)
  },
  decode(bytes) {
    return JSON.parse(utf8.decode(bytes)) as unknown
  },
}

const text: Codec = {
  encode(value) {
    if (typeof value === 'string') return Buffer.from(value)
    if (value instanceof Uint8Array) return value
    throw KappaError.invalid('utf-8 values must be strings')
  },
  decode(bytes) {
    return utf8.decode(bytes)
  },
}

const binary: Codec = {
  encode(value) {
    if (value instanceof Uint8Array) return value
    if (typeof value === 'string') return Buffer.from(value)
    throw KappaError.invalid('binary values must be Buffers, Uint8Arrays or strings')
  },
  decode(bytes) {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  },
}

/** Resolves `valueEncoding` to a codec; JSON when none is given (the originals' usual choice). */
export function toCodec<T>(encoding: ValueEncoding | undefined): Codec<T> {
  if (encoding === undefined || encoding === 'json') return json as Codec<T>
  if (encoding === 'utf-8' || encoding === 'utf8') return text as Codec<T>
  if (encoding === 'binary') return binary as Codec<T>
  if (
    typeof encoding === 'object' &&
    encoding !== null &&
    typeof encoding.encode === 'function' &&
    typeof encoding.decode === 'function'
  ) {
    return encoding as Codec<T>
  }
  throw KappaError.invalid(`unknown valueEncoding: ${String(encoding)}`)
}

/** Encodes one value, turning a codec's failure into ERR_INVALID_ARGUMENT. */
export function encodeValue<T>(codec: Codec<T>, value: T): Uint8Array {
  let bytes: unknown
  try {
    bytes = codec.encode(value)
  } catch (err) {
    if (err instanceof KappaError) throw err
    throw new KappaError('ERR_INVALID_ARGUMENT', 'value could not be encoded', { cause: err })
  }
  if (!(bytes instanceof Uint8Array)) throw KappaError.invalid('valueEncoding.encode must return bytes')
  return bytes
}
