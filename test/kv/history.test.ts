import test from 'node:test'
import assert from 'node:assert/strict'
import type { KvHistoryRow } from '../../src/kv/index.js'
import { collect, openKv } from '../helpers/kv.js'

test('history: every version, children before ancestors (history.js)', async (t) => {
  const kv = await openKv(t)
  const a = await kv.put('X', 100)
  const b = await kv.put('X', 201, { links: [a.key] })
  const c = await kv.put('X', 202, { links: [a.key] })
  const d = await kv.put('X', 300, { links: [b.key, c.key] })
  const rows = await collect<KvHistoryRow>(kv.createHistoryStream('X'))
  const plain = rows.map(({ key, link, value, links }) => ({ key, link, value, links }))
  assert.deepEqual(plain[0], { key: 'X', link: d.key, value: 300, links: [b.key, c.key] })
  assert.deepEqual(
    plain.slice(1, 3).sort((x, y) => (x.value as number) - (y.value as number)),
    [
      { key: 'X', link: b.key, value: 201, links: [a.key] },
      { key: 'X', link: c.key, value: 202, links: [a.key] },
    ],
  )
  assert.deepEqual(plain[3], { key: 'X', link: a.key, value: 100, links: [] })
  assert.equal(rows.length, 4)
})

test('history of a deleted key starts at the tombstone', async (t) => {
  const kv = await openKv(t)
  const a = await kv.put('X', 1)
  const del = await kv.del('X')
  const rows = await collect<KvHistoryRow>(kv.createHistoryStream('X'))
  assert.deepEqual(
    rows.map(({ key, link, value, links }) => ({ key, link, value, links })),
    [
      { key: undefined, link: del.key, value: undefined, links: [a.key] },
      { key: 'X', link: a.key, value: 1, links: [] },
    ],
  )
})

test('history of a missing key errors with ERR_NOT_FOUND (history.js)', async (t) => {
  const kv = await openKv(t)
  await kv.put('X', 1)
  await assert.rejects(collect(kv.createHistoryStream('missing')), { code: 'ERR_NOT_FOUND', notFound: true })
})
