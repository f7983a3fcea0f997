// createIndex: hyperlog-index semantics over change order (hyperlog-index's adder test), atomic
// position, resume after a restart.
import assert from 'node:assert/strict'
import test from 'node:test'
import { MemoryLevel } from 'memory-level'
import { Hyperlog, type HyperlogNode, type StagedWrites } from '../../src/hyperlog/index.js'
import type { LevelDb } from '../../src/kappa/index.js'
import { createLog, sync } from '../helpers/hyperlog.js'

/** hyperlog-index's adder: the sum along each branch, keyed by head. */
function adder(db: LevelDb, seen: number[][]) {
  return {
    db,
    maxBatch: 2,
    async map(nodes: HyperlogNode<number>[], staged: StagedWrites) {
      seen.push(nodes.map((n) => n.change))
      for (const node of nodes) {
        let sum = node.value
        for (const link of node.links) sum += Number((await staged.get(link)) ?? 0)
        staged.put(node.key, String(sum))
        staged.put('head', String(sum))
      }
    },
  }
}

async function sums(db: LevelDb, keys: string[]): Promise<number[]> {
  return ((await db.getMany(keys)) as string[]).map(Number)
}

test('adder: a fork, then a merge; batches in change order, reads see staged writes', async (t) => {
  const log = await createLog<number>(t, { valueEncoding: 'json' })
  const root = new MemoryLevel()
  const db = root.sublevel('sums') as unknown as LevelDb
  const seen: number[][] = []
  const index = log.createIndex(adder(db, seen))
  const a = await log.add(null, 100)
  const b = await log.add(a, 4)
  const c = await log.add(a, 7)
  await index.ready()
  assert.deepEqual(await sums(db, [b.key, c.key]), [104, 107])
  const d = await log.add([b, c], 497)
  await index.ready()
  assert.deepEqual(await sums(db, [d.key, 'head']), [708, 708])
  assert.equal(index.position, 4)
  assert.ok(
    seen.every((batch) => batch.length <= 2),
    'maxBatch',
  )
  assert.deepEqual(seen.flat(), [1, 2, 3, 4])
})

test('an index resumes from its stored position after a restart', async (t) => {
  const log = await createLog<number>(t, { valueEncoding: 'json' })
  const root = new MemoryLevel()
  const db = root.sublevel('sums') as unknown as LevelDb
  const first: number[][] = []
  const index = log.createIndex(adder(db, first))
  const a = await log.add(null, 1)
  await index.ready()
  await index.close()
  const b = await log.add(a, 2)
  const second: number[][] = []
  const again = log.createIndex(adder(db, second))
  await again.ready()
  assert.deepEqual(second.flat(), [2], 'only the change it had not indexed')
  assert.deepEqual(await sums(db, [b.key]), [3])
})

test('ready waits for nodes still being indexed by the DAG view (replication)', async (t) => {
  const a = await createLog<number>(t, { valueEncoding: 'json' })
  const b = await createLog<number>(t, { valueEncoding: 'json' })
  for (let i = 0; i < 50; i++) await a.append(i)
  const tip = (await a.heads())[0]
  const db = new MemoryLevel().sublevel('sums') as unknown as LevelDb
  const index = b.createIndex(adder(db, []))
  await sync(a, b)
  await index.ready()
  assert.deepEqual(await sums(db, [tip.key]), [(49 * 50) / 2])
})

test('a failing map: ready rejects with ERR_VIEW_FAILED, the log goes on', async (t) => {
  const log = await createLog(t)
  const db = new MemoryLevel().sublevel('x') as unknown as LevelDb
  const index = log.createIndex({
    db,
    map() {
      throw new Error('map broke')
    },
  })
  await log.add(null, 'x')
  await assert.rejects(index.ready(), (err: any) => err.code === 'ERR_VIEW_FAILED')
  assert.equal((await log.add(null, 'y')).change, 2)
  assert.equal(await db.get('anything'), undefined)
})

test('callback style: index.ready(cb), index.close(cb); ready after close calls back ERR_CLOSED', async (t) => {
  const log = await createLog<number>(t, { valueEncoding: 'json' })
  const seen: number[][] = []
  const db = new MemoryLevel().sublevel('x') as unknown as LevelDb
  const index = log.createIndex(adder(db, seen))
  await log.add(null, 1)
  const ready = await new Promise<Error | null>((resolve) => index.ready((err) => resolve(err)))
  assert.equal(ready, null)
  assert.deepEqual(seen.flat(), [1])
  const closed = await new Promise<Error | null>((resolve) => index.close((err) => resolve(err)))
  assert.equal(closed, null)
  const after = await new Promise<Error | null>((resolve) => index.ready((err) => resolve(err)))
  assert.equal((after as { code?: string } | null)?.code, 'ERR_CLOSED')
})

test('a closed log rejects createIndex', async (t) => {
  const log = await createLog(t)
  await log.close()
  assert.throws(
    () => log.createIndex({ db: new MemoryLevel() as unknown as LevelDb, map() {} }),
    (err: any) => err.code === 'ERR_CLOSED',
  )
  assert.ok(log instanceof Hyperlog)
})
