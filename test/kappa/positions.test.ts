/**
 * Positions stored per feed (levelView): a batch writes its own feed's position alone, so what it
 * writes does not grow with the number of feeds; a state stored in the whole layout (every feed's
 * position in one state) is moved to per-feed records at open, without indexing anything again.
 */
import assert from 'node:assert/strict'
import { test, type TestContext } from 'node:test'
import { MemoryLevel } from 'memory-level'
import {
  decodeFeedPosition,
  decodePositions,
  encodePositions,
  levelView,
  type Entry,
  type ViewDb,
} from '../../src/kappa/index.js'
import type { FeedKey } from '../../src/feeds/types.js'
import { openCore, tempDir } from '../helpers/kappa.js'

type Db = MemoryLevel<string, unknown>

function countView(db: Db) {
  return levelView(db, (vdb: ViewDb<number>) => ({
    async map(entries: Entry<number>[]) {
      await vdb.put('count', ((await vdb.get('count')) ?? 0) + entries.length)
    },
    api: {
      count: async (): Promise<number> => (await vdb.get('count')) ?? 0,
    },
  }))
}

/** Bytes of one written operation (its key and value as stored). */
function sizeOf(op: { key: unknown; value?: unknown }): number {
  const bytes = (v: unknown): number =>
    v instanceof Uint8Array
      ? v.byteLength
      : Buffer.byteLength(typeof v === 'string' ? v : JSON.stringify(v ?? null))
  return bytes(op.key) + bytes(op.value)
}

/** N writers with one entry each, indexed; then the bytes the batch of one more entry writes. */
async function bytesOfOneBatch(t: TestContext, feeds: number): Promise<number> {
  const db: Db = new MemoryLevel({ valueEncoding: 'json' })
  const core = await openCore<number>(t, { dir: await tempDir(t) })
  // The data written is the same at any N: the batch's own entries' values.
  const { api } = core.use(
    'last',
    levelView(db, (vdb: ViewDb<number>) => ({
      async map(entries: Entry<number>[]) {
        await vdb.put('last', entries[entries.length - 1]!.value)
      },
      api: { last: async (): Promise<number | undefined> => vdb.get('last') },
    })),
  )
  const writers = []
  for (let i = 0; i < feeds; i++) writers.push(await core.writer(`w${i}`))
  for (const writer of writers) await writer.append(1)
  await core.ready()
  let written = 0
  const onWrite = (ops: Array<{ key: unknown; value?: unknown }>): void => {
    for (const op of ops) written += sizeOf(op)
  }
  db.on('write', onWrite)
  await writers[0]!.append(2)
  await core.ready()
  db.off('write', onWrite)
  assert.equal(await api.last.last(), 2)
  await db.close()
  return written
}

test('a view batch writes the same bytes with 3 feeds as with 60', async (t) => {
  const few = await bytesOfOneBatch(t, 3)
  const many = await bytesOfOneBatch(t, 60)
  assert.ok(few > 0)
  // The whole layout would add 33 bytes per feed: 1,900 more at 60 feeds.
  assert.equal(many, few)
})

test('a state of every feed (the whole layout) moves to per-feed records at open, nothing indexed again', async (t) => {
  const dir = await tempDir(t)
  const db: Db = new MemoryLevel({ valueEncoding: 'json' })
  t.after(() => db.close())
  const state = db.sublevel<string, Buffer>('s', { valueEncoding: 'buffer' })
  const records = db.sublevel<string, Buffer>('p', { keyEncoding: 'utf8', valueEncoding: 'buffer' })
  let indexed = 0
  {
    const core = await openCore<number>(t, { dir })
    core.use('count', countView(db))
    await (await core.writer('a')).append([1, 2, 3])
    await (await core.writer('b')).append(4)
    await core.ready()
    await core.close()
  }
  // As an earlier version stored it: every position in the state, no records.
  const positions = new Map<FeedKey, number>()
  for (const [key, bytes] of await records.iterator().all())
    positions.set(key as FeedKey, decodeFeedPosition(bytes))
  assert.deepEqual([...positions.values()].sort(), [1, 3])
  await records.clear()
  await state.put('state', encodePositions({ version: 1, indexed: positions }))

  const core = await openCore<number>(t, { dir })
  const { api } = core.use(
    'count',
    levelView(db, (vdb: ViewDb<number>) => ({
      async map(entries: Entry<number>[]) {
        indexed += entries.length
        await vdb.put('count', ((await vdb.get('count')) ?? 0) + entries.length)
      },
      api: { count: async (): Promise<number> => (await vdb.get('count')) ?? 0 },
    })),
  )
  await core.ready()
  assert.equal(indexed, 0, 'nothing indexed again')
  assert.equal(await api.count.count(), 4)
  assert.equal(decodePositions((await state.get('state'))!).layout, 'per-feed')
  const moved = new Map<string, number>()
  for (const [key, bytes] of await records.iterator().all()) moved.set(key, decodeFeedPosition(bytes))
  assert.deepEqual(moved, positions)
  // And on from there: a new entry moves its feed's record.
  await (await core.writer('b')).append(5)
  await core.ready()
  assert.equal(indexed, 1)
  assert.equal(await api.count.count(), 5)
})
