/**
 * Hostile peers that know the database key (docs/DESIGN.md, "Threat model"): they speak our real
 * protocol with lying contents (test/helpers/hostile-peer.ts), against an honest store running in
 * a child process (test/helpers/honest-process.ts), so a hang shows as a missed deadline and a
 * memory blow-up as an RSS bound, never as a stalled runner. Every attack must end the hostile
 * stream with a code, leave the store answering, and keep it replicating with honest peers.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import type { KappaError } from '../../src/errors.js'
import type { Multifeed } from '../../src/feeds/multifeed.js'
import { encodeEntry } from '../../src/hyperlog/messages.js'
import { HyperKV } from '../../src/kv/index.js'
import { PROTOCOL_VERSION } from '../../src/feeds/messages.js'
import { create, errorOf } from '../helpers/feeds.js'
import { startHonest, type HonestProcess, type Status } from '../helpers/honest-process.js'
import { HostilePeer, keyPair, randomOffers } from '../helpers/hostile-peer.js'
import { serve } from '../helpers/reliability-hostile.js'
import { tempDir } from '../helpers/temp.js'
import { deadline } from '../helpers/until.js'

const MB = 1024 * 1024

/** Resolves once `check()` holds (checked every 20 ms); fails after 10 s. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 10_000
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/** An honest in-process peer syncs with the store over TCP: a clean end; returns what it holds. */
async function honestSync(t: TestContext, honest: HonestProcess): Promise<Multifeed<unknown>> {
  const peer = await create<unknown>(t)
  const stream = peer.replicate(net.connect(honest.plainPort, '127.0.0.1'))
  const [mine, theirs] = await Promise.all([
    deadline(errorOf(stream), 20_000, 'an honest sync'),
    honest.next('stream'),
  ])
  assert.equal(mine, null, 'the honest peer ends cleanly')
  assert.equal(theirs.code, 'END', 'the store ends cleanly')
  return peer
}

test('a real one-block feed offered at a claimed length of 2^40: ERR_PROTOCOL, never a stuck process', async (t) => {
  const honest = await startHonest(t, { dir: await tempDir(t), entries: ['mine'] })
  const evil = await HostilePeer.open(t)
  const core = await evil.signedCore(keyPair(), ['only'])
  const claim = { ...(await evil.offer(core)), length: 2 ** 40, signedLength: 2 ** 40 }
  // First a feed the store learns from the claim itself, then the same feed once it holds it.
  for (const round of ['unknown feed', 'known feed']) {
    const session = await evil.connect(honest.port)
    session.hello([claim])
    session.done()
    // The event loop answers while the claim is judged (it used to spin in Hypercore's bitfield).
    await honest.command('ping', {}, 5000)
    const outcome = await honest.next('stream')
    assert.equal(outcome.code, 'ERR_PROTOCOL', round)
    await honest.command('ping', {}, 5000)
  }
  const { feeds } = await honest.status()
  assert.equal(
    feeds.find((f) => f.id === core.key.toString('hex'))?.length,
    1,
    'the one proven block is held',
  )
  const peer = await honestSync(t, honest)
  assert.deepEqual(await peer.feed(core.key)!.getBatch(0, 1), ['only'])
  assert.equal(honest.stdout, '')
})

/** Starts an honest store holding one feed, and its status before any attack. */
async function victim(t: TestContext, replicate: object = {}) {
  const dir = await tempDir(t)
  const honest = await startHonest(t, { dir, entries: ['mine'], replicate })
  // One honest sync first, so the measured baseline includes what any replication allocates.
  await honestSync(t, honest)
  return { dir, honest, before: await honest.status() }
}

/** After a flood: nothing was stored, memory stayed bounded, a reopen holds exactly the old feeds. */
async function assertUnharmed(t: TestContext, dir: string, honest: HonestProcess, before: Status) {
  const after = await honest.status()
  t.diagnostic(
    `peak RSS +${((after.peakRss - before.rss) / MB).toFixed(1)} MB during the flood; ` +
      `heap after it +${((after.heapUsed - before.heapUsed) / MB).toFixed(1)} MB`,
  )
  assert.deepEqual(
    after.feeds.map((f) => f.id),
    [after.feeds[0]!.id],
    'no feed of the flood was stored',
  )
  assert.ok(
    after.peakRss - before.rss < 64 * MB,
    `peak RSS grew by ${((after.peakRss - before.rss) / MB).toFixed(1)} MB`,
  )
  await honestSync(t, honest)
  assert.equal(await honest.close(), 0)
  const reopened = await startHonest(t, { dir })
  assert.equal((await reopened.status()).feeds.length, 1, 'a reopen holds the one feed')
  assert.equal(honest.stdout, '')
}

test('100,000 random feed keys in one hello: the stream fails with a code, nothing is stored', async (t) => {
  const { dir, honest, before } = await victim(t)
  const evil = await HostilePeer.open(t)
  const session = await evil.connect(honest.port)
  session.hello(randomOffers(100_000))
  session.done()
  await honest.command('ping', {}, 5000)
  const outcome = await honest.next('stream', 60_000)
  assert.ok(['ERR_PROTOCOL', 'ERR_LIMIT'].includes(outcome.code!), `ended with ${outcome.code}`)
  await assertUnharmed(t, dir, honest, before)
})

test('100,000 random feed keys as live adds: the stream fails with a code, nothing is stored', async (t) => {
  const { dir, honest, before } = await victim(t, { live: true })
  const evil = await HostilePeer.open(t)
  const session = await evil.connect(honest.port)
  session.hello([])
  for (let i = 0; i < 100; i++) session.add(randomOffers(1000))
  await honest.command('ping', {}, 5000)
  const outcome = await honest.next('stream', 60_000)
  assert.ok(['ERR_PROTOCOL', 'ERR_LIMIT'].includes(outcome.code!), `ended with ${outcome.code}`)
  session.destroy()
  await assertUnharmed(t, dir, honest, before)
})

test('a store holds at most maxFeeds feeds: a peer offering more fails with ERR_LIMIT, nothing beyond persists', async (t) => {
  const dir = await tempDir(t)
  const honest = await startHonest(t, { dir, maxFeeds: 5, entries: ['mine'] })
  const evil = await HostilePeer.open(t)
  const cores = []
  for (let i = 0; i < 8; i++) cores.push(await evil.signedCore(keyPair(), [`feed ${i}`]))
  const offers = await Promise.all(cores.map((core) => evil.offer(core)))
  // More offers in one message than the store could ever hold: refused before any is taken.
  const flood = await evil.connect(honest.port)
  flood.hello(offers)
  assert.equal((await honest.next('stream')).code, 'ERR_LIMIT')
  assert.equal((await honest.status()).feeds.length, 1)
  // Five real feeds where four fit: four are taken, then the stream fails.
  const session = await evil.connect(honest.port)
  session.hello(offers.slice(0, 5))
  session.done()
  assert.equal((await honest.next('stream')).code, 'ERR_LIMIT')
  // Feeds admitted while the stream failed finish being listed.
  await eventually(async () => (await honest.status()).feeds.length === 5, 'four feeds to be listed')
  assert.equal(await honest.close(), 0)
  const reopened = await startHonest(t, { dir, maxFeeds: 5 })
  assert.equal((await reopened.status()).feeds.length, 5, 'nothing beyond the limit was persisted')
  assert.equal(reopened.stdout, '')
})

test('a live peer that goes silent after the handshake fails with ERR_TIMEOUT and is let go', async (t) => {
  const honest = await startHonest(t, {
    dir: await tempDir(t),
    entries: ['mine'],
    replicate: { live: true, liveTimeout: 1500 },
  })
  const evil = await HostilePeer.open(t)
  const session = await evil.connect(honest.port, { keepAlive: false })
  session.hello([])
  const outcome = await honest.next('stream', 20_000)
  assert.equal(outcome.code, 'ERR_TIMEOUT')
  // Its socket is ended, and closed once the peer hangs up (or after a grace period).
  await deadline(session.closed, 5000, 'the silent peer seeing its connection closed')
  await eventually(async () => (await honest.status()).sockets === 0, 'its socket to close')
})

test('an older peer (channel version 2) is refused with ERR_VERSION_MISMATCH', async (t) => {
  const honest = await startHonest(t, { dir: await tempDir(t), entries: ['mine'] })
  const evil = await HostilePeer.open(t)
  assert.ok(PROTOCOL_VERSION > 2)
  await evil.connect(honest.port, { preambleVersion: 2 }).catch(() => undefined)
  assert.equal((await honest.next('stream')).code, 'ERR_VERSION_MISMATCH')
})

/**
 * One key pair, two histories: `first` (what the store takes first) and `second`, offered later
 * by another peer together with an unrelated feed. Returns the store after it synced `first`.
 */
async function forkWorld(
  t: TestContext,
  first: string[],
  second: string[],
  replicate: object = {},
  coreIdleTime?: number,
) {
  const writer = keyPair()
  const one = await HostilePeer.open(t)
  const two = await HostilePeer.open(t)
  const a = await one.signedCore(writer, first)
  const b = await two.signedCore(writer, second)
  const other = await two.signedCore(keyPair(), ['other 0', 'other 1'])
  const honest = await startHonest(t, { dir: await tempDir(t), entries: ['mine'], replicate, coreIdleTime })
  const s1 = await one.connect(honest.plainPort)
  s1.hello([await one.offer(a)])
  s1.done()
  assert.equal((await honest.next('stream')).code, 'END')
  return { honest, one, two, a, b, other }
}

/** The fork was reported once, the store kept its history and took the other feed in that session. */
async function assertForkHandled(t: TestContext, w: Awaited<ReturnType<typeof forkWorld>>, first: string[]) {
  const { honest, a, other } = w
  const fork = await honest.next('error')
  assert.equal(fork.code, 'ERR_FORK')
  assert.equal(fork.feed, a.key.toString('hex'), 'the error names the feed')
  assert.equal((await honest.next('stream')).code, 'END', 'the session itself goes on and ends cleanly')
  const { values } = await honest.command<{ values: unknown[] }>('read', { feed: a.key.toString('hex') })
  assert.deepEqual(values, first, 'the history it held is still read')
  const got = await honest.command<{ values: unknown[] }>('read', { feed: other.key.toString('hex') })
  assert.deepEqual(got.values, ['other 0', 'other 1'], 'the other feed replicated in that session')
  // And it still serves what it holds.
  const peer = await honestSync(t, honest)
  assert.deepEqual(await peer.feed(a.key)!.getBatch(0, first.length), first)
  assert.equal(honest.reports('error').length, 1, 'reported once')
  assert.equal(honest.stdout, '', 'nothing on stdout (Hypercore prints "conflict detected" there)')
}

test('a writer that signed a longer conflicting history: ERR_FORK, the store keeps its own and goes on', async (t) => {
  const w = await forkWorld(t, ['a0'], ['b0', 'b1', 'b2'])
  const s2 = await w.two.connect(w.honest.port)
  s2.hello([await w.two.offer(w.b), await w.two.offer(w.other)])
  s2.done()
  await assertForkHandled(t, w, ['a0'])
})

test("a longer conflicting history met while the forked feed's core is closed: ERR_FORK all the same", async (t) => {
  // Corestore then opens the stored core by itself for the peer, and Hypercore upgrades it eagerly:
  // its fork check runs before any session of the store's is open.
  const w = await forkWorld(t, ['a0'], ['b0', 'b1', 'b2'], {}, 0)
  const id = w.a.key.toString('hex')
  await eventually(
    async () => (await w.honest.status()).feeds.some((f) => f.id === id && !f.coreOpen),
    "the forked feed's core to close",
  )
  const s2 = await w.two.connect(w.honest.port)
  s2.hello([await w.two.offer(w.b), await w.two.offer(w.other)])
  s2.done()
  await assertForkHandled(t, w, ['a0'])
})

test('a writer that signed a different history of the same length: ERR_FORK (offers carry tree hashes)', async (t) => {
  const w = await forkWorld(t, ['a0', 'a1'], ['b0', 'b1'])
  const s2 = await w.two.connect(w.honest.port)
  s2.hello([await w.two.offer(w.b), await w.two.offer(w.other)])
  s2.done()
  await assertForkHandled(t, w, ['a0', 'a1'])
})

test('a fork met in a live session: ERR_FORK, and the session goes on with the other feeds', async (t) => {
  const w = await forkWorld(t, ['a0'], ['b0', 'b1', 'b2'], { live: true })
  const s2 = await w.two.connect(w.honest.port)
  s2.hello([await w.two.offer(w.b), await w.two.offer(w.other)])
  const fork = await w.honest.next('error')
  assert.deepEqual([fork.code, fork.feed], ['ERR_FORK', w.a.key.toString('hex')])
  const read = async (core: typeof w.a) =>
    (await w.honest.command<{ values: unknown[] | null }>('read', { feed: core.key.toString('hex') })).values
  await eventually(async () => (await read(w.other))?.length === 2, 'the other feed, live')
  const more = await w.two.signedCore(keyPair(), ['later'])
  s2.add([await w.two.offer(more)])
  await eventually(async () => (await read(more))?.length === 1, 'a feed added later in that session')
  assert.deepEqual(await read(w.a), ['a0'], 'the history it held')
  assert.equal(w.honest.reports('stream').length, 1, 'the live session is still open')
  s2.end()
  assert.equal((await w.honest.next('stream')).code, 'END')
  assert.equal(w.honest.stdout, '')
})

test('a forged tree hash for a history that is not forked: ERR_PROTOCOL, and no fork is reported', async (t) => {
  const w = await forkWorld(t, ['a0', 'a1'], ['b0'])
  // The same history as the store's, offered with a tree hash its writer never signed.
  const liar = await w.one.connect(w.honest.port)
  liar.hello([{ ...(await w.one.offer(w.a)), treeHash: Buffer.alloc(32, 0x42) }])
  liar.done()
  assert.equal((await w.honest.next('stream')).code, 'ERR_PROTOCOL')
  assert.equal(liar.received.treeRequests.length, 1, 'the store asked it to prove the hash')
  // One that never answers the request: a non-live sync times out instead of waiting for ever.
  const silent = await startHonest(t, { dir: await tempDir(t), replicate: { timeout: 1500 } })
  const seed = await w.one.connect(silent.port)
  seed.hello([await w.one.offer(w.a)])
  seed.done()
  assert.equal((await silent.next('stream')).code, 'END')
  const mute = await w.one.connect(silent.port, { answerTrees: false })
  mute.hello([{ ...(await w.one.offer(w.a)), treeHash: Buffer.alloc(32, 0x42) }])
  mute.done()
  assert.equal((await silent.next('stream')).code, 'ERR_TIMEOUT')
  await honestSync(t, w.honest)
  assert.deepEqual(w.honest.reports('error'), [], 'no ERR_FORK for a feed that never forked')
  assert.deepEqual(silent.reports('error'), [])
  assert.equal(w.honest.stdout + silent.stdout, '')
})

test('a fork reaches HyperKV listeners as ERR_FORK, through Kappa and Hyperlog', async (t) => {
  const kv = new HyperKV(await tempDir(t))
  t.after(() => kv.close())
  const errors: KappaError[] = []
  kv.on('error', (err) => errors.push(err as KappaError))
  const server = await serve(kv)
  t.after(() => server.close())
  const entry = (v: string) =>
    encodeEntry({
      links: [],
      value: Buffer.from(JSON.stringify({ k: 'key', v })),
      identity: null,
      signature: null,
    })
  const writer = keyPair()
  const one = await HostilePeer.open(t)
  const two = await HostilePeer.open(t)
  const a = await one.signedCore(writer, [entry('a')])
  const b = await two.signedCore(writer, [entry('b0'), entry('b1')])
  for (const [peer, core] of [
    [one, a],
    [two, b],
  ] as const) {
    const session = await peer.connect(server.port)
    session.hello([await peer.offer(core)])
    session.done()
    assert.equal((await deadline(server.next(), 20_000, 'the sync')).code, 'END')
  }
  assert.deepEqual(
    errors.map((err) => [err.code, err.feed]),
    [['ERR_FORK', a.key.toString('hex')]],
  )
  assert.deepEqual(Object.values(await kv.get('key')), [{ value: 'a' }], 'the history it held')
})
