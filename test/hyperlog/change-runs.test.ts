/**
 * Change order is stored as change runs — one record per DAG batch, keyed by its first change
 * (src/hyperlog/messages.ts). Reads of any range, in both directions, with any limit, equal the
 * slice of the full change order.
 */
import assert from 'node:assert/strict'
import test from 'node:test'
import { isKappaError } from '../../src/errors.js'
import type { Hyperlog } from '../../src/hyperlog/index.js'
import { type HyperlogNode } from '../../src/hyperlog/index.js'
import { decodeChangeRun, encodeChangeRun } from '../../src/hyperlog/messages.js'
import type { NodeHash } from '../../src/hyperlog/types.js'
import { collect, createLog, sync } from '../helpers/hyperlog.js'
import { Prng } from '../helpers/prng.js'

const hash = (i: number): NodeHash => i.toString(16).padStart(64, '0') as NodeHash

test('a change run decodes to its hashes; any other first byte is refused', () => {
  const sha256 = [hash(1), hash(0xabcdef), hash(2)]
  const packed = encodeChangeRun(sha256)
  assert.equal(packed.byteLength, 1 + 32 * 3, 'default hashes: 32 bytes each')
  assert.deepEqual(decodeChangeRun(packed), sha256)
  // Other hashes (another length, uppercase hex that would not come back the same) as links.
  for (const others of [
    [hash(1), 'sha1-like' as NodeHash],
    [hash(1), hash(0xabc).toUpperCase() as NodeHash],
    ['z'.repeat(64) as NodeHash],
  ]) {
    assert.deepEqual(decodeChangeRun(encodeChangeRun(others)), others)
  }
  for (const bad of [
    Buffer.from(hash(7)),
    Buffer.from([0]),
    Buffer.from([0, 2, 0]),
    Buffer.concat([encodeChangeRun([hash(1), 'x' as NodeHash]), Buffer.from([1])]),
    Buffer.from([1]),
    Buffer.concat([packed, Buffer.from([1])]),
  ]) {
    assert.throws(
      () => decodeChangeRun(bad),
      (err) => isKappaError(err) && err.code === 'ERR_STORAGE',
    )
  }
})

/** Nodes in change order through batches of random sizes, single adds, and replicated batches. */
async function filled(t: test.TestContext, prng: Prng): Promise<Hyperlog<string>> {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const peer = await createLog<string>(t, { valueEncoding: 'utf-8' })
  let n = 0
  for (let round = 0; round < 12; round++) {
    const size = prng.int(1, 120)
    const target = prng.next() < 0.3 ? peer : log
    if (size === 1) await target.add(null, `v${n++}`)
    else await target.batch(Array.from({ length: size }, () => ({ links: [], value: `v${n++}` })))
    if (prng.next() < 0.3) await sync(log, peer)
  }
  await sync(log, peer)
  return log
}

test('any range of changes, either way, any limit: the slice of the change order', async (t) => {
  const prng = new Prng(20261121)
  const log = await filled(t, prng)
  const all = await collect<HyperlogNode<string>>(log.createReadStream())
  const total = log.changes
  assert.deepEqual(
    all.map((node) => node.change),
    Array.from({ length: total }, (_, i) => i + 1),
  )
  for (let q = 0; q < 150; q++) {
    const since = prng.int(0, total + 1)
    const until = prng.int(0, total + 2)
    const reverse = prng.next() < 0.5
    const limit = prng.next() < 0.3 ? -1 : prng.int(0, 50)
    const inRange = all.filter((node) => node.change > since && node.change < until)
    const ordered = reverse ? inRange.reverse() : inRange
    const expected = (limit === -1 ? ordered : ordered.slice(0, limit)).map((node) => node.key)
    const got = await collect<HyperlogNode<string>>(log.createReadStream({ since, until, reverse, limit }))
    assert.deepEqual(
      got.map((node) => node.key),
      expected,
      `since ${since} until ${until} reverse ${reverse} limit ${limit}`,
    )
  }
})
