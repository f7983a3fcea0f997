import { test } from 'node:test'
import assert from 'node:assert/strict'
import { LruCache } from '../../src/kv/lru-cache.js'

test('lru cache: bounded, keeps recently used entries, evicts the oldest in chunks', () => {
  const cache = new LruCache<number>(64)
  for (let i = 0; i < 64; i++) cache.set(`k${i}`, i)
  assert.equal(cache.get('k0'), 0) // k0 is now the most recently used
  cache.set('k64', 64) // over capacity: the oldest 4 (a 16th) go: k1..k4
  assert.equal(cache.get('k0'), 0)
  for (let i = 1; i <= 4; i++) assert.equal(cache.get(`k${i}`), undefined)
  for (let i = 5; i <= 64; i++) assert.equal(cache.get(`k${i}`), i)
  // A long run of fresh keys never holds more than the capacity.
  for (let i = 0; i < 10_000; i++) cache.set(`n${i}`, i)
  let held = 0
  for (let i = 0; i < 10_000; i++) if (cache.get(`n${i}`) !== undefined) held++
  assert.ok(held <= 64 && held >= 60, `held ${held}`)
  assert.equal(cache.get('n9999'), 9999)
  cache.clear()
  assert.equal(cache.get('n9999'), undefined)
})
