import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodeAll, toCodec } from '../../src/feeds/value-encoding.js'

const json = toCodec<unknown>('json')
const one = (bytes: Uint8Array): unknown => json.decode(bytes)
const bytesOf = (texts: string[]): Uint8Array[] => texts.map((t) => Buffer.from(t))

/** decodeAll's values or error, next to the one-at-a-time values or error. */
function both(texts: string[]): { all: unknown; each: unknown } {
  const run = (fn: () => unknown): unknown => {
    try {
      return { values: fn() }
    } catch (err) {
      return { error: (err as Error).name }
    }
  }
  const entries = bytesOf(texts)
  return { all: run(() => decodeAll(json, entries, one)), each: run(() => entries.map(one)) }
}

test('decodeAll (json): the same values or the same error as decoding one at a time', () => {
  const cases: string[][] = [
    ['1', '2', '-3.5e2', 'true', 'false', 'null', ' 7 '],
    ['1', '{"a":[1,2]}', '"x,y"', '[1,2]'],
    ['1', ''], // an empty entry
    ['1', ' '],
    ['[1', '2],3'], // invalid alone, valid when joined: must still fail
    ['1 2', '3'],
    ['1', '\ufeff2'], // a BOM
    ['1', 'nul'],
    ['12345678901234567890', '0.1'],
    ['"a"', '"b"'],
  ]
  for (const texts of cases) {
    const { all, each } = both(texts)
    assert.deepEqual(all, each, JSON.stringify(texts))
  }
})

test('decodeAll: other codecs decode one at a time with the given function', () => {
  const text = toCodec<string>('utf-8')
  const seen: string[] = []
  const values = decodeAll(text, bytesOf(['1', '2']), (b) => {
    seen.push(Buffer.from(b).toString())
    return text.decode(b)
  })
  assert.deepEqual(values, ['1', '2'])
  assert.deepEqual(seen, ['1', '2'])
})
