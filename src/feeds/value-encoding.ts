/**
 * Value encodings of feed entries: how one entry's value becomes bytes inside a block.
 * The names are the ones hypercore 9 accepted (`json`, `utf-8`, `binary`), plus any `{ encode, decode }`.
 */
import { KappaError } from '../errors.js'
import { MAX_VALUE_DEPTH, jsonTooDeep } from './limits.js'
import type { Codec, ValueEncoding } from './types.js'

const utf8 = new TextDecoder('utf-8')

const json: Codec = {
  encode(value) {
    const text = JSON.stringify(value)
    if (text === undefined) throw KappaError.invalid('value cannot be encoded as JSON')
    const bytes = Buffer.from(text)
    if (jsonTooDeep(bytes)) throw tooDeep()
    return bytes
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

function tooDeep(): KappaError {
  return KappaError.invalid(`value nests deeper than MAX_VALUE_DEPTH (${MAX_VALUE_DEPTH})`)
}

/** Whether `codec` is the built-in json one (its values have a nesting depth to check). */
export function isJsonCodec(codec: Codec<unknown>): boolean {
  return codec === json
}

/**
 * Decodes the values of many entries with `decodeOne`, except where one `JSON.parse` gives the
 * same values faster: the built-in json codec and entries that are JSON scalars (numbers, true,
 * false, null — bytes without `, " [ ] { }` or non-ASCII). Without those bytes the joined text
 * `[e0,e1,…]` splits exactly at the commas put between entries, so it parses, to as many values,
 * exactly when every entry parses alone, to the same values. Anything else (or a parse error, or
 * another count) goes entry by entry, so errors stay those of `decodeOne`.
 */
export function decodeAll<T>(
  codec: Codec<T>,
  entries: Uint8Array[],
  decodeOne: (bytes: Uint8Array) => T,
): T[] {
  if ((codec as Codec) === json && entries.length > 1) {
    const joined = joinScalars(entries)
    if (joined !== null) {
      try {
        const values = JSON.parse(joined) as unknown
        if (Array.isArray(values) && values.length === entries.length) return values as T[]
      } catch {
        // One of them does not parse: found (with its error) one at a time below.
      }
    }
  }
  const out = new Array<T>(entries.length)
  for (let i = 0; i < entries.length; i++) out[i] = decodeOne(entries[i])
  return out
}

/** `[e0,e1,…]` as text when every entry is made of scalar bytes only, else null (checked as copied). */
function joinScalars(entries: Uint8Array[]): string | null {
  let size = entries.length + 1
  for (const bytes of entries) size += bytes.byteLength
  const out = Buffer.allocUnsafe(size)
  out[0] = 0x5b // [
  let at = 1
  for (let i = 0; i < entries.length; i++) {
    const bytes = entries[i]
    for (let j = 0; j < bytes.byteLength; j++) {
      const b = bytes[j]
      // , " [ ] { } and non-ASCII (a BOM, strings): the entry is not a plain scalar.
      if (b >= 0x80 || b === 0x2c || b === 0x22 || b === 0x5b || b === 0x5d || b === 0x7b || b === 0x7d)
        return null
      out[at++] = b
    }
    out[at++] = i === entries.length - 1 ? 0x5d : 0x2c // ] or ,
  }
  return out.toString('latin1', 0, at)
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
