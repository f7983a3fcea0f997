import test from 'node:test'
import assert from 'node:assert/strict'
import { finished } from 'node:stream/promises'
import { insertDag9, openKvs, replicate } from '../helpers/kv.js'

test('forks: DAG9 gives both heads of a fork and the merge (fork.js)', async (t) => {
  const [kv] = await openKvs(t, 1)
  const n = await insertDag9(kv!)
  assert.deepEqual(await kv!.get('X'), { [n.D.key]: { value: 222 }, [n.E.key]: { value: 400 } })
  assert.deepEqual(await kv!.get('Y'), { [n.F.key]: { value: 999 } })
  assert.deepEqual(await kv!.get('Z'), { [n.I.key]: { value: 3000 } })
})

test('del forks: a del on one side and a put on the other both survive the sync (del_fork.js)', async (t) => {
  const [kv0, kv1] = await openKvs(t, 2)
  const n = await insertDag9(kv0!)
  await replicate(kv0!, kv1!)
  assert.deepEqual(await kv1!.get('X'), { [n.D.key]: { value: 222 }, [n.E.key]: { value: 400 } })
  const del = await kv0!.del('X')
  assert.deepEqual(del.links.slice().sort(), [n.D.key, n.E.key].sort())
  const put = await kv1!.put('X', 111)
  await replicate(kv0!, kv1!)
  const expected = { [put.key]: { value: 111 }, [del.key]: { deleted: true } }
  assert.deepEqual(await kv0!.get('X'), expected)
  assert.deepEqual(await kv1!.get('X'), expected)
})

test('del ambiguity after sync: put and tombstone both returned (del.js)', async (t) => {
  const [kv1, kv2] = await openKvs(t, 2)
  const p1 = await kv1!.put('foo', 'bar')
  const p2 = await kv2!.put('foo', 'bar')
  assert.equal(p1.key, p2.key, 'same document, same links: the same node on both sides')
  const del = await kv1!.del('foo')
  const box = await kv2!.put('foo', 'box')
  await replicate(kv1!, kv2!)
  const expected = { [del.key]: { deleted: true }, [box.key]: { value: 'box' } }
  assert.deepEqual(await kv1!.get('foo'), expected)
  assert.deepEqual(await kv2!.get('foo'), expected)
})

test('concurrent writers converge: identical get for every key after syncing both ways', async (t) => {
  const [a, b] = await openKvs(t, 2)
  await a!.put('shared', 'base')
  await replicate(a!, b!)
  const writesA = await Promise.all([a!.put('shared', 'from a'), a!.put('only-a', 1), a!.del('gone')])
  const writesB = await Promise.all([b!.put('shared', 'from b'), b!.del('only-a'), b!.put('gone', 2)])
  await replicate(a!, b!)
  for (const key of ['shared', 'only-a', 'gone']) {
    assert.deepEqual(await a!.get(key), await b!.get(key), key)
  }
  assert.deepEqual(await a!.get('shared'), {
    [writesA[0].key]: { value: 'from a' },
    [writesB[0].key]: { value: 'from b' },
  })
  assert.deepEqual(await b!.get('only-a'), {
    [writesA[1].key]: { value: 1 },
    [writesB[1].key]: { deleted: true },
  })
  assert.deepEqual(await b!.get('gone'), {
    [writesA[2].key]: { deleted: true },
    [writesB[2].key]: { value: 2 },
  })
  const merged = await b!.put('shared', 'merged')
  await replicate(a!, b!)
  assert.deepEqual(await a!.get('shared'), { [merged.key]: { value: 'merged' } })
})

test('update and remove fire for replicated nodes', async (t) => {
  const [a, b] = await openKvs(t, 2)
  const seen: string[] = []
  b!.on('update', (key, value) => seen.push(`update ${key}=${String(value)}`))
  b!.on('remove', (key) => seen.push(`remove ${key}`))
  b!.on('put', () => seen.push('put (local only)'))
  await a!.put('A', 1)
  await a!.del('A')
  await a!.put('B', 2)
  await replicate(a!, b!)
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(seen, ['update A=1', 'remove A', 'update B=2'])
})

test('a write right after a sync links what arrived, even before the register caught up', async (t) => {
  const [a, b] = await openKvs(t, 2)
  const mine = await b!.put('k', 'b1') // b has written before: its own writes need no index wait
  const theirs = await a!.put('k', 'a1', { links: [] })
  const left = a!.log.replicate(true)
  const right = b!.log.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)]) // the logs synced; b's register not awaited
  const merged = await b!.put('k', 'merged')
  assert.deepEqual(merged.links.slice().sort(), [mine.key, theirs.key].sort())
  assert.deepEqual(await b!.get('k'), { [merged.key]: { value: 'merged' } })
})

test('nodes added to the log directly are linked by the next put', async (t) => {
  const [kv] = await openKvs(t, 1)
  const first = await kv!.put('k', 1)
  const direct = await kv!.log.add([first.key], { k: 'k', v: 2 })
  const next = await kv!.put('k', 3)
  assert.deepEqual(next.links, [direct.key])
  assert.deepEqual(await kv!.get('k'), { [next.key]: { value: 3 } })
})
