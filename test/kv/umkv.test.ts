/**
 * unordered-materialized-kv's tests, adapted to HyperKV: umkv took `{ id, key,
 * links }` documents in any order; here the documents are real hyperlog nodes, and "out of order"
 * means what it means in a running system — nodes written by several writers with explicit links and
 * replicated in different orders. The register must give the reference model's heads every time.
 * (umkv's self-link `x→x` cannot exist in a hash DAG, and its `onremove` hook has no HyperKV
 * counterpart: both are left out.)
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import type { HyperKV, KvNode, BatchRow } from '../../src/kv/index.js'
import { defaultHash } from '../../src/hyperlog/hash.js'
import { collect, openKvs, replicate } from '../helpers/kv.js'
import { MvModel, type ModelNode } from '../helpers/mv-model.js'
import { randomGenerator } from '../helpers/kv-random.js'

/** The hash a put will get: lets one batch link rows of the same batch explicitly. */
function putHash(key: string, value: unknown, links: string[]): string {
  return defaultHash(links, Buffer.from(JSON.stringify({ k: key, v: value })))
}

function modelNode(node: KvNode): ModelNode {
  const doc = node.value as { k?: string; v?: unknown; d?: string }
  return doc.k !== undefined
    ? { hash: node.key, key: doc.k, type: 'put', value: doc.v, links: node.links }
    : { hash: node.key, key: doc.d!, type: 'del', links: node.links }
}

async function heads(kv: HyperKV, key: string): Promise<string[]> {
  return Object.keys(await kv.get(key)).sort()
}

test('single-key linear in-order batch', async (t) => {
  const [kv] = await openKvs(t, 1)
  const nodes = await kv!.batch(
    ['a', 'b', 'c', 'd'].map((value) => ({ type: 'put' as const, key: 'k', value })),
  )
  assert.deepEqual(await heads(kv!, 'k'), [nodes[3]!.key])
})

test('single-key forked in-order individual inserts', async (t) => {
  const [kv] = await openKvs(t, 1)
  const a = await kv!.put('k', 'a', { links: [] })
  const b = await kv!.put('k', 'b', { links: [a.key] })
  const c = await kv!.put('k', 'c', { links: [b.key] })
  const d = await kv!.put('k', 'd', { links: [b.key] })
  assert.deepEqual(await heads(kv!, 'k'), [c.key, d.key].sort())
})

test('single-key forked in-order batch', async (t) => {
  const [kv] = await openKvs(t, 1)
  const a = putHash('k', 'a', [])
  const b = putHash('k', 'b', [a])
  const nodes = await kv!.batch([
    { type: 'put', key: 'k', value: 'a', links: [] },
    { type: 'put', key: 'k', value: 'b', links: [a] },
    { type: 'put', key: 'k', value: 'c', links: [b] },
    { type: 'put', key: 'k', value: 'd', links: [b] },
  ])
  assert.deepEqual([nodes[0]!.key, nodes[1]!.key], [a, b])
  assert.deepEqual(await heads(kv!, 'k'), [nodes[2]!.key, nodes[3]!.key].sort())
})

/**
 * Writer 0 writes a, b; writers 1 and 2 (each synced with writer 0 only) write c→b and d→b; the
 * merge e→[c,d] is written by writer 3 after syncing with both. Replicas then learn the nodes in
 * opposite orders — the merge's writer first, or the fork's writers first.
 */
async function forkedAcrossWriters(t: test.TestContext) {
  const kvs = await openKvs(t, 6)
  const [w0, w1, w2, w3, early, late] = kvs as [HyperKV, HyperKV, HyperKV, HyperKV, HyperKV, HyperKV]
  const a = await w0.put('k', 'a')
  const b = await w0.put('k', 'b')
  await replicate(w0, w1)
  await replicate(w0, w2)
  const c = await w1.put('k', 'c')
  const d = await w2.put('k', 'd')
  assert.deepEqual(c.links, [b.key])
  assert.deepEqual(d.links, [b.key])
  return { w0, w1, w2, w3, early, late, a, b, c, d }
}

test('single-key forked unordered: replicas learning the nodes in different orders agree', async (t) => {
  const { w0, w1, w2, early, late, c, d } = await forkedAcrossWriters(t)
  await replicate(early, w2) // d (and a, b it needs) first
  await replicate(early, w1)
  await replicate(late, w1) // c first
  await replicate(late, w2)
  await replicate(late, w0)
  const expected = [c.key, d.key].sort()
  assert.deepEqual(await heads(early, 'k'), expected)
  assert.deepEqual(await heads(late, 'k'), expected)
})

test('single-key forked unordered merge: the merge arrives with or before its parents', async (t) => {
  const { w1, w2, w3, early, late, c, d } = await forkedAcrossWriters(t)
  await replicate(w3, w1)
  await replicate(w3, w2)
  const e = await w3.put('k', 'e')
  assert.equal(e.links.length, 2)
  await replicate(early, w3) // everything at once, through the merge's writer
  await replicate(late, w2) // the fork first, the merge last
  await replicate(late, w1)
  assert.deepEqual(await heads(late, 'k'), [c.key, d.key].sort())
  await replicate(late, w3)
  assert.deepEqual(await heads(early, 'k'), [e.key])
  assert.deepEqual(await heads(late, 'k'), [e.key])
})

test('multi-key forked unordered merge: keys with interleaved links are independent', async (t) => {
  const kvs = await openKvs(t, 4)
  const [w0, w1, r0, r1] = kvs as [HyperKV, HyperKV, HyperKV, HyperKV]
  // hey: x; y→x; z→x; q→[y,z]  — cool: a; b→a; c→b; d→b; e→[c,d]; links across keys are ignored.
  const x = await w0.put('hey', 'x', { links: [] })
  const a = await w0.put('cool', 'a', { links: [x.key] })
  const b = await w0.put('cool', 'b', { links: [a.key] })
  await replicate(w0, w1)
  const y = await w0.put('hey', 'y', { links: [x.key, b.key] })
  const c = await w0.put('cool', 'c', { links: [b.key] })
  const z = await w1.put('hey', 'z', { links: [x.key] })
  const d = await w1.put('cool', 'd', { links: [b.key, z.key] })
  await replicate(w0, w1)
  const q = await w1.put('hey', 'q', { links: [y.key, z.key] })
  const e = await w0.put('cool', 'e', { links: [c.key, d.key, x.key] })
  await replicate(r0, w1)
  await replicate(r0, w0)
  await replicate(r1, w0)
  await replicate(r1, w1)
  for (const kv of kvs) {
    await replicate(kv, r0)
    assert.deepEqual(await heads(kv, 'cool'), [e.key])
    assert.deepEqual(await heads(kv, 'hey'), [q.key])
  }
})

/**
 * umkv's "big random graph": 1,000 random batches over 26 keys with random links to current heads,
 * here spread over four writers that sync random pairs as they go; after a full sync every replica
 * equals the reference model for every key, and their read streams are identical.
 */
test('big random graph: 1,000 batches over four writers equal the reference model', async (t) => {
  const seed = Number(process.env.KV_SEED ?? 0x5eed)
  const maxRows = process.env.EXTENSIVE ? 100 : 10
  const rand = randomGenerator(seed)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!
  const kvs = await openKvs(t, 4)
  const model = new MvModel()
  const keys = 'abcdefghijklmnopqrstuvwxyz'.split('')
  try {
    for (let i = 0; i < 1000; i++) {
      const kv = pick(kvs)
      const count = Math.floor(rand() * maxRows)
      const rowKeys = Array.from({ length: count }, () => pick(keys))
      const current = new Map<string, string[]>()
      for (const key of new Set(rowKeys)) current.set(key, Object.keys(await kv.get(key)))
      const rows: BatchRow[] = rowKeys.map((key, j) => {
        const row: BatchRow = rand() < 0.15 ? { type: 'del', key } : { type: 'put', key, value: `${i}.${j}` }
        const mode = rand()
        const known = current.get(key)!
        if (mode < 0.4) return row // the key's heads, earlier rows of this batch included
        if (mode < 0.5) return { ...row, links: [] } // a deliberate fork
        const other = current.get(pick(rowKeys))!
        const links = [...known.filter(() => rand() < 0.6), ...other.filter(() => rand() < 0.2)]
        return { ...row, links: [...new Set(links)] }
      })
      const nodes = await kv.batch(rows)
      for (const node of nodes) model.add(modelNode(node))
      if (rand() < 0.03) {
        const [x, y] = [pick(kvs), pick(kvs)]
        if (x !== y) await replicate(x, y)
      }
    }
    for (let round = 0; round < 2; round++) {
      for (let j = 1; j < kvs.length; j++) await replicate(kvs[0]!, kvs[j]!)
    }
    for (const kv of kvs) {
      for (const key of keys) assert.deepEqual(await kv.get(key), model.get(key), `key ${key}`)
    }
    const streams = await Promise.all(kvs.map((kv) => collect<{ links: string[] }>(kv.createReadStream())))
    const expected = model.rows()
    for (const rows of streams) assert.deepEqual(rows, expected, 'identical streams, links in the same order')
  } catch (err) {
    console.error(`big random graph failed with KV_SEED=${seed}`)
    throw err
  }
})
