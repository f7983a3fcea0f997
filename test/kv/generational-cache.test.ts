import { test } from 'node:test'
import assert from 'node:assert/strict'
import { GenerationalCache } from '../../src/kv/generational-cache.js'

test('lru cache: bounded, keeps at least the last half-capacity entries used', () => {
  const cache = new GenerationalCache<number>(64)
  for (let i = 0; i < 64; i++) cache.set(`k${i}`, i)
  // k0..k31 aged into the old generation; reading k0 brings it back to the young one.
  assert.equal(cache.get('k0'), 0)
  for (let i = 65; i < 65 + 40; i++) cache.set(`k${i}`, i)
  // 40 more sets: the generation holding k1..k31 is dropped, k0 (read again) survives a while.
  for (let i = 1; i < 32; i++) assert.equal(cache.get(`k${i}`), undefined)
  assert.equal(cache.get('k0'), 0)
  // The last 32 (half the capacity) used are always there.
  for (let i = 65 + 40 - 32; i < 65 + 40; i++) assert.equal(cache.get(`k${i}`), i)
  // A long run of fresh keys never holds more than the capacity.
  for (let i = 0; i < 10_000; i++) cache.set(`n${i}`, i)
  let held = 0
  for (let i = 9_000; i < 10_000; i++) if (cache.get(`n${i}`) !== undefined) held++
  assert.ok(held <= 64 && held >= 32, `held ${held}`)
  assert.equal(cache.get('n9999'), 9999)
  cache.clear()
  assert.equal(cache.get('n9999'), undefined)
})

test('lru cache: a set replaces the value in either generation (never a stale read)', () => {
  const cache = new GenerationalCache<string>(8)
  cache.set('a', 'v1')
  for (let i = 0; i < 4; i++) cache.set(`x${i}`, 'x') // 'a' is now in the old generation
  cache.set('a', 'v2')
  assert.equal(cache.get('a'), 'v2')
  for (let i = 4; i < 7; i++) cache.set(`x${i}`, 'x') // rotates: the young one (holding v2) ages
  assert.equal(cache.get('a'), 'v2')
  cache.set('a', 'v3')
  for (let i = 7; i < 20; i++) cache.set(`x${i}`, 'x')
  assert.equal(cache.get('a'), undefined)
})
