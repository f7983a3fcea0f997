// hyperlog's test/basic.js, test/batch.js and test/events.js against kappadb.
import assert from 'node:assert/strict'
import test from 'node:test'
import { isKappaError } from '../../src/errors.js'
import { Hyperlog, type HyperlogNode } from '../../src/hyperlog/index.js'
import { collect, createLog } from '../helpers/hyperlog.js'

test('add node', async (t) => {
  const log = await createLog(t)
  const node = await log.add(null, 'hello world')
  assert.ok(node.key)
  assert.deepEqual(node.links, [])
  assert.deepEqual(node.value, Buffer.from('hello world'))
  assert.equal(node.seq, 1)
  assert.equal(node.change, 1)
  assert.equal(node.log, (await log.kappa.writer('hyperlog')).id)
})

test('add node with links', async (t) => {
  const log = await createLog(t)
  const node = await log.add(null, 'hello')
  const node2 = await log.add(node, 'world')
  assert.ok(node2.key)
  assert.deepEqual(node2.links, [node.key])
  assert.deepEqual(node2.value, Buffer.from('world'))
  assert.equal(node2.seq, 2)
})

test('cannot add node with bad links', async (t) => {
  const log = await createLog(t)
  await assert.rejects(log.add('i-do-not-exist', 'hello world'), (err: any) => {
    assert.ok(isKappaError(err, 'ERR_NOT_FOUND'))
    assert.equal(err.notFound, true)
    return true
  })
  assert.equal(log.changes, 0)
  assert.equal((await log.kappa.writer('hyperlog')).length, 0, 'nothing appended')
})

test('callback style: (err, node), and notFound errors', async (t) => {
  const log = await createLog(t)
  const node = await new Promise<HyperlogNode>((resolve, reject) =>
    log.add(null, 'cb', (err, n) => (err ? reject(err) : resolve(n!))),
  )
  assert.equal(node.change, 1)
  const err = await new Promise<any>((resolve) => log.get('nope', (e) => resolve(e)))
  assert.equal(err.code, 'ERR_NOT_FOUND')
  assert.equal(err.notFound, true)
})

test('heads', async (t) => {
  const log = await createLog(t)
  assert.deepEqual(await log.heads(), [])
  const node = await log.add(null, 'a')
  assert.deepEqual(await log.heads(), [node])
  const node2 = await log.add(node, 'b')
  assert.deepEqual(await log.heads(), [node2])
  // Also a stream, and ordered by hash.
  const x = await log.add(null, 'x')
  const y = await log.add(null, 'y')
  const streamed = await collect<HyperlogNode>(log.heads())
  assert.deepEqual(
    streamed.map((n) => n.key),
    [node2.key, x.key, y.key].sort(),
  )
  const viaCallback = await new Promise<HyperlogNode[]>(
    (resolve, reject) => void log.heads((err, nodes) => (err ? reject(err) : resolve(nodes!))),
  )
  assert.deepEqual(viaCallback, streamed)
})

test('append links to every head', async (t) => {
  const log = await createLog(t)
  const first = await log.append('first')
  assert.deepEqual(first.links, [])
  const a = await log.add(first, 'a')
  const b = await log.add(first, 'b')
  const merge = await log.append('merge')
  assert.deepEqual(merge.links, [a.key, b.key].sort())
  assert.deepEqual(await log.heads(), [merge])
})

test('concurrent appends see each other', async (t) => {
  const log = await createLog(t)
  const nodes = await Promise.all([log.append('1'), log.append('2'), log.append('3')])
  assert.deepEqual(nodes[0].links, [])
  assert.deepEqual(nodes[1].links, [nodes[0].key])
  assert.deepEqual(nodes[2].links, [nodes[1].key])
  assert.deepEqual(await log.heads(), [nodes[2]])
})

test('deduplicates', async (t) => {
  const log = await createLog(t)
  const first = await log.add(null, 'hello world')
  const again = await log.add(null, 'hello world')
  assert.deepEqual(again, first)
  assert.equal((await collect(log.createReadStream())).length, 1)
  // Acknowledged writes reach the feed in the background (the outbox): flush, then look.
  await log.flush()
  assert.equal((await log.kappa.writer('hyperlog')).length, 1, 'a duplicate is not appended')
})

test('deduplicates -- same batch', async (t) => {
  const log = await createLog(t)
  const doc = { links: [], value: 'hello world' }
  const nodes = await log.batch([doc, doc])
  assert.equal(nodes.length, 2)
  assert.deepEqual(nodes[0], nodes[1])
  assert.equal((await collect(log.createReadStream())).length, 1)
  assert.equal(log.changes, 1)
})

test('bug repro: bad insert links results in correct preadd/add/reject counts', async (t) => {
  const log = await createLog(t)
  let pending = 0
  log.on('preadd', () => pending++)
  log.on('add', () => pending--)
  log.on('reject', () => pending--)
  await assert.rejects(log.add(['123'], 'hello'))
  assert.equal(pending, 0)
  await log.batch([{ value: 'ok' }, { links: ['nope'], value: 'bad' }]).catch(() => undefined)
  await log.append('appended')
  await log.batch([{ value: 'a' }, { value: 'a' }])
  assert.equal(pending, 0)
})

test('batch', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf8' })
  const node = await log.add(null, 'A')
  const nodes = await log.batch([
    { links: [node.key], value: 'B' },
    { links: [node.key], value: 'C' },
    { links: [node.key], value: 'D' },
  ])
  assert.equal((await log.get(node.key)).value, 'A')
  assert.deepEqual(await Promise.all(nodes.map(async (n) => (await log.get(n.key)).value)), ['B', 'C', 'D'])
  assert.deepEqual(
    nodes.map((n) => n.change),
    [2, 3, 4],
    'input order',
  )
  await log.flush()
  const writer = await log.kappa.writer('hyperlog')
  assert.equal(writer.length, 4)
})

test('batch is atomic: one missing link rejects every doc, nothing appended', async (t) => {
  const log = await createLog<string>(t, { valueEncoding: 'utf8' })
  const rejected: (string | null)[] = []
  log.on('reject', (node) => rejected.push(node.value.toString()))
  await assert.rejects(log.batch([{ value: 'fine' }, { links: ['missing'], value: 'broken' }]), (err) =>
    isKappaError(err, 'ERR_NOT_FOUND'),
  )
  assert.deepEqual(rejected, ['fine', 'broken'])
  assert.equal(log.changes, 0)
  assert.equal((await log.kappa.writer('hyperlog')).length, 0)
  // A doc may link an earlier doc of the same batch.
  const nodes = await log.batch([{ value: 'p' }, { links: ['' + (await log.hash([], 'p'))], value: 'q' }])
  assert.deepEqual(nodes[1].links, [nodes[0].key])
})

test('batch dedupe', async (t) => {
  const log = await createLog(t, { valueEncoding: 'utf8' })
  const doc1 = { links: [], value: 'hello world' }
  const doc2 = { links: [], value: 'hello world 2' }
  await log.batch([doc1])
  await log.batch([doc2])
  const nodes = await log.batch([doc1])
  assert.equal(log.changes, 2)
  assert.equal(nodes.length, 1)
  assert.equal(nodes[0].change, 1)
})

test('batch dedupe 2', async (t) => {
  const log = await createLog(t, { valueEncoding: 'utf8' })
  const doc1 = { links: [], value: 'hello world' }
  const doc2 = { links: [], value: 'hello world 2' }
  await log.batch([doc1])
  await log.batch([doc2])
  const nodes = await log.batch([doc2, doc1, doc2])
  assert.equal(log.changes, 2)
  assert.deepEqual(
    nodes.map((n) => n.change),
    [2, 1, 2],
  )
})

test('empty batch', async (t) => {
  const log = await createLog(t)
  assert.deepEqual(await log.batch([]), [])
})

test('add and preadd events', async (t) => {
  const log = await createLog(t)
  const order: string[] = []
  const lookups: Promise<unknown>[] = []
  log.on('add', (node) => order.push('add ' + String(node.value)))
  log.on('preadd', (node) => {
    order.push('preadd ' + node.value.toString())
    // The node is not there yet.
    lookups.push(
      log.get(node.key!).then(
        () => 'found',
        (err: any) => err.notFound,
      ),
    )
  })
  const adding = log.add(null, 'hello')
  assert.deepEqual(order, ['preadd hello'], 'preadd fires synchronously')
  const node = await adding
  const node2 = await log.add(node, 'world')
  assert.deepEqual(node2.links, [node.key])
  assert.deepEqual(node2.value, Buffer.from('world'))
  assert.deepEqual(order, ['preadd hello', 'add hello', 'preadd world', 'add world'])
  assert.deepEqual(await Promise.all(lookups), [true, true])
})

test('invalid arguments are refused without side effects', async (t) => {
  const log = await createLog(t)
  let preadds = 0
  log.on('preadd', () => preadds++)
  const invalid = (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT')
  await assert.rejects(log.add(null, { not: 'bytes' } as any), invalid)
  await assert.rejects(log.add([42] as any, 'x'), invalid)
  await assert.rejects(log.batch('nope' as any), invalid)
  await assert.rejects(log.add(null, 'x', { valueEncoding: 'nope' as any }), invalid)
  await assert.rejects(log.get(42 as any), invalid)
  assert.throws(() => log.createReadStream({ since: 'x' as any }), invalid)
  assert.throws(() => log.replicate({ mode: 'both' as any }), invalid)
  // Unknown options are refused, not ignored.
  await assert.rejects(log.add(null, 'x', { identiy: Buffer.from('me') } as any), invalid)
  await assert.rejects(log.batch([{ value: 'x' }], { prof: null } as any), invalid)
  await assert.rejects(log.get('x', { encoding: 'utf-8' } as any), invalid)
  assert.throws(() => log.createReadStream({ sinse: 3 } as any), invalid)
  assert.throws(() => log.replicate({ lve: true } as any), invalid)
  assert.throws(() => new Hyperlog(log.dir + '-x', { valueEncodng: 'json' } as any), invalid)
  assert.throws(() => new Hyperlog({ kappa: log.kappa, db: log.db }, { maxFeeds: 3 }), invalid)
  assert.equal(preadds, 0)
  assert.equal(log.changes, 0)
})

test('close: idempotent, later calls ERR_CLOSED', async (t) => {
  const log = await createLog(t)
  await log.add(null, 'x')
  await log.close()
  await log.close()
  const closed = (err: unknown) => isKappaError(err, 'ERR_CLOSED')
  await assert.rejects(log.add(null, 'y'), closed)
  await assert.rejects(log.get('x'), closed)
  await assert.rejects(log.heads(), closed)
  assert.throws(() => log.createReadStream(), closed)
})
