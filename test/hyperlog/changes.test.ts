// hyperlog's test/changes.js, plus the read stream options (since/until/reverse/limit/tail/live).
import assert from 'node:assert/strict'
import test from 'node:test'
import type { HyperlogNode } from '../../src/hyperlog/index.js'
import { collect, createLog } from '../helpers/hyperlog.js'

test('changes', async (t) => {
  const log = await createLog(t)
  const a = await log.add(null, 'a')
  const b = await log.add(null, 'b')
  const c = await log.add(null, 'c')
  assert.deepEqual(await collect(log.createReadStream()), [a, b, c])
})

test('changes since', async (t) => {
  const log = await createLog(t)
  await log.add(null, 'a')
  await log.add(null, 'b')
  const c = await log.add(null, 'c')
  assert.deepEqual(await collect(log.createReadStream({ since: 2 })), [c])
})

test('since, until, reverse, limit', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  await log.batch(['1', '2', '3', '4', '5'].map((value) => ({ value })))
  const values = async (opts: object) =>
    (await collect<HyperlogNode<string>>(log.createReadStream(opts))).map((n) => n.change)
  assert.deepEqual(await values({ since: 1, until: 4 }), [2, 3])
  assert.deepEqual(await values({ reverse: true, limit: 2 }), [5, 4])
  assert.deepEqual(await values({ reverse: true, since: 1, until: 5 }), [4, 3, 2])
  assert.deepEqual(await values({ limit: 0 }), [])
  assert.deepEqual(await values({ since: 5 }), [])
})

test('reads many changes in chunks, in order', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const docs = Array.from({ length: 700 }, (_, i) => ({ value: String(i) }))
  await log.batch(docs)
  const nodes = await collect<HyperlogNode<string>>(log.createReadStream())
  assert.deepEqual(
    nodes.map((n) => n.value),
    docs.map((d) => d.value),
  )
  assert.deepEqual(
    nodes.map((n) => n.change),
    docs.map((_, i) => i + 1),
  )
  const reversed = await collect<HyperlogNode<string>>(log.createReadStream({ reverse: true, limit: 300 }))
  assert.equal(reversed.length, 300)
  assert.equal(reversed[0].change, 700)
  assert.equal(reversed[299].change, 401)
})

test('live changes', async (t) => {
  const log = await createLog(t)
  const stream = log.createReadStream({ live: true })
  const seen: string[] = []
  const done = new Promise<void>((resolve) => {
    stream.on('data', (node: HyperlogNode<Buffer>) => {
      seen.push(node.value.toString())
      if (seen.length === 3) resolve()
    })
  })
  await log.add(null, 'a')
  await log.add(null, 'b')
  void log.add(null, 'c')
  await done
  assert.deepEqual(seen, ['a', 'b', 'c'])
  stream.destroy()
})

test('live with limit ends; tail starts after the present', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  await log.add(null, 'old')
  const limited = collect<HyperlogNode<string>>(log.createReadStream({ live: true, limit: 2 }))
  const tail = log.createReadStream({ live: true, tail: true })
  const tailed = new Promise<string>((resolve) =>
    tail.once('data', (n: HyperlogNode<string>) => resolve(n.value)),
  )
  await log.add(null, 'new')
  assert.deepEqual(
    (await limited).map((n) => n.value),
    ['old', 'new'],
  )
  assert.equal(await tailed, 'new')
  tail.destroy()
})

test('live streams end when the log closes', async (t) => {
  const log = await createLog(t)
  const live = log.createReadStream({ live: true })
  const nodes = collect(live)
  await log.add(null, 'x')
  await log.close()
  assert.equal((await nodes).length, 1)
})

test('parallel add orders changes', async (t) => {
  const log = await createLog(t)
  await Promise.all([log.add(null, 'a'), log.add(null, 'b'), log.add(null, 'c')])
  const changes = await collect<HyperlogNode<Buffer>>(log.createReadStream())
  assert.deepEqual(
    changes.map((c) => c.change),
    [1, 2, 3],
  )
  assert.deepEqual(changes.map((c) => c.value.toString()).sort(), ['a', 'b', 'c'])
})

test('1000 concurrent adds: one change each, in call order', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const values = Array.from({ length: 1000 }, (_, i) => `v${i}`)
  const nodes = await Promise.all(values.map((v) => log.add(null, v)))
  assert.deepEqual(
    nodes.map((n) => n.change),
    values.map((_, i) => i + 1),
  )
  assert.equal(log.changes, 1000)
  assert.equal((await log.heads()).length, 1000)
})

test('reopening keeps nodes, changes, heads', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const a = await log.add(null, 'a')
  const b = await log.add(a, 'b')
  const c = await log.add(null, 'c')
  await log.close()
  const { Hyperlog } = await import('../../src/hyperlog/index.js')
  const again = new Hyperlog<string>(log.dir, { valueEncoding: 'utf-8' })
  t.after(() => again.close())
  await again.ready()
  assert.equal(again.changes, 3)
  assert.deepEqual(
    await again.heads(),
    [b, c].sort((x, y) => (x.key < y.key ? -1 : 1)),
  )
  assert.deepEqual(await collect(again.createReadStream()), [a, b, c])
  const d = await again.append('d')
  assert.equal(d.change, 4)
  assert.equal(d.seq, 4)
})
