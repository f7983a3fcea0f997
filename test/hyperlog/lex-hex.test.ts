import assert from 'node:assert/strict'
import test from 'node:test'
import c from 'compact-encoding'
import { fromLexHex, lexHex } from '../../src/hyperlog/messages.js'

test('lexHex spells compact-encoding lexint bytes in hex, and sorts like the numbers', () => {
  const values = [0, 1, 250, 251, 252, 255, 256, 257, 0xffff, 0x10000, 0xffffff, 0x1000000]
  values.push(0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000, 2 ** 40 + 3)
  for (let i = 0; i < 2000; i++) values.push(Math.floor(Math.random() * 2 ** (1 + (i % 32))))
  for (const n of values) {
    const hex = lexHex(n)
    assert.equal(hex, Buffer.from(c.encode(c.lexint, n)).toString('hex'), `n = ${n}`)
    // Above 2^32 compact-encoding's own lexint is the fallback (and does not decode its output).
    if (n < 2 ** 32) assert.equal(fromLexHex(hex), n)
  }
  const sorted = [...new Set(values.filter((n) => n < 2 ** 32))].sort((a, b) => a - b)
  const byKey = [...sorted].sort((a, b) => (lexHex(a) < lexHex(b) ? -1 : lexHex(a) > lexHex(b) ? 1 : 0))
  assert.deepEqual(byKey, sorted)
})
