/**
 * The positions encodings, pinned by golden bytes: the indexer's per-batch encoder writes the bytes
 * encodePositions writes for the advanced map, and both decode back; the per-feed layout's header
 * and records.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FeedKey } from '../../src/feeds/types.js'
import {
  STATE_FORMAT,
  decodeFeedPosition,
  decodePositions,
  encodeFeedPosition,
  encodePositions,
  encodePositionsWith,
  encodeStateHeader,
  splitPositions,
} from '../../src/kappa/messages.js'

const key = (n: number) => n.toString(16).padStart(2, '0').repeat(32) as FeedKey

test('positions: format 1, the view version, then per feed its key and the entries indexed', () => {
  assert.equal(STATE_FORMAT, 1)
  const bytes = encodePositions({
    version: 3,
    indexed: new Map([
      [key(1), 5],
      [key(2), 300],
    ]),
  })
  assert.equal(bytes.toString('hex'), '01' + '03' + '02' + key(1) + '05' + key(2) + 'fd2c01')
  assert.equal(encodePositions({ version: 0, indexed: new Map() }).toString('hex'), '010000')
  assert.deepEqual(
    decodePositions(bytes).indexed,
    new Map([
      [key(1), 5],
      [key(2), 300],
    ]),
  )
})

test('encodePositionsWith = encodePositions of the advanced positions', () => {
  const cases: [Map<FeedKey, number>, FeedKey, number][] = [
    [new Map(), key(1), 5],
    [new Map([[key(1), 3]]), key(1), 300],
    [
      new Map([
        [key(1), 3],
        [key(2), 0],
        [key(3), 70000],
      ]),
      key(2),
      1,
    ],
    [
      new Map([
        [key(1), 3],
        [key(3), 9],
      ]),
      key(4),
      128,
    ],
  ]
  for (const [indexed, feed, count] of cases) {
    const advanced = new Map(indexed).set(feed, count)
    const expected = encodePositions({ version: 7, indexed: advanced })
    const actual = encodePositionsWith(7, indexed, feed, count)
    assert.deepEqual(actual, expected)
    const decoded = decodePositions(actual)
    assert.equal(decoded.version, 7)
    assert.deepEqual(decoded.indexed, new Map([...advanced].filter(([, n]) => n > 0)))
  }
})

test('per-feed layout: a header (format 2, version) and one uint record per feed; a whole state splits into them', () => {
  assert.equal(encodeStateHeader(7).toString('hex'), '0207')
  assert.deepEqual(decodePositions(encodeStateHeader(300)), {
    version: 300,
    indexed: new Map(),
    layout: 'per-feed',
  })
  assert.equal(encodeFeedPosition(300).toString('hex'), 'fd2c01')
  assert.equal(decodeFeedPosition(encodeFeedPosition(70000)), 70000)
  assert.throws(
    () => decodeFeedPosition(Buffer.from('fd', 'hex')),
    (err: unknown) => (err as { code?: string }).code === 'ERR_STORAGE',
  )
  const whole = encodePositions({
    version: 7,
    indexed: new Map([
      [key(1), 3],
      [key(2), 0],
      [key(3), 300],
    ]),
  })
  assert.deepEqual(splitPositions(whole), {
    header: encodeStateHeader(7),
    feeds: [
      [key(1), encodeFeedPosition(3)],
      [key(3), encodeFeedPosition(300)],
    ],
  })
  assert.equal(splitPositions(encodeStateHeader(7)), null)
})
