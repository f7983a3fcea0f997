/**
 * writeBatch (src/level/level-batch.ts): whichever way it takes — a chained batch with prefixed keys
 * and no options when the root holds bytes, `db.batch(ops)` otherwise — the database ends up as
 * `db.batch(ops)` leaves it.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { MemoryLevel } from 'memory-level'
import { writeBatch } from '../../src/level/index.js'
import type { LevelDb, LevelOperation } from '../../src/level/index.js'
import { tempDir } from '../helpers/temp.js'

type Root = 'classic-view' | 'classic-buffer' | 'classic-utf8' | 'memory-view' | 'memory-utf8'

async function openRoot(t: TestContext, kind: Root): Promise<LevelDb> {
  const valueEncoding = kind.split('-')[1]!
  const db = kind.startsWith('classic')
    ? new ClassicLevel(join(await tempDir(t), 'db'), { keyEncoding: 'utf8', valueEncoding })
    : new MemoryLevel({ keyEncoding: 'utf8', valueEncoding })
  await db.open()
  t.after(() => db.close())
  return db as unknown as LevelDb
}

/** The sublevels a DAG batch writes to: bytes (nested), utf-8 values, and json values. */
function sublevelsOf(db: LevelDb) {
  return {
    bytes: db.sublevel('hyperlog').sublevel('d', { valueEncoding: 'view' }),
    text: db.sublevel('kv').sublevel('positions', { valueEncoding: 'utf8' }),
    json: db.sublevel('json', { valueEncoding: 'json' }),
  }
}

function opsFor(db: LevelDb, withJson: boolean): LevelOperation[] {
  const { bytes, text, json } = sublevelsOf(db)
  const ops: Record<string, unknown>[] = [
    { type: 'put', key: 'n!a', value: Buffer.from([1, 2, 3]), sublevel: bytes },
    { type: 'put', key: 'n!b', value: new Uint8Array([4, 5]), sublevel: bytes },
    { type: 'put', key: 'n!c', value: Buffer.from([6]), sublevel: bytes },
    { type: 'del', key: 'n!c', sublevel: bytes },
    { type: 'put', key: 'kv', value: 'ünïcödé 42', sublevel: text },
    { type: 'del', key: 'stale', sublevel: text },
  ]
  if (db.valueEncoding().format !== 'utf8') ops.push({ type: 'put', key: 'root', value: Buffer.from('r') })
  if (withJson) ops.push({ type: 'put', key: 'doc', value: { a: [1] }, sublevel: json })
  return ops as unknown as LevelOperation[]
}

/** Every key and value of the database as bytes, prefixes included. */
async function dump(db: LevelDb): Promise<[string, string][]> {
  const entries = await db.iterator({ keyEncoding: 'utf8', valueEncoding: 'buffer' }).all()
  return (entries as [string, Buffer][]).map(([k, v]) => [k, v.toString('hex')])
}

/** Counts the calls of `db.batch` with and without operations. */
function spyBatch(db: LevelDb): { array: number; chained: number } {
  const calls = { array: 0, chained: 0 }
  const original = db.batch.bind(db) as (...args: unknown[]) => unknown
  ;(db as unknown as { batch: (...args: unknown[]) => unknown }).batch = (...args: unknown[]) => {
    if (args.length === 0) calls.chained++
    else calls.array++
    return original(...args)
  }
  return calls
}

const cases: { root: Root; json: boolean; chained: boolean }[] = [
  { root: 'classic-view', json: false, chained: true },
  { root: 'classic-buffer', json: false, chained: true },
  // memory-level stores keys as bytes (format 'buffer'): not the direct way, but still right.
  { root: 'memory-view', json: false, chained: false },
  { root: 'classic-view', json: true, chained: false },
  { root: 'classic-utf8', json: false, chained: false },
  { root: 'memory-utf8', json: false, chained: false },
]

for (const { root, json, chained } of cases) {
  test(`writeBatch on a ${root} root${json ? ' with a json sublevel' : ''} equals db.batch`, async (t) => {
    const expected = await openRoot(t, root)
    const actual = await openRoot(t, root)
    for (const db of [expected, actual]) await sublevelsOf(db).text.put('stale', 'old')

    await expected.batch(opsFor(expected, json) as never[])
    const calls = spyBatch(actual)
    await writeBatch(actual, opsFor(actual, json))

    assert.deepEqual(await dump(actual), await dump(expected))
    assert.deepEqual(calls, chained ? { array: 0, chained: 1 } : { array: 1, chained: 0 })
    const bytes = (await sublevelsOf(actual).bytes.get('n!b')) as unknown as Uint8Array
    assert.deepEqual([...bytes], [4, 5])
    assert.equal(await sublevelsOf(actual).text.get('kv'), 'ünïcödé 42')
  })
}

test('writeBatch: a sublevel of another root, a non-string key, encoding options: db.batch', async (t) => {
  const db = await openRoot(t, 'classic-view')
  const other = await openRoot(t, 'classic-view')
  const foreign = other.sublevel('x', { valueEncoding: 'view' })
  const own = db.sublevel('x', { valueEncoding: 'view' })
  const variants: Record<string, unknown>[][] = [
    [{ type: 'put', key: 'k', value: Buffer.from('v'), sublevel: foreign }],
    [{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v'), sublevel: own }],
    [{ type: 'put', key: 'k', value: 'v', valueEncoding: 'utf8', sublevel: own }],
    [{ type: 'put', key: 'k', value: 'not bytes', sublevel: own }],
  ]
  const calls = spyBatch(db)
  let expectedArrayCalls = 0
  for (const ops of variants) {
    // abstract-level's own rules decide (the foreign sublevel's write goes to its own root).
    await writeBatch(db, ops as unknown as LevelOperation[]).catch(() => undefined)
    expectedArrayCalls++
    assert.deepEqual(calls, { array: expectedArrayCalls, chained: 0 })
  }
})

test('writeBatch: nothing to write makes no batch', async (t) => {
  const db = await openRoot(t, 'classic-view')
  const calls = spyBatch(db)
  await writeBatch(db, [])
  assert.deepEqual(calls, { array: 0, chained: 0 })
})
