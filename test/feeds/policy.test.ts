/**
 * Selective sync on the wire: blocked feeds in live connections, the `share` / `accept` hooks and
 * the store's `policy` defaults, a hook that throws, and the gate (how much of a feed is taken and
 * served). Counts blocks moved, never time.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import { Multifeed } from '../../src/feeds/multifeed.js'
import { replicationStats } from '../../src/feeds/replication/stats.js'
import type { Feed, FeedOfferInfo, ReplicationPeer, SharedFeed } from '../../src/feeds/types.js'
import { coreOf, create, replicate, replicateLive, runPair, tempDir } from '../helpers/feeds.js'
import { until } from '../helpers/until.js'

/** A writer's feed with `n` entries, one block each. */
async function writerWith(m: Multifeed<string>, n: number, name = 'default'): Promise<Feed<string>> {
  const w = await m.writer(name)
  for (let i = 0; i < n; i++) await w.append(`${name}-${i}`)
  return w
}

/** A Multifeed over a Corestore the test also holds (to open a core by key as another app would). */
async function withStore(t: TestContext): Promise<{ m: Multifeed<string>; store: Corestore }> {
  const store = new Corestore(await tempDir(t, 'kappadb-policy-'))
  const m = new Multifeed<string>(store)
  t.after(async () => {
    await m.close()
    await store.close()
  })
  await m.ready()
  return { m, store }
}

test('A–B–C live: C blocks A’s feed; C stores none of it afterwards, B all, D never gets it from C; survives reopen', async (t) => {
  const a = await create<string>(t)
  const b = await create<string>(t)
  const cDir = await tempDir(t)
  let c = new Multifeed<string>(cDir)
  await c.ready()
  const wa = await writerWith(a, 2, 'a')
  const wb = await b.writer('b')
  const stopAB = replicateLive(a, b)
  const stopBC = replicateLive(b, c)
  await until(() => c.feed(wa.key)?.length === 2, 'C holds A’s first entries')

  await c.block(wa.key)
  for (let i = 2; i < 6; i++) await wa.append(`a-${i}`)
  await until(() => b.feed(wa.key)?.length === 6, 'B holds all of A')
  // A marker written after A's entries reached B: once C has it, B has offered A's growth too.
  await wb.append('marker')
  await until(() => c.feed(wb.key)?.length === 1, 'C holds B’s marker')
  assert.equal(c.feed(wa.key)?.length, 2, 'C took nothing of A after blocking it')
  assert.equal((await coreOf(c.feed(wa.key)!)).contiguousLength, 2)
  await stopAB()
  await stopBC()

  const d = await create<string>(t)
  await replicate(c, d)
  assert.equal(d.feed(wa.key), undefined, 'C never offers the blocked feed')
  assert.equal(d.feed(wb.key)?.length, 1)
  await c.close()

  c = new Multifeed<string>(cDir)
  t.after(() => c.close())
  await c.ready()
  assert.equal(c.isBlocked(wa.key), true)
  await replicate(b, c)
  assert.equal(c.feed(wa.key)?.length, 2, 'still blocked after reopening')
  const e = await create<string>(t)
  await replicate(c, e)
  assert.equal(e.feed(wa.key), undefined)
})

test('share false for one peer: it gets none of the feed’s blocks though it knows the key; others do', async (t) => {
  const a = await create<string>(t)
  const wa = await writerWith(a, 3, 'a')
  const wg = await writerWith(a, 3, 'g')
  // A's cores are open (a reader holds them): Corestore attaches them to every connection.
  const source = await coreOf(wa)
  await coreOf(wg)
  let uploads = 0
  source.on('upload', () => uploads++)
  const { m: c, store } = await withStore(t)
  // C learned both keys elsewhere: cores of them, downloading, in C's Corestore.
  const cores: Hypercore[] = [store.get({ key: wa.key }), store.get({ key: wg.key })]
  await Promise.all(cores.map((core) => core.ready()))
  for (const core of cores) core.download({ start: 0, end: -1 })
  const seen: Array<{ feed: SharedFeed; peer: ReplicationPeer }> = []
  const sa = a.replicate(true, {
    live: true,
    share: (feed, peer) => {
      seen.push({ feed, peer })
      return feed.key !== wa.id
    },
  })
  const sc = c.replicate(false, { live: true, accept: () => false })
  sa.pipe(sc).pipe(sa)
  t.after(() => {
    sa.destroy()
    sc.destroy()
  })
  await until(() => cores[1].contiguousLength === 3, 'C’s core of the shared feed downloaded')
  assert.deepEqual(
    seen.find((s) => s.feed.key === wa.id),
    { feed: { key: wa.id, length: 3, name: 'a' }, peer: { remotePublicKey: null } },
  )
  assert.equal(uploads, 0, 'A uploaded nothing of the unshared feed to C')
  assert.equal(cores[0].contiguousLength, 0)
  assert.equal(c.feed(wa.key), undefined)

  const b = await create<string>(t)
  await replicate(a, b)
  assert.equal(b.feed(wa.key)?.length, 3)
  assert.equal(uploads, 3, 'B downloaded the feed’s three blocks')
})

test('share false with the feed’s core closed: the peer’s own core channel is refused', async (t) => {
  const a = await create<string>(t, { coreIdleTime: 0 })
  const wa = await writerWith(a, 3, 'a')
  const wg = await writerWith(a, 3, 'g')
  const closed = (feed: Feed<string>) => !(feed as unknown as { coreOpen: boolean }).coreOpen
  await until(() => closed(wa) && closed(wg), 'A’s cores closed')
  const { m: c, store } = await withStore(t)
  // C knows both keys and asks for both cores itself; A opens a core only when C's channel asks.
  const cores: Hypercore[] = [store.get({ key: wa.key }), store.get({ key: wg.key })]
  await Promise.all(cores.map((core) => core.ready()))
  let downloadedOfA = 0
  cores[0].on('download', () => downloadedOfA++)
  for (const core of cores) core.download({ start: 0, end: -1 })
  const stop = (() => {
    const sa = a.replicate(true, { live: true, share: (feed) => feed.key !== wa.id })
    const sc = c.replicate(false, { live: true, accept: () => false })
    sa.pipe(sc).pipe(sa)
    return () => {
      sa.destroy()
      sc.destroy()
    }
  })()
  t.after(stop)
  await until(() => cores[1].contiguousLength === 3, 'C’s own core of the shared feed downloaded')
  assert.equal(downloadedOfA, 0)
  assert.equal(cores[0].contiguousLength, 0)
})

test('accept false: no feed event, nothing stored, the sync still ends; the hook sees offer and peer', async (t) => {
  const a = await create<string>(t)
  const wa = await writerWith(a, 2, 'a')
  const b = await create<string>(t)
  const added: string[] = []
  b.on('feed', (feed) => added.push(feed.id))
  const offers: Array<{ offer: FeedOfferInfo; peer: ReplicationPeer }> = []
  const sb = b.replicate(false, {
    accept: (offer, peer) => {
      offers.push({ offer, peer })
      return false
    },
  })
  const sa = a.replicate(true)
  await runPair(sa, sb)
  assert.deepEqual(offers, [{ offer: { key: wa.id, length: 2 }, peer: { remotePublicKey: null } }])
  assert.deepEqual(added, [])
  assert.equal(b.feeds().length, 0)
  assert.equal(replicationStats(sb).blocksReceived, 0)
  // Accepted later, it replicates.
  await replicate(a, b)
  assert.equal(b.feed(wa.key)?.length, 2)
})

test('hooks that throw or answer anything but a boolean count as false; { start: 0 } is true', async (t) => {
  const a = await create<string>(t)
  const wa = await writerWith(a, 1, 'a')
  const answers: unknown[] = [1, 'yes', Promise.resolve(true), null, { start: 'x' }, { start: -1 }]
  for (const answer of answers) {
    const b = await create<string>(t)
    await runPair(a.replicate(true), b.replicate(false, { accept: () => answer as boolean }))
    assert.equal(b.feeds().length, 0, `accept answering ${String(answer)}`)
  }
  const thrower = await create<string>(t)
  await runPair(
    a.replicate(true),
    thrower.replicate(false, {
      accept: () => {
        throw new Error('hook failed')
      },
    }),
  )
  assert.equal(thrower.feeds().length, 0)
  const unshared = await create<string>(t)
  await runPair(
    a.replicate(true, {
      share: () => {
        throw new Error('hook failed')
      },
    }),
    unshared.replicate(false),
  )
  assert.equal(unshared.feeds().length, 0)
  const whole = await create<string>(t)
  await runPair(a.replicate(true), whole.replicate(false, { accept: () => ({ start: 0 }) }))
  assert.equal(whole.feed(wa.key)?.length, 1)
})

test('opts.policy: the defaults of every replicate; a hook given to replicate wins', async (t) => {
  const a = await create<string>(t)
  const wa = await writerWith(a, 1, 'a')
  const b = await create<string>(t, { policy: { accept: () => false } })
  await replicate(a, b)
  assert.equal(b.feeds().length, 0)
  await runPair(a.replicate(true), b.replicate(false, { accept: () => true }))
  assert.equal(b.feed(wa.key)?.length, 1)
  const quiet = await create<string>(t, { policy: { share: () => false } })
  await writerWith(quiet, 1, 'q')
  const d = await create<string>(t)
  await replicate(quiet, d)
  assert.equal(d.feeds().length, 0)
})

test('bad hooks, policy and gate: ERR_INVALID_ARGUMENT, nothing changes', async (t) => {
  const a = await create<string>(t)
  for (const opts of [{ share: 5 }, { accept: 'no' }, { share: null }]) {
    assert.throws(() => a.replicate(true, opts as never), { code: 'ERR_INVALID_ARGUMENT' })
  }
  const dir = await tempDir(t)
  for (const policy of [5, 'x', { share: 1 }, { accept: {} }]) {
    assert.throws(() => new Multifeed(dir, { policy: policy as never }), { code: 'ERR_INVALID_ARGUMENT' })
  }
  assert.throws(() => a.setGate(5 as never), { code: 'ERR_INVALID_ARGUMENT' })
  assert.deepEqual(a.inclusion('00'.repeat(32)), { state: 'all' })
})

test('gate: a prefix is downloaded exactly (from a peer offering more) and offered only so far; none is never taken', async (t) => {
  const a = await create<string>(t)
  const wa = await writerWith(a, 6, 'a')
  const wOther = await writerWith(a, 2, 'other')
  const b = await create<string>(t)
  b.setGate((key) =>
    key === wa.id ? { state: 'prefix', length: 3 } : key === wOther.id ? { state: 'none' } : { state: 'all' },
  )
  const sa = a.replicate(true)
  const sb = b.replicate(false)
  await runPair(sa, sb)
  assert.equal(b.feed(wa.key)?.length, 3)
  assert.equal((await coreOf(b.feed(wa.key)!)).contiguousLength, 3)
  assert.equal(replicationStats(sb).blocksReceived, 3, 'exactly the three blocks below the prefix')
  assert.equal(b.feed(wOther.key), undefined)

  const d = await create<string>(t)
  await replicate(b, d)
  assert.equal(d.feed(wa.key)?.length, 3, 'B offers only the prefix')
  // A gate that throws takes nothing.
  const e = await create<string>(t)
  e.setGate(() => {
    throw new Error('gate failed')
  })
  await replicate(a, e)
  assert.equal(e.feeds().length, 0)
})

test('gate changed on a live connection: a feed gated out stops downloading; opened again, it resumes', async (t) => {
  const a = await create<string>(t)
  const wa = await writerWith(a, 1, 'a')
  const wm = await a.writer('marker')
  const b = await create<string>(t)
  let allowed = true
  b.setGate((key) => (key === wa.id && !allowed ? { state: 'none' } : { state: 'all' }))
  const stop = replicateLive(a, b)
  t.after(stop)
  await until(() => b.feed(wa.key)?.length === 1, 'B holds A’s first entry')
  allowed = false
  b.gateChanged()
  await wa.append(['x', 'y'])
  await wm.append('m')
  await until(() => b.feed(wm.key)?.length === 1, 'B holds the marker')
  assert.equal(b.feed(wa.key)?.length, 1)
  allowed = true
  b.gateChanged()
  await until(() => b.feed(wa.key)?.length === 3, 'B resumes A’s feed')
})

test('gate changed to a prefix on a live connection: no block past it arrives, not even the newest', async (t) => {
  const a = await create<string>(t)
  const wa = await writerWith(a, 1, 'a')
  const wm = await a.writer('marker')
  const b = await create<string>(t)
  let prefix = false
  b.setGate((key) => (key === wa.id && prefix ? { state: 'prefix', length: 2 } : { state: 'all' }))
  const stop = replicateLive(a, b)
  t.after(stop)
  await until(() => b.feed(wa.key)?.length === 1, 'B holds A’s first entry')
  // Taken whole, the newest block comes with each upgrade (the core held open for the test).
  await wa.append('x')
  await until(() => b.feed(wa.key)?.length === 2, 'B holds A’s second entry')
  const core = await coreOf(b.feed(wa.key)!)
  prefix = true
  b.gateChanged()
  await wa.append('y')
  await wm.append('m')
  await until(() => b.feed(wm.key)?.length === 1, 'B holds the marker')
  await until(() => core.length === 3, 'B learns A’s length')
  assert.equal(core.contiguousLength, 2, 'the block past the prefix is not downloaded')
  assert.equal(b.feed(wa.key)?.length, 2)
})

test('alongside: a sibling replicates on the same connection; a peer without it still ends; bad input refused', async (t) => {
  const a = await create<string>(t)
  const b = await create<string>(t)
  const key = Buffer.alloc(32, 9)
  const aLogs = a.sibling<string>({ key, valueEncoding: 'utf-8' })
  const bLogs = b.sibling<string>({ key, valueEncoding: 'utf-8' })
  await Promise.all([aLogs.ready(), bLogs.ready()])
  const wa = await writerWith(a, 1, 'data')
  const wl = await aLogs.writer('log')
  await wl.append(['l0', 'l1'])
  await runPair(a.replicate(true, { alongside: [aLogs] }), b.replicate(false, { alongside: [bLogs] }))
  assert.equal(b.feed(wa.key)?.length, 1)
  assert.equal(bLogs.feed(wl.key)?.length, 2, 'the sibling’s feeds came on the same connection')
  // A peer with no such sibling: nothing to exchange there, the sync ends.
  const plain = await create<string>(t)
  await runPair(a.replicate(true, { alongside: [aLogs] }), plain.replicate(false))
  assert.equal(plain.feed(wa.key)?.length, 1)
  const stranger = await create<string>(t)
  for (const alongside of [[stranger], 'x', [null]]) {
    assert.throws(() => a.replicate(true, { alongside: alongside as never }), {
      code: 'ERR_INVALID_ARGUMENT',
    })
  }
})
