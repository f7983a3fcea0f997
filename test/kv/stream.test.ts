import test from 'node:test'
import { once } from 'node:events'
import assert from 'node:assert/strict'
import type { HyperKV, KvReadRow } from '../../src/kv/index.js'
import { collect, insertDag9, openKv, type Dag9 } from '../helpers/kv.js'

/** hyperkv's stream checks over DAG9: full rows, rows without values, and a `gt` range. */
async function assertDag9Streams(
  kv: HyperKV,
  n: Dag9,
  x: { links: string[]; values: object },
): Promise<void> {
  assert.deepEqual(await collect(kv.createReadStream()), [
    { key: 'X', ...x },
    { key: 'Y', links: [n.F.key], values: { [n.F.key]: { value: 999 } } },
    { key: 'Z', links: [n.I.key], values: { [n.I.key]: { value: 3000 } } },
  ])
  assert.deepEqual(await collect(kv.createReadStream({ values: false })), [
    { key: 'X', links: x.links },
    { key: 'Y', links: [n.F.key] },
    { key: 'Z', links: [n.I.key] },
  ])
  const gt = await collect<KvReadRow>(kv.createReadStream({ gt: 'X' }))
  assert.deepEqual(
    gt.map((r) => r.key),
    ['Y', 'Z'],
  )
}

test('stream: one row per key with links and values (stream.js)', async (t) => {
  const kv = await openKv(t)
  const n = await insertDag9(kv)
  await assertDag9Streams(kv, n, {
    // hyperkv listed D, E in insertion order; kappadb sorts heads by hash, the same on every replica.
    links: [n.D.key, n.E.key].sort(),
    values: { [n.D.key]: { value: 222 }, [n.E.key]: { value: 400 } },
  })
})

test('stream ranges: gte, lt, lte, limit', async (t) => {
  const kv = await openKv(t)
  await kv.batch(['a', 'b', 'c', 'd', 'e'].map((key) => ({ type: 'put' as const, key, value: key })))
  const keys = async (opts: object) =>
    (await collect<KvReadRow>(kv.createReadStream({ values: false, ...opts }))).map((r) => r.key)
  assert.deepEqual(await keys({ gte: 'b', lt: 'd' }), ['b', 'c'])
  assert.deepEqual(await keys({ gt: 'b', lte: 'd' }), ['c', 'd'])
  assert.deepEqual(await keys({ limit: 2 }), ['a', 'b'])
  assert.deepEqual(await keys({ gt: 'a', limit: 3 }), ['b', 'c', 'd'])
  assert.deepEqual(await keys({ limit: 0 }), [])
  assert.deepEqual(await keys({ gt: 'z' }), [])
})

test('del stream: a deleted key keeps a row with its tombstone (del_stream.js)', async (t) => {
  const kv = await openKv(t)
  const n = await insertDag9(kv)
  const del = await kv.del('X')
  await assertDag9Streams(kv, n, { links: [del.key], values: { [del.key]: { deleted: true } } })
})

async function takeRows(stream: AsyncIterable<unknown>, count: number): Promise<KvReadRow[]> {
  const rows: KvReadRow[] = []
  for await (const row of stream) {
    rows.push(row as KvReadRow)
    if (rows.length === count) break
  }
  return rows
}

test('live with old: existing rows, then a row per change (live.js)', async (t) => {
  const kv = await openKv(t)
  const a = await kv.put('A', 1)
  const b = await kv.put('B', 2)
  const stream = kv.createReadStream({ live: true })
  const live = once(stream, 'live')
  const rows = takeRows(stream, 3)
  assert.equal(stream.live, false)
  await live // A and B are pushed: C comes as a live row
  assert.equal(stream.live, true)
  const c = await kv.put('C', 3)
  assert.deepEqual(await rows, [
    { key: 'A', links: [a.key], values: { [a.key]: { value: 1 } } },
    { key: 'B', links: [b.key], values: { [b.key]: { value: 2 } } },
    { key: 'C', links: [c.key], values: { [c.key]: { value: 3 } } },
  ])
  assert.ok(stream.destroyed, 'breaking out of the loop destroys the stream')
})

test('live only new: old: false skips existing rows (live.js)', async (t) => {
  const kv = await openKv(t)
  await kv.put('A', 1)
  await kv.put('B', 2)
  const stream = kv.createReadStream({ live: true, old: false, values: false })
  const live = once(stream, 'live')
  const rows = takeRows(stream, 2)
  await live
  const c = await kv.put('C', 3)
  const b2 = await kv.put('B', 4)
  assert.deepEqual(await rows, [
    { key: 'C', links: [c.key] },
    { key: 'B', links: [b2.key] },
  ])
})

test('live streams honour the range and end when the store closes', async (t) => {
  const kv = await openKv(t)
  const stream = kv.createReadStream({ live: true, gte: 'm', values: false })
  const rows: KvReadRow[] = []
  const row = once(stream, 'data')
  stream.on('data', (r: KvReadRow) => rows.push(r))
  const ended = once(stream, 'end')
  await once(stream, 'live')
  await kv.put('a', 1)
  const z = await kv.put('z', 1)
  await row // the first row in range: z's (a's is out of it)
  await kv.close()
  await ended
  assert.deepEqual(rows, [{ key: 'z', links: [z.key] }])
})
