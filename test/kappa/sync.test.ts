/**
 * Views over replicated feeds (multifeed-index's sync.js, adder + sync, basic.js kv, fork.js kv merge
 * fork) and a view added after replication.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { levelView, type Entry, type ViewDb } from '../../src/kappa/index.js'
import { decodePositions } from '../../src/kappa/messages.js'
import { adder, openCore, sync } from '../helpers/kappa.js'

test('multiple feeds: both sides sum every feed after a sync', async (t) => {
  const a = await openCore<number>(t)
  const b = await openCore<number>(t)
  await (await a.writer('default')).append([17, 12, 1])
  await (await b.writer('default')).append([11, 3])
  await sync(a, b)
  const [va, vb] = [adder({ maxBatch: 10 }), adder({ maxBatch: 10 })]
  a.use('sum', va)
  b.use('sum', vb)
  await Promise.all([a.ready(), b.ready()])
  assert.deepEqual([va.store.sum, vb.store.sum], [44, 44])
})

test('adder + sync: indexers running during replication pick up the remote feed', async (t) => {
  const a = await openCore<number>(t)
  const b = await openCore<number>(t)
  const [va, vb] = [adder(), adder()]
  a.use('sum', va)
  b.use('sum', vb)
  await (await a.writer('default')).append([10, 10, 10])
  await (await b.writer('default')).append(9)
  await Promise.all([a.ready(), b.ready()])
  await sync(a, b)
  await Promise.all([a.ready(), b.ready()])
  assert.deepEqual([va.store.sum, vb.store.sum], [39, 39])
  const positions = (state: Uint8Array | undefined) => [...decodePositions(state!).indexed.values()].sort()
  assert.deepEqual(positions(va.store.state), [1, 3])
  assert.deepEqual(positions(vb.store.state), [1, 3])
})

test('a view added after replication indexes the remote feeds too', async (t) => {
  const a = await openCore<number>(t)
  const b = await openCore<number>(t)
  await (await a.writer('default')).append([1, 2, 3])
  await (await b.writer('x')).append([4])
  await sync(a, b)
  const late = adder({ maxBatch: 2 })
  b.use('late', late)
  await b.ready('late')
  assert.equal(late.store.sum, 10)
  assert.equal(b.getState('late').context.indexedBlocks, 4)
})

interface KvDoc {
  key: string
  id: string
  links: string[]
}

/** A small unordered-materialized-kv as a levelView: heads of each key by links. */
function kvView(db: MemoryLevel<string, string>) {
  return levelView(db, (vdb: ViewDb<string>) => ({
    async map(entries: Entry<KvDoc>[]) {
      const linked = new Set(entries.flatMap((e) => e.value.links))
      for (const { value: doc } of entries) {
        const heads = ((await vdb.get(`k!${doc.key}`)) ?? '').split(',').filter(Boolean)
        for (const link of doc.links) await vdb.put(`l!${link}`, '')
        const isLinked = linked.has(doc.id) || (await vdb.get(`l!${doc.id}`)) !== undefined
        const next = heads.filter((h) => !doc.links.includes(h))
        if (!isLinked && !next.includes(doc.id)) next.push(doc.id)
        await vdb.put(`k!${doc.key}`, next.join(','))
      }
    },
    api: {
      get(_core: unknown, key: string, cb: (err: Error | null, heads?: string[]) => void) {
        vdb.get(`k!${key}`, (err, value) => (err ? cb(err) : cb(null, value.split(','))))
      },
    },
  }))
}

function heads(
  api: { get(key: string, cb: (err: Error | null, heads?: string[]) => void): void },
  key: string,
) {
  return new Promise<string[] | 'notFound'>((resolve, reject) =>
    api.get(key, (err, value) =>
      err
        ? (err as { notFound?: boolean }).notFound
          ? resolve('notFound')
          : reject(err)
        : resolve(value!.sort()),
    ),
  )
}

test('kv: create index then data', async (t) => {
  const core = await openCore<KvDoc>(t)
  const api = core.use('kv', kvView(new MemoryLevel({ valueEncoding: 'utf8' }))).api.kv
  await core.ready()
  assert.equal(await heads(api, 'foo'), 'notFound')
  const w = await core.writer('default')
  await w.append({ key: 'foo', id: `${w.id}@0`, links: [] })
  await w.append({ key: 'foo', id: `${w.id}@1`, links: [`${w.id}@0`] })
  await core.ready()
  assert.deepEqual(await heads(api, 'foo'), [`${w.id}@1`])
})

test('kv merge fork: heads agree on both sides before and after the merge', async (t) => {
  const a = await openCore<KvDoc>(t)
  const b = await openCore<KvDoc>(t)
  const apiA = a.use('kv', kvView(new MemoryLevel({ valueEncoding: 'utf8' }))).api.kv
  const apiB = b.use('kv', kvView(new MemoryLevel({ valueEncoding: 'utf8' }))).api.kv
  const [wa, wb] = await Promise.all([a.writer('default'), b.writer('default')])
  await wa.append({ key: 'X', id: '1', links: [] })
  await sync(a, b)
  await wa.append({ key: 'X', id: '2', links: ['1'] })
  await wb.append({ key: 'X', id: '3', links: ['1'] })
  await sync(a, b)
  await Promise.all([a.ready(), b.ready()])
  assert.deepEqual(await heads(apiA, 'X'), ['2', '3'])
  assert.deepEqual(await heads(apiB, 'X'), ['2', '3'])
  await wa.append({ key: 'X', id: '4', links: ['2', '3'] })
  await sync(a, b)
  await Promise.all([a.ready(), b.ready()])
  assert.deepEqual(await heads(apiA, 'X'), ['4'])
  assert.deepEqual(await heads(apiB, 'X'), ['4'])
})
