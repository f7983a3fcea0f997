import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Multifeed } from '../../src/feeds/multifeed.js'
import { coreOf, create, errorOf, replicate, replicateLive, runPair, tempDir } from '../helpers/feeds.js'
import { until } from '../helpers/until.js'

test('replicate two multifeeds, one empty', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const w = await m1.writer()
  await w.append(['a', 'b'])
  const { remoteFeeds } = await replicate(m1, m2)
  assert.deepEqual(remoteFeeds, [true, true])
  assert.equal(m1.feeds().length, 1)
  assert.equal(m2.feeds().length, 1)
  const copy = m2.feed(w.key)!
  assert.equal(copy.writable, false)
  assert.equal(copy.name, undefined)
  assert.equal(copy.length, 2)
  assert.deepEqual(await copy.getBatch(0, 2), ['a', 'b'])
})

test('replicate two empty multifeeds: both streams end, remote-feeds fires', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const { remoteFeeds } = await replicate(m1, m2)
  assert.deepEqual(remoteFeeds, [true, true])
  assert.equal(m1.feeds().length, 0)
  assert.equal(m2.feeds().length, 0)
})

test('replicate two multifeeds with a writer each; feeds known at remote-feeds; twice', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const w1 = await m1.writer('foo')
  const w2 = await m2.writer('bar')
  await w1.append('foo')
  await w2.append('bar')
  const names1: Array<string | undefined> = []
  m1.on('feed', (_f, name) => names1.push(name))
  const sa = m1.replicate(true)
  const sb = m2.replicate(false)
  const atRemoteFeeds: number[] = []
  sa.on('remote-feeds', () => atRemoteFeeds.push(m1.feeds().length))
  sb.on('remote-feeds', () => atRemoteFeeds.push(m2.feeds().length))
  await runPair(sa, sb)
  assert.deepEqual(atRemoteFeeds, [2, 2])
  assert.deepEqual(names1, [undefined])
  assert.equal(await m1.feeds()[1].get(0), 'bar')
  assert.equal(await m2.feeds()[1].get(0), 'foo')
  await w1.append('foo2')
  const again = await replicate(m2, m1)
  assert.deepEqual(again.remoteFeeds, [true, true])
  assert.equal(m1.feeds().length, 2)
  assert.equal(await m2.feed(w1.key)!.get(1), 'foo2')
})

test('MF with no writer replicates with 1000 vs 10 entries', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const w1 = await m1.writer()
  const w2 = await m2.writer()
  await w1.append(Array.from({ length: 1000 }, (_, i) => i))
  await w2.append(Array.from({ length: 10 }, (_, i) => `x${i}`))
  await replicate(m1, m2)
  for (const m of [m1, m2]) {
    assert.equal(m.feeds().length, 2)
    assert.equal(m.feed(w1.key)!.length, 1000)
    assert.equal(m.feed(w2.key)!.length, 10)
  }
  assert.equal(await m2.feed(w1.key)!.get(999), 999)
  assert.equal(await m1.feed(w2.key)!.get(9), 'x9')
})

test('custom key pair writers replicate; learned feeds survive reopen in order', async (t) => {
  const { default: crypto } = await import('hypercore-crypto')
  const dir = await tempDir(t)
  let m1 = new Multifeed(dir)
  const m2 = await create(t)
  const kp1 = crypto.keyPair()
  const kp2 = crypto.keyPair()
  const w1 = await m1.writer('local', { keyPair: kp1 })
  const w2 = await m2.writer('local', { keyPair: kp2 })
  await w1.append('foo')
  await w2.append('bar')
  await replicate(m1, m2)
  assert.deepEqual(m1.feeds()[1].key, kp2.publicKey)
  assert.equal(await m1.feeds()[1].get(0), 'bar')
  assert.equal(await m2.feeds()[1].get(0), 'foo')
  await m1.close()
  m1 = new Multifeed(dir)
  t.after(() => m1.close())
  await m1.ready()
  assert.deepEqual(
    m1.feeds().map((f) => f.key),
    [kp1.publicKey, kp2.publicKey],
  )
  assert.equal(m1.feeds()[1].length, 1)
  assert.equal(await m1.feeds()[1].get(0), 'bar')
  // A remote feed never answers to a local name.
  assert.equal(m1.feeds()[1].name, undefined)
})

test('live replication: entries appended later flow both ways', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const w1 = await m1.writer()
  const w2 = await m2.writer()
  await w1.append('first')
  const stop = replicateLive(m1, m2)
  t.after(stop)
  await until(() => m2.feed(w1.key)?.length === 1, 'first entry')
  await w1.append(['more', 'entries'])
  await w2.append('from m2')
  await until(() => m2.feed(w1.key)?.length === 3 && m1.feed(w2.key)?.length === 1, 'live entries')
  assert.equal(await m2.feed(w1.key)!.get(2), 'entries')
  assert.equal(await m1.feed(w2.key)!.get(0), 'from m2')
})

test('live: a block appended later comes with the proof of the length it makes, in one request', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const w1 = await m1.writer()
  await w1.append('first')
  const stop = replicateLive(m1, m2)
  t.after(stop)
  await until(() => m2.feed(w1.key)?.length === 1, 'first entry')
  // Held open for the test: the follow of the newest block lasts while the core is open.
  const core = await coreOf(m2.feed(w1.key)!)
  const requests = (): number =>
    core.peers.reduce((n, peer) => n + (peer as unknown as RequestStats).stats.wireRequest.tx, 0)
  const before = requests()
  const blocks = 20
  for (let i = 0; i < blocks; i++) {
    await w1.append(`more ${i}`)
    await until(() => m2.feed(w1.key)?.length === i + 2, 'live entry')
  }
  // An upgrade round and then a block request each would be 2 × blocks.
  const sent = requests() - before
  assert.ok(sent <= blocks + 2, `${sent} requests for ${blocks} blocks`)
})

/** Hypercore's per-peer message counts (`peer.stats`). */
interface RequestStats {
  stats: { wireRequest: { tx: number } }
}

test('live: a new feed is announced on existing connections, through an intermediary (a–b–c)', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const m3 = await create(t)
  const feedEvents: number[] = []
  m1.on('feed', () => feedEvents.push(1))
  const stop12 = replicateLive(m1, m2)
  const stop32 = replicateLive(m3, m2)
  t.after(async () => {
    await stop12()
    await stop32()
  })
  const second = await m2.writer('second')
  await second.append('Second')
  await until(() => m1.feed(second.key)?.length === 1, 'm2 writer at m1')
  const third = await m3.writer('third')
  await third.append('Third')
  await until(() => m1.feed(third.key)?.length === 1, 'm3 writer at m1 via m2')
  assert.equal(await m1.feed(third.key)!.get(0), 'Third')
  assert.equal(feedEvents.length, 2)
  // And back: m1's new writer reaches m3 through m2.
  const first = await m1.writer('first')
  await first.append('First')
  await until(() => m3.feed(first.key)?.length === 1, 'm1 writer at m3 via m2')
})

test('different database keys fail both sides with ERR_KEY_MISMATCH', async (t) => {
  const m1 = await create(t, { key: Buffer.alloc(32, 1) })
  const m2 = await create(t, { key: Buffer.alloc(32, 2) })
  await (await m1.writer()).append('x')
  const sa = m1.replicate(true)
  const sb = m2.replicate(false)
  sa.pipe(sb).pipe(sa)
  const [ea, eb] = await Promise.all([errorOf(sa), errorOf(sb)])
  assert.equal(ea?.code, 'ERR_KEY_MISMATCH')
  assert.equal(eb?.code, 'ERR_KEY_MISMATCH')
  assert.equal(m2.feeds().length, 0)
})

test('same custom key replicates', async (t) => {
  const key = Buffer.alloc(32, 5).toString('hex')
  const m1 = await create(t, { key })
  const m2 = await create(t, { encryptionKey: key })
  await (await m1.writer()).append('x')
  await replicate(m1, m2)
  assert.equal(m2.feeds().length, 1)
})

test('two symmetric ends without an initiator flag settle their roles', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  await (await m1.writer()).append('from 1')
  await (await m2.writer()).append('from 2')
  await runPair(m1.replicate(), m2.replicate())
  assert.equal(await m1.feeds()[1].get(0), 'from 2')
  assert.equal(await m2.feeds()[1].get(0), 'from 1')
  // One side with a flag, the other negotiating, works too.
  await (await m1.writer()).append('again')
  await runPair(m1.replicate(), m2.replicate(false))
  assert.equal(m2.feeds()[1].length, 2)
})

test('modes: push uploads only, pull downloads only; push+push and pull+pull fail both sides', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const w1 = await m1.writer()
  const w2 = await m2.writer()
  await w1.append('one')
  await w2.append('two')
  await runPair(m1.replicate(true, { mode: 'push' }), m2.replicate(false, { mode: 'sync' }))
  assert.equal(m2.feed(w1.key)?.length, 1)
  assert.equal(m1.feed(w2.key), undefined)
  await runPair(m1.replicate(true, { mode: 'pull' }), m2.replicate(false))
  assert.equal(m1.feed(w2.key)?.length, 1)

  for (const mode of ['push', 'pull'] as const) {
    const sa = m1.replicate(true, { mode })
    const sb = m2.replicate(false, { mode })
    sa.pipe(sb).pipe(sa)
    const [ea, eb] = await Promise.all([errorOf(sa), errorOf(sb)])
    assert.equal(ea?.code, 'ERR_MODE_CONFLICT')
    assert.equal(eb?.code, 'ERR_MODE_CONFLICT')
  }
})

test('beforeDone runs after the download, before done; a rejection fails the stream', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const w1 = await m1.writer()
  await w1.append(['a', 'b', 'c'])
  let lengthSeen = -1
  await runPair(
    m1.replicate(true),
    m2.replicate(false, {
      beforeDone: async () => {
        lengthSeen = m2.feed(w1.key)!.length
      },
    }),
  )
  assert.equal(lengthSeen, 3)
  await w1.append('d')
  const sa = m1.replicate(true)
  const sb = m2.replicate(false, {
    beforeDone: () => Promise.reject(Object.assign(new Error('refused'), { code: 'X' })),
  })
  sa.pipe(sb).pipe(sa)
  const [ea, eb] = await Promise.all([errorOf(sa), errorOf(sb)])
  assert.ok(eb)
  assert.ok(ea)
  assert.equal(typeof (ea as { code?: string }).code, 'string')
})

test('replicate arguments are validated', async (t) => {
  const m = await create(t)
  assert.throws(() => m.replicate(true, { mode: 'both' as 'sync' }), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => m.replicate(true, { live: 'yes' as unknown as boolean }), {
    code: 'ERR_INVALID_ARGUMENT',
  })
  assert.throws(() => m.replicate(5 as unknown as boolean), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => m.replicate(true, { lve: true } as never), /unknown option "lve"/)
  assert.throws(() => m.replicate(true, { timeout: -1 }), { code: 'ERR_INVALID_ARGUMENT' })
})

test('close ends live replication streams first', async (t) => {
  const dir = await tempDir(t)
  const m1 = new Multifeed(dir)
  const m2 = await create(t)
  await (await m1.writer()).append('x')
  const sa = m1.replicate(true, { live: true })
  const sb = m2.replicate(false, { live: true })
  sa.pipe(sb).pipe(sa)
  await until(() => m2.feeds()[0]?.length === 1, 'entry')
  const closed = Promise.all([errorOf(sa), errorOf(sb)])
  await m1.close()
  const [ea, eb] = await closed
  assert.equal(ea, null)
  assert.equal(eb, null)
})

test('replicate after close → stream error ERR_CLOSED', async (t) => {
  const dir = await tempDir(t)
  const m = new Multifeed(dir)
  await m.close()
  const s = m.replicate(true)
  const err = await errorOf(s)
  assert.equal(err?.code, 'ERR_CLOSED')
})

test('replicating before the stores have opened (slow to open) still completes', async (t) => {
  const dirA = await tempDir(t)
  const dirB = await tempDir(t)
  const seed = new Multifeed(dirA)
  const w = await seed.writer()
  await w.append(['x', 'y'])
  await seed.close()
  // Fresh instances: replicate() is called before anything has been loaded from disk.
  const a = new Multifeed(dirA)
  const b = new Multifeed(dirB)
  t.after(() => Promise.all([a.close(), b.close()]))
  const { remoteFeeds } = await runPair(a.replicate(true), b.replicate(false))
  assert.deepEqual(remoteFeeds, [true, true])
  assert.equal(b.feeds().length, 1)
  assert.deepEqual(await b.feeds()[0].getBatch(0, 2), ['x', 'y'])
})

test('a non-live replication with timeout fails with ERR_TIMEOUT when the peer stalls', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  await (await m1.writer()).append('x')
  const sa = m1.replicate(true)
  const sb = m2.replicate(false, { timeout: 200, beforeDone: () => new Promise(() => undefined) })
  sa.pipe(sb).pipe(sa)
  const [, eb] = await Promise.all([errorOf(sa), errorOf(sb)])
  assert.equal(eb?.code, 'ERR_TIMEOUT')
})

test('a feed holding an invalid block fails the replication with ERR_PROTOCOL; the receiver stays usable', async (t) => {
  const m1 = await create(t)
  const m2 = await create(t)
  const w = await m1.writer()
  await w.append('fine')
  // A writer that signs garbage: a block with our version byte but a broken body.
  await (await coreOf(w)).append(Buffer.from([1, 0xff]))
  const sa = m1.replicate(true)
  const sb = m2.replicate(false)
  sa.pipe(sb).pipe(sa)
  const [, eb] = await Promise.all([errorOf(sa), errorOf(sb)])
  assert.equal(eb?.code, 'ERR_PROTOCOL')
  const mine = await m2.writer()
  assert.equal(await mine.append('still works'), 0)
})
