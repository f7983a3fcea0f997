/**
 * Excluded nodes in a hyperlog: a blocked writer's nodes (or a removed writer's past `upTo`) are
 * hidden — `get` ERR_NOT_FOUND, read streams, heads and change indexes skip them — but still
 * resolve as links, so honest nodes that link to them stay visible. Real logs replicating over
 * pipes; blocks and unblocks after indexing, and across a reopen.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryLevel } from 'memory-level'
import { isKappaError } from '../../src/errors.js'
import { Hyperlog, type HyperlogNode } from '../../src/hyperlog/index.js'
import { collect, createLog, sync } from '../helpers/hyperlog.js'

async function values(log: Hyperlog<string>): Promise<string[]> {
  const nodes = await collect<HyperlogNode<string>>(log.createReadStream())
  return nodes.map((n) => n.value)
}

async function headValues(log: Hyperlog<string>): Promise<string[]> {
  return (await log.heads()).map((n) => n.value).sort()
}

async function isHidden(log: Hyperlog<string>, key: string): Promise<boolean> {
  try {
    await log.get(key)
    return false
  } catch (err) {
    if (isKappaError(err, 'ERR_NOT_FOUND')) return true
    throw err
  }
}

/** The writer feed's key of a log (where its nodes go). */
async function writerKey(log: Hyperlog<string>): Promise<string> {
  await log.ready()
  return (await log.kappa.writer('hyperlog')).id
}

test('block and unblock a writer: its nodes hide and come back; honest nodes linking through them stay', async (t) => {
  const a = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const b = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const c = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const root = await a.add(null, 'a-root')
  await sync(a, b)
  const spam = await b.add([root.key], 'b-spam')
  const spam2 = await b.add([spam.key], 'b-spam-2')
  await sync(b, c)
  // C's honest node links through B's nodes.
  const honest = await c.add([spam2.key], 'c-honest')
  await sync(c, a)
  assert.deepEqual(await values(a), ['a-root', 'b-spam', 'b-spam-2', 'c-honest'])

  // A change index over the log sees the block too.
  const db = new MemoryLevel<string, string>()
  const indexed: string[] = []
  let resets = 0
  const index = a.createIndex({
    db: db as never,
    map: (nodes) => {
      for (const n of nodes) indexed.push(n.value as string)
    },
    reset: () => {
      resets++
      indexed.length = 0
    },
  })
  await index.ready()
  assert.deepEqual(indexed, ['a-root', 'b-spam', 'b-spam-2', 'c-honest'])

  const bKey = await writerKey(b)
  await a.block(bKey)
  assert.deepEqual(await a.blocked(), [bKey])
  assert.equal(await isHidden(a, spam.key), true)
  assert.equal(await isHidden(a, spam2.key), true)
  assert.equal((await a.get(honest.key)).value, 'c-honest', 'the honest node stays visible')
  assert.deepEqual(await values(a), ['a-root', 'c-honest'])
  // a-root's only linker is hidden; c-honest links a hidden node: both are heads now.
  assert.deepEqual(await headValues(a), ['a-root', 'c-honest'])
  await index.ready()
  assert.equal(resets, 1)
  assert.deepEqual(indexed, ['a-root', 'c-honest'], 'the change index was built again without them')
  // A new local node still links the hidden one (it resolves as a link).
  const more = await a.add([spam2.key], 'a-more')
  assert.equal((await a.get(more.key)).value, 'a-more')

  await a.unblock(bKey)
  assert.deepEqual(await a.blocked(), [])
  assert.equal((await a.get(spam.key)).value, 'b-spam')
  assert.deepEqual(await values(a), ['a-root', 'b-spam', 'b-spam-2', 'c-honest', 'a-more'])
  assert.deepEqual(await headValues(a), ['a-more', 'c-honest'])
  await index.ready()
  assert.equal(resets, 2)
  assert.deepEqual(indexed, ['a-root', 'b-spam', 'b-spam-2', 'c-honest', 'a-more'])
})

test('a block survives reopening; drop, own writers and bad keys are refused', async (t) => {
  const a = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const b = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const bKey = await writerKey(b)
  const aKey = await writerKey(a)
  const spam = await b.add(null, 'b-spam')
  const own = await a.add(null, 'a-own')
  await sync(a, b)
  await assert.rejects(a.block(bKey, { drop: true }), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  await assert.rejects(a.block(aKey), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  await assert.rejects(a.block('nope'), (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  assert.deepEqual(await a.blocked(), [])
  assert.deepEqual((await values(a)).sort(), ['a-own', 'b-spam'])

  await a.block(bKey)
  assert.equal(await isHidden(a, spam.key), true)
  const dir = a.dir
  await a.close()
  const again = new Hyperlog<string>(dir, { valueEncoding: 'utf-8' })
  t.after(() => again.close())
  await again.ready()
  assert.deepEqual(await again.blocked(), [bKey])
  assert.equal(
    again.kappa.feed(bKey)?.length,
    1,
    'the blocked feed stays stored (its node resolves as a link)',
  )
  assert.equal(await isHidden(again, spam.key), true)
  assert.equal((await again.get(own.key)).value, 'a-own')
  assert.deepEqual(await values(again), ['a-own'])
  assert.deepEqual(await headValues(again), ['a-own'])
})

test('a log declines sparse offers (as if accept said false) and takes { start: 0 } whole; share and accept reach the stream', async (t) => {
  const a = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const b = await createLog<string>(t, { valueEncoding: 'utf-8' })
  const first = await b.add(null, 'b0')
  await b.add([first.key], 'b1')
  const bKey = await writerKey(b)
  const asked: string[] = []
  await sync(
    a,
    b,
    {
      accept: (offer) => {
        asked.push(offer.key)
        return offer.key === bKey ? { start: 1 } : true
      },
    },
    {},
  )
  assert.ok(asked.includes(bKey), 'the hook was asked about the feed')
  assert.equal(a.kappa.feed(bKey), undefined, 'a sparse offer is declined: nothing stored')
  assert.deepEqual(await values(a), [])

  // Not shared by B: still nothing.
  await sync(a, b, { accept: () => ({ start: 0 }) }, { share: (feed) => feed.key !== bKey })
  assert.equal(a.kappa.feed(bKey), undefined)

  await sync(a, b, { accept: () => ({ start: 0 }) }, {})
  assert.deepEqual(await values(a), ['b0', 'b1'])
  assert.throws(
    () => a.replicate(true, { accept: 'yes' as never }),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})

test('a writer no record names yet: its own adds are hidden from the start, across a reopen, and shown once it is added', async (t) => {
  const owner = await createLog<string>(t, { valueEncoding: 'utf-8', membership: { owner: true } })
  await owner.ready()
  const ownerKey = owner.members!.self
  const opts = { valueEncoding: 'utf-8' as const, key: owner.key, membership: { owner: ownerKey } }
  const b = await createLog<string>(t, opts)
  let adds = 0
  b.on('add', () => adds++)
  const first = await b.add(null, 'b-1')
  const second = await b.append('b-2')
  assert.deepEqual(second.links, [], 'an append links the heads it shows: none')
  assert.equal(adds, 0, 'no node became visible')
  assert.ok(await isHidden(b, first.key))
  assert.deepEqual(await headValues(b), [])
  await b.flush()
  await b.ready()
  assert.deepEqual(await values(b), [], 'read back, still hidden')
  await b.close()

  const again = new Hyperlog<string>(b.dir, opts)
  t.after(() => again.close())
  await again.ready()
  assert.deepEqual(await values(again), [], 'reopened, still hidden')
  await owner.members!.add(again.members!.self)
  await sync(owner, again)
  await again.members!.ready()
  await Promise.all([owner.ready(), again.ready()])
  assert.deepEqual((await values(again)).sort(), ['b-1', 'b-2'])
  assert.deepEqual((await values(owner)).sort(), ['b-1', 'b-2'])
  assert.deepEqual(await headValues(again), ['b-1', 'b-2'])
})
