// hyperlog's test/replicate.js and the replication parts of test/encoding.js, plus modes,
// forwarding (a→b→c) and topological change order on every replica.
import assert from 'node:assert/strict'
import test from 'node:test'
import { isKappaError } from '../../src/errors.js'
import type { HyperlogNode } from '../../src/hyperlog/index.js'
import { collect, createLog, errorOf, sync, toMap } from '../helpers/hyperlog.js'

test('clones', async (t) => {
  const hyper = await createLog(t)
  const clone = await createLog(t)
  await hyper.add(null, 'a')
  await hyper.add(null, 'b')
  await hyper.add(null, 'c')
  await sync(hyper, clone)
  assert.deepEqual(await toMap(clone), await toMap(hyper))
  assert.equal(Object.keys(await toMap(clone)).length, 3)
})

test('clones with valueEncoding', async (t) => {
  const hyper = await createLog(t, { valueEncoding: 'json' })
  const clone = await createLog(t, { valueEncoding: 'json' })
  await hyper.add(null, 'a')
  await hyper.add(null, { b: 1 })
  await hyper.add(null, ['c'])
  await sync(hyper, clone)
  const map = await toMap(clone)
  assert.deepEqual(map, await toMap(hyper))
  assert.deepEqual(
    Object.values(map).map((n) => n.value),
    ['a', { b: 1 }, ['c']],
  )
})

test('syncs with initial subset', async (t) => {
  const hyper = await createLog(t)
  const clone = await createLog(t)
  await clone.add(null, 'a')
  await hyper.add(null, 'a')
  await hyper.add(null, 'b')
  await hyper.add(null, 'c')
  await sync(hyper, clone)
  assert.deepEqual(await toMap(clone), await toMap(hyper))
  assert.equal(clone.changes, 3, 'the duplicate a is one node')
})

test('syncs with initial superset', async (t) => {
  const hyper = await createLog(t)
  const clone = await createLog(t)
  await clone.add(null, 'd')
  await hyper.add(null, 'a')
  await hyper.add(null, 'b')
  await hyper.add(null, 'c')
  await sync(hyper, clone)
  const map = await toMap(clone)
  assert.deepEqual(map, await toMap(hyper))
  assert.equal(Object.keys(map).length, 4)
})

test('shared history with duplicates', async (t) => {
  const hyper1 = await createLog(t)
  const hyper2 = await createLog(t)
  const doc1 = { links: [], value: 'a' }
  const doc2 = { links: [], value: 'b' }
  await hyper1.batch([doc1])
  await sync(hyper1, hyper2)
  const nodes = await hyper2.batch([doc1, doc2])
  assert.equal(nodes[0].change, 1)
  assert.equal(nodes[1].change, 2)
  await sync(hyper1, hyper2)
  assert.deepEqual(await toMap(hyper1), await toMap(hyper2))
})

test("the original's call shape replicate({ mode, live }) and push/pull modes", async (t) => {
  const a = await createLog(t)
  const b = await createLog(t)
  await a.add(null, 'from a')
  await b.add(null, 'from b')
  // a pushes: b gets a's node, a gets nothing.
  const sa = a.replicate({ mode: 'push' })
  const sb = b.replicate({ mode: 'pull' })
  sa.pipe(sb).pipe(sa)
  assert.deepEqual(await Promise.all([errorOf(sa), errorOf(sb)]), [null, null])
  assert.equal(b.changes, 2)
  assert.equal(a.changes, 1)
})

test('push+push and pull+pull fail both sides', async (t) => {
  const a = await createLog(t)
  const b = await createLog(t)
  for (const mode of ['push', 'pull'] as const) {
    const sa = a.replicate(true, { mode })
    const sb = b.replicate(false, { mode })
    sa.pipe(sb).pipe(sa)
    const [ea, eb] = await Promise.all([errorOf(sa), errorOf(sb)])
    // Both sides fail. The side that reads the conflicting mode says ERR_MODE_CONFLICT; with logs
    // present the feeds layer currently gives the other side ERR_PROTOCOL (peer closed early).
    assert.ok(isKappaError(ea) && isKappaError(eb), `${mode}: ${String(ea)} / ${String(eb)}`)
    assert.ok(ea.code === 'ERR_MODE_CONFLICT' || eb.code === 'ERR_MODE_CONFLICT', mode)
    assert.equal(a.changes + b.changes, 0)
  }
})

test('a node forwarded a→b→c keeps its log and seq; c sees it once everything it links to is there', async (t) => {
  const a = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const b = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const c = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const root = await a.add(null, 'root')
  await sync(a, b)
  const child = await b.add(root, 'child')
  await sync(b, c)
  const got = await c.get(child.key)
  assert.equal(got.log, child.log)
  assert.equal(got.seq, child.seq)
  const forwarded = await c.get(root.key)
  assert.equal(forwarded.log, root.log, 'a node keeps the log it was written to')
  assert.deepEqual(
    (await collect<HyperlogNode<string>>(c.createReadStream())).map((n) => n.value),
    ['root', 'child'],
  )
})

test('change order is topological even when a log arrives before the logs it links into', async (t) => {
  // c learns b's log (whose nodes link into a's) while a's log is indexed after it, or not yet at all.
  const a = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const b = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const c = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const r1 = await a.add(null, 'r1')
  const r2 = await a.add(r1, 'r2')
  await sync(a, b)
  const x = await b.add(r2, 'x')
  const y = await b.append('y')
  await sync(b, c)
  const nodes = await collect<HyperlogNode<string>>(c.createReadStream())
  const position = new Map(nodes.map((n) => [n.key, n.change]))
  for (const n of nodes)
    for (const link of n.links) assert.ok(position.get(link)! < n.change, 'links come first')
  assert.deepEqual(nodes.map((n) => n.value).sort(), ['r1', 'r2', 'x', 'y'])
  assert.deepEqual(
    (await c.heads()).map((n) => n.key),
    [y.key],
  )
  assert.deepEqual(y.links, [x.key])
})

test('live replication: new nodes flow both ways, and through an intermediary', async (t) => {
  const h0 = await createLog(t, { valueEncoding: 'json' })
  const h1 = await createLog(t, { valueEncoding: 'json' })
  const received = new Promise<unknown>((resolve) =>
    h1.createReadStream({ live: true }).once('data', (node: HyperlogNode) => resolve(node.value)),
  )
  await h0.add(null, { msg: 'hello world' })
  const r0 = h0.replicate(true, { live: true })
  const r1 = h1.replicate(false, { live: true })
  r0.pipe(r1).pipe(r0)
  assert.deepEqual(await received, { msg: 'hello world' })
  const back = new Promise<unknown>((resolve) => h0.once('add', (node) => resolve(node.value)))
  await h1.add(null, { msg: 'reply' })
  assert.deepEqual(await back, { msg: 'reply' })
  const closed = Promise.all([errorOf(r0), errorOf(r1)])
  r0.destroy()
  r1.destroy()
  await closed
})

test("'add' fires for replicated nodes, in change order", async (t) => {
  const a = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const b = await createLog<string>(t, { valueEncoding: 'utf-8' })
  await a.add(null, 'x')
  await a.append('y')
  await a.append('z')
  const added: number[] = []
  let preadds = 0
  b.on('preadd', () => preadds++)
  b.on('add', (node) => added.push(node.change))
  await sync(a, b)
  assert.deepEqual(added, [1, 2, 3])
  assert.equal(preadds, 3)
})

test('replicates thousands of nodes across several batches', async (t) => {
  const a = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const b = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const docs = Array.from({ length: 2500 }, (_, i) => ({ value: `n${i}` }))
  await a.batch(docs)
  await a.append('tip')
  await sync(a, b)
  assert.equal(b.changes, 2501)
  assert.equal((await b.heads()).length, 1)
  assert.deepEqual(await toMap(b), await toMap(a))
})
