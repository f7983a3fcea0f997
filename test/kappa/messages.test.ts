/**
 * The positions encoding: the indexer's per-batch encoder writes the bytes encodePositions writes
 * for the advanced map, and both decode back.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { FeedKey } from '../../src/feeds/types.js'
import { decodePositions, encodePositions, encodePositionsWith } from '../../src/kappa/messages.js'

const key = (n: number) => n.toString(16).padStart(2, '0').repeat(32) as FeedKey

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
