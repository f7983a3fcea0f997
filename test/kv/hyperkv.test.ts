import test from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { HyperKV, type KvNode } from '../../src/kv/index.js'
import { openKv, tempDir } from '../helpers/kv.js'

test('kv: put emits put and update, get returns the value (kv.js)', async (t) => {
  const kv = await openKv(t)
  const updated = once(kv, 'update')
  const putEvent = once(kv, 'put')
  const node = await kv.put('A', 555)
  const [key, value, putNode] = (await putEvent) as [string, unknown, KvNode]
  assert.deepEqual([key, value, putNode.seq], ['A', 555, 1])
  const [ukey, uvalue, unode] = (await updated) as [string, unknown, KvNode]
  assert.deepEqual([ukey, uvalue, unode.seq], ['A', 555, 1])
  assert.deepEqual(await kv.get('A'), { [node.key]: { value: 555 } })
})

test('empty get: an unknown key is {} (empty.js)', async (t) => {
  const kv = await openKv(t)
  assert.deepEqual(await kv.get('nothing'), {})
})

test('callback style: put, get, del, batch call back (err, result) and never reject', async (t) => {
  const kv = await openKv(t)
  const node = await new Promise<KvNode>((resolve, reject) =>
    kv.put('A', 1, (err, n) => (err ? reject(err) : resolve(n!))),
  )
  const values = await new Promise((resolve, reject) =>
    kv.get('A', (err, v) => (err ? reject(err) : resolve(v))),
  )
  assert.deepEqual(values, { [node.key]: { value: 1 } })
  const err = await new Promise<Error | null>((resolve) => {
    void kv.put(5 as unknown as string, 1, (e) => resolve(e))
  })
  assert.equal((err as { code?: string }).code, 'ERR_INVALID_ARGUMENT')
  const nodes = await new Promise<KvNode[]>((resolve, reject) =>
    kv.batch([{ type: 'del', key: 'A' }], {}, (e, n) => (e ? reject(e) : resolve(n!))),
  )
  assert.deepEqual(await kv.get('A'), { [nodes[0]!.key]: { deleted: true } })
})

test('batch: each row readable by get (batch.js)', async (t) => {
  const kv = await openKv(t)
  const nodes = await kv.batch([
    { type: 'put', key: 'A', value: 123 },
    { type: 'put', key: 'B', value: 456 },
  ])
  assert.deepEqual(await kv.get('A'), { [nodes[0]!.key]: { value: 123 } })
  assert.deepEqual(await kv.get('B'), { [nodes[1]!.key]: { value: 456 } })
})

test('batch: rows in order, explicit links kept, un-linked rows of a key chain, events per row', async (t) => {
  const kv = await openKv(t)
  const a1 = await kv.put('A', 1)
  await new Promise((resolve) => setImmediate(resolve))
  const events: string[] = []
  kv.on('put', (key, value) => events.push(`put ${key}=${String(value)}`))
  kv.on('del', (key) => events.push(`del ${key}`))
  const nodes = await kv.batch([
    { type: 'put', key: 'A', value: 2, links: [a1.key] },
    { type: 'put', key: 'B', value: 3, links: [] },
    { type: 'put', key: 'A', value: 4 },
    { type: 'del', key: 'A' },
    { type: 'put', key: 'C', value: 5, links: [] },
    { type: 'put', key: 'C', value: 6, links: [] },
  ])
  assert.deepEqual(
    nodes.map((n) => n.value),
    [{ k: 'A', v: 2 }, { k: 'B', v: 3 }, { k: 'A', v: 4 }, { d: 'A' }, { k: 'C', v: 5 }, { k: 'C', v: 6 }],
  )
  assert.deepEqual(nodes[0]!.links, [a1.key], 'explicit links are kept')
  assert.deepEqual(nodes[2]!.links, [nodes[0]!.key], 'an un-linked row links the earlier row of its key')
  assert.deepEqual(nodes[3]!.links, [nodes[2]!.key])
  assert.deepEqual(await kv.get('A'), { [nodes[3]!.key]: { deleted: true } })
  assert.deepEqual(await kv.get('C'), { [nodes[4]!.key]: { value: 5 }, [nodes[5]!.key]: { value: 6 } })
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(events, ['put A=2', 'put B=3', 'put A=4', 'del A', 'put C=5', 'put C=6'])
})

test('batch is atomic: a bad row or a missing link writes nothing', async (t) => {
  const kv = await openKv(t)
  await assert.rejects(kv.batch([{ type: 'put', key: 'A', value: 1 }, { key: 'B', value: 2 } as never]), {
    code: 'ERR_INVALID_ARGUMENT',
  })
  await assert.rejects(kv.batch([{ type: 'nope', key: 'B' } as never]), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(
    kv.batch([
      { type: 'put', key: 'A', value: 1 },
      { type: 'put', key: 'B', value: 2, links: ['ab'.repeat(32)] },
    ]),
    { code: 'ERR_NOT_FOUND' },
  )
  assert.deepEqual(await kv.get('A'), {})
  assert.deepEqual(await kv.get('B'), {})
  assert.equal(kv.log.changes, 0)
  assert.deepEqual(await kv.batch([]), [])
})

test('double batch: concurrent batches are serialized, the last wins (double_batch.js)', async (t) => {
  const kv = await openKv(t)
  const [, , last] = await Promise.all([
    kv.batch([
      { type: 'put', key: 'A', value: 123 },
      { type: 'put', key: 'B', value: 456 },
    ]),
    kv.batch([{ type: 'put', key: 'A', value: 555 }]),
    kv.batch([{ type: 'put', key: 'A', value: 444 }]),
  ])
  assert.deepEqual(await kv.get('A'), { [last[0]!.key]: { value: 444 } })
})

test('concurrent un-linked puts to one key form a chain, committed in one append', async (t) => {
  const kv = await openKv(t)
  await kv.put('warm', 0)
  await kv.log.flush()
  const feed = kv.log.kappa.feeds().find((f) => f.writable)!
  let appends = 0
  feed.on('append', () => appends++)
  const nodes = await Promise.all(Array.from({ length: 1000 }, (_, i) => kv.put('K', i)))
  // Acknowledged once indexed; the outbox appends them in the background.
  await kv.log.flush()
  assert.equal(appends, 1, 'one feed append for 1000 concurrent puts')
  assert.equal(feed.length, 1001)
  for (let i = 1; i < nodes.length; i++) assert.deepEqual(nodes[i]!.links, [nodes[i - 1]!.key])
  assert.deepEqual(await kv.get('K'), { [nodes[999]!.key]: { value: 999 } })
})

test('put with fields stores them in the document (fields.js)', async (t) => {
  const kv = await openKv(t)
  const node = await kv.put('A', 555, { fields: { x: 5 } })
  assert.deepEqual(await kv.get('A', { fields: true }), { [node.key]: { k: 'A', v: 555, x: 5 } })
  const rows: unknown[] = []
  for await (const row of kv.createReadStream({ fields: true })) rows.push(row)
  assert.deepEqual(rows, [{ key: 'A', values: { [node.key]: { k: 'A', v: 555, x: 5 } }, links: [node.key] }])
})

test('del: tombstone replaces the value (del.js)', async (t) => {
  const kv = await openKv(t)
  const events: unknown[] = []
  kv.on('put', (key, value, node) => events.push(['put', key, value, node.seq]))
  kv.on('update', (key, value, node) => events.push(['update', key, value, node.seq]))
  kv.on('remove', (key, node) => events.push(['remove', key, node.seq]))
  await kv.put('A', 555)
  const delEvent = once(kv, 'del')
  const del = await kv.del('A')
  const [delKey, delNode] = (await delEvent) as [string, KvNode]
  assert.deepEqual([delKey, delNode.key], ['A', del.key])
  assert.deepEqual(await kv.get('A'), { [del.key]: { deleted: true } })
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(
    events.filter((e) => (e as string[])[0] !== 'put'),
    [
      ['update', 'A', 555, 1],
      ['remove', 'A', 2],
    ],
  )
  assert.deepEqual(
    events.filter((e) => (e as string[])[0] === 'put'),
    [['put', 'A', 555, 1]],
  )
})

test('del with fields (del_fields.js)', async (t) => {
  const kv = await openKv(t)
  const put = await kv.put('A', 1)
  const del = await kv.del('A', { links: [put.key], fields: { x: 555 } })
  assert.deepEqual(await kv.get('A', { fields: true }), { [del.key]: { x: 555, d: 'A' } })
})

test('explicit links: [] forks, an unknown link is ERR_NOT_FOUND, links may be nodes', async (t) => {
  const kv = await openKv(t)
  const a = await kv.put('A', 1)
  const b = await kv.put('A', 2, { links: [] })
  assert.deepEqual(await kv.get('A'), { [a.key]: { value: 1 }, [b.key]: { value: 2 } })
  await assert.rejects(kv.put('A', 3, { links: ['00'.repeat(32)] }), {
    code: 'ERR_NOT_FOUND',
    notFound: true,
  })
  const c = await kv.put('A', 3, { links: [a, { key: b.key }] })
  assert.deepEqual(await kv.get('A'), { [c.key]: { value: 3 } })
})

test('identical documents with identical links are one node', async (t) => {
  const kv = await openKv(t)
  const a = await kv.put('A', 1, { links: [] })
  const b = await kv.put('A', 1, { links: [] })
  assert.equal(a.key, b.key)
  assert.deepEqual(await kv.get('A'), { [a.key]: { value: 1 } })
})

test('bad arguments are ERR_INVALID_ARGUMENT and write nothing', async (t) => {
  const kv = await openKv(t)
  const bad: (() => Promise<unknown>)[] = [
    () => kv.put(1 as unknown as string, 1),
    () => kv.put('A', () => {}),
    () => kv.put('A', 1, { links: 'x' as never }),
    () => kv.put('A', 1, { links: [5 as never] }),
    () => kv.put('A', 1, { fields: 5 as never }),
    () => kv.del(null as unknown as string),
    () => kv.get({} as unknown as string),
    () => kv.batch('rows' as never),
    // Unknown options are refused, not ignored.
    () => kv.put('A', 1, { link: [] } as never),
    () => kv.del('A', { feilds: {} } as never),
    () => kv.get('A', { field: true } as never),
    () => kv.batch([{ type: 'put', key: 'A', value: 1, link: [] } as never]),
  ]
  for (const call of bad) await assert.rejects(call(), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => kv.createReadStream({ limit: -5 }), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => kv.createReadStream({ reverse: true } as never), { code: 'ERR_INVALID_ARGUMENT' })
  const dir = await tempDir(t)
  assert.throws(() => new HyperKV(dir, { maxFeed: 3 } as never), /unknown option "maxFeed"/)
  assert.throws(() => new HyperKV({ log: kv.log, database: null } as never), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => kv.createReadStream({ gt: 5 as never }), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => kv.createHistoryStream(5 as never), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => kv.createHistoryStream('A', { reverse: true } as never), {
    code: 'ERR_INVALID_ARGUMENT',
  })
  assert.equal(kv.log.changes, 0)
})

test('close: idempotent, later calls are ERR_CLOSED, the register survives reopening', async (t) => {
  const dir = await tempDir(t)
  const kv = new HyperKV(dir)
  const a = await kv.put('A', 1)
  const b = await kv.put('B', 2, { links: [] })
  await Promise.all([kv.close(), kv.close()])
  await kv.close()
  await assert.rejects(kv.put('A', 2), { code: 'ERR_CLOSED' })
  await assert.rejects(kv.get('A'), { code: 'ERR_CLOSED' })
  await assert.rejects(kv.batch([]), { code: 'ERR_CLOSED' })
  const reopened = new HyperKV(dir)
  try {
    assert.deepEqual(await reopened.get('A'), { [a.key]: { value: 1 } })
    const a2 = await reopened.put('A', 3)
    assert.deepEqual(a2.links, [a.key])
    assert.deepEqual(await reopened.get('B'), { [b.key]: { value: 2 } })
  } finally {
    await reopened.close()
  }
})

test('with { log } the register defaults into the log database, and close leaves the log open', async (t) => {
  const kv = await openKv(t)
  const shared = new HyperKV({ log: kv.log })
  await kv.put('A', 1)
  assert.deepEqual(Object.values(await shared.get('A')), [{ value: 1 }])
  await shared.close()
  assert.deepEqual(Object.values(await kv.get('A')), [{ value: 1 }], 'the log is still open')
})

test("a write's 'put'/'del' events fire before its caller's await resumes (put, del, batch)", async (t) => {
  const kv = await openKv(t)
  const events: string[] = []
  kv.on('put', (key, value) => events.push(`put ${key}=${String(value)}`))
  kv.on('del', (key) => events.push(`del ${key}`))
  await kv.put('A', 1)
  assert.deepEqual(events, ['put A=1'], 'put')
  await kv.del('A')
  assert.deepEqual(events, ['put A=1', 'del A'], 'del')
  await kv.batch([
    { type: 'put', key: 'B', value: 2 },
    { type: 'del', key: 'B' },
  ])
  assert.deepEqual(events, ['put A=1', 'del A', 'put B=2', 'del B'], 'batch')
  await kv.put('C', 3, { links: [] })
  assert.deepEqual(events.at(-1), 'put C=3', 'a put with explicit links')
})
