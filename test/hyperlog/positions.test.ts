/**
 * The DAG view's positions, stored per feed: one record per writer's log beside a header, and a
 * state of an earlier version (every feed's position in one state) moved to them at open, with
 * nothing indexed again.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { Hyperlog } from '../../src/hyperlog/index.js'
import { decodeFeedPosition, decodePositions, encodePositions } from '../../src/kappa/index.js'
import type { FeedKey } from '../../src/feeds/types.js'
import { createLog, sync } from '../helpers/hyperlog.js'
import { tempDir } from '../helpers/kappa.js'

/** The DAG view's stored state and records, read from its database (the log closed). */
async function stored(
  dir: string,
): Promise<{ state: Buffer; records: Map<FeedKey, number>; db: ClassicLevel }> {
  const db = new ClassicLevel<string, Buffer>(join(dir, 'index'), {
    keyEncoding: 'utf8',
    valueEncoding: 'buffer',
  })
  const dag = db.sublevel<string, Buffer>('hyperlog', { valueEncoding: 'buffer' })
  const state = (await dag.sublevel<string, Buffer>('s', { valueEncoding: 'buffer' }).get('state'))!
  const records = new Map<FeedKey, number>()
  const p = dag.sublevel<string, Buffer>('p', { keyEncoding: 'utf8', valueEncoding: 'buffer' })
  for (const [key, bytes] of await p.iterator().all()) records.set(key as FeedKey, decodeFeedPosition(bytes))
  return { state, records, db: db as unknown as ClassicLevel }
}

test('the DAG view stores a record per feed; a whole-layout state moves to records at open', async (t) => {
  const dir = await tempDir(t, 'kappadb-hyperlog-')
  const other = await createLog<string>(t, { valueEncoding: 'utf8' })
  await other.add(null, 'from the other log')
  let log = new Hyperlog<string>(dir, { valueEncoding: 'utf8' })
  const first = await log.add(null, 'one')
  await log.add([first.key], 'two')
  await sync(log, other)
  await log.ready()
  assert.equal(log.changes, 3)
  await log.close()

  const before = await stored(dir)
  assert.equal(decodePositions(before.state).layout, 'per-feed')
  assert.deepEqual([...before.records.values()].sort(), [1, 2])
  // As an earlier version stored it: every position in the state, no records.
  const dag = before.db.sublevel<string, Buffer>('hyperlog', { valueEncoding: 'buffer' })
  await dag.sublevel<string, Buffer>('p', { keyEncoding: 'utf8', valueEncoding: 'buffer' }).clear()
  await dag
    .sublevel<string, Buffer>('s', { valueEncoding: 'buffer' })
    .put(
      'state',
      encodePositions({ version: decodePositions(before.state).version, indexed: before.records }),
    )
  await before.db.close()

  log = new Hyperlog<string>(dir, { valueEncoding: 'utf8' })
  await log.ready()
  // Nothing indexed again: the same change numbers, no node twice.
  assert.equal(log.changes, 3)
  const nodes = await log.createReadStream().toArray()
  assert.deepEqual(nodes.map((n) => n.value).sort(), ['from the other log', 'one', 'two'])
  const third = await log.add(null, 'three')
  assert.equal(third.change, 4)
  await log.close()
  const after = await stored(dir)
  assert.equal(decodePositions(after.state).layout, 'per-feed')
  assert.deepEqual([...after.records.values()].sort(), [1, 3])
  await after.db.close()
})
