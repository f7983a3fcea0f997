/**
 * Replication cost follows what changed, not how many feeds exist: bytes on the wire of a
 * reconnect (counted, never timed), the cores a sync opens, the digest reconciliation against the
 * final state of a naive full exchange, and version refusal.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import Corestore from 'corestore'
import type { HypercoreFeed } from '../../src/feeds/feed.js'
import { Multifeed } from '../../src/feeds/multifeed.js'
import { OFFER_BYTES } from '../../src/feeds/messages.js'
import { countedSync, create, replicate, serveReplication } from '../helpers/feeds.js'
import { HostilePeer } from '../helpers/hostile-peer.js'
import { randomGenerator } from '../helpers/kv-random.js'
import { deadline, until } from '../helpers/until.js'

/**
 * A store with `n` writers of one entry each and a copy of it synced, both reopened (a reconnect
 * of two processes: Corestore keeps the cores a session used for a while, and attaches those).
 * `opened`: the keys of every core either side's Corestore opens from then on (Corestore's
 * `watch`: also the cores it opens for a peer by itself) — a core channel needs its core open.
 */
async function pair(t: TestContext, n: number) {
  const first = await create<unknown>(t, { coreIdleTime: 10 })
  const second = await create<unknown>(t, { coreIdleTime: 10 })
  for (let i = 0; i < n; i++) await (await first.writer(`w${i}`)).append(i)
  await replicate(first, second)
  assert.equal(second.feeds().length, n)
  await first.close()
  await second.close()
  const stores = [new Corestore(first.dir), new Corestore(second.dir)]
  const a = new Multifeed<unknown>(stores[0]!, { coreIdleTime: 10 })
  const b = new Multifeed<unknown>(stores[1]!, { coreIdleTime: 10 })
  t.after(async () => {
    await Promise.all([a.close(), b.close()])
    await Promise.all(stores.map((store) => store.close()))
  })
  await Promise.all([a.ready(), b.ready()])
  // Corestore reports a core as it enters its map, before its key is loaded: read at the check.
  const watched: Array<Set<{ key: Buffer | null }>> = [new Set(), new Set()]
  stores.forEach((store, i) =>
    store.watch((core) => {
      watched[i]!.add(core as { key: Buffer | null })
    }),
  )
  const opened = () =>
    watched.map((cores) => [...cores].map((core) => core.key?.toString('hex') ?? 'unopened'))
  return { a, b, opened }
}

test('a reconnect of peers in sync costs the same bytes for 20 feeds as for 300, far below a full offer list', async (t) => {
  const small = await pair(t, 20)
  const large = await pair(t, 300)
  const s = await countedSync(small.a, small.b)
  const l = await countedSync(large.a, large.b)
  for (const { opened } of [small, large]) {
    assert.deepEqual(opened(), [[], []], 'no core opens, so no core channel')
  }
  // Only the varint of the feed count in the hello grows (1 byte → 2).
  assert.ok(Math.abs(l.ab - s.ab) <= 4 && Math.abs(l.ba - s.ba) <= 4, `${JSON.stringify({ s, l })}`)
  assert.ok(l.ab <= 1024 && l.ba <= 1024, `at most 1 KB each way: ${JSON.stringify(l)}`)
  // A naive exchange sends every offer: 300 × 80 bytes each way.
  assert.ok(l.ab * 10 < 300 * OFFER_BYTES)
})

test('a reconnect after one new entry in one of 300 feeds: a few KB each way, and only that feed’s cores open', async (t) => {
  const { a, b, opened } = await pair(t, 300)
  const changed = a.feeds()[123]!
  await (await a.writer('w123')).append('new')
  await until(
    () => a.feeds().every((feed) => !(feed as HypercoreFeed<unknown>).coreOpen),
    'the written core to close',
  )
  const bytes = await countedSync(a, b)
  assert.deepEqual(
    opened(),
    [[changed.id], [changed.id]],
    'since the append, only the changed feed’s core opens, on either side: one core channel',
  )
  assert.equal(b.feed(changed.key)!.length, 2)
  assert.ok(bytes.ab <= 4096 && bytes.ba <= 4096, JSON.stringify(bytes))
})

test('seeded random feed sets: the digest reconciliation reaches the state of a full exchange (the union, longest lengths)', async (t) => {
  const seed = Number(process.env.SCALE_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const random = randomGenerator(seed)
  const a = await create<unknown>(t, { coreIdleTime: 10 })
  const b = await create<unknown>(t, { coreIdleTime: 10 })
  for (let i = 0; i < 60; i++) await (await a.writer(`a${i}`)).append(i)
  await replicate(a, b)
  for (let round = 0; round < 3; round++) {
    for (const m of [a, b]) {
      const mine = m.feeds().filter((feed) => feed.writable)
      for (const feed of mine) if (random() < 0.15) await feed.append(round)
      const extra = Math.floor(random() * 25)
      for (let i = 0; i < extra; i++)
        await (await m.writer(`r${round}-${i}-${m === a ? 'a' : 'b'}`)).append('x')
    }
    const expected = new Map<string, number>()
    for (const m of [a, b])
      for (const feed of m.feeds()) expected.set(feed.id, Math.max(expected.get(feed.id) ?? 0, feed.length))
    await replicate(a, b)
    for (const m of [a, b]) {
      const held = new Map(m.feeds().map((feed) => [feed.id as string, feed.length]))
      assert.deepEqual(held, expected, `seed ${seed}, round ${round}`)
    }
  }
})

test('a peer of channel version 3 is refused with ERR_VERSION_MISMATCH, by its preamble or by its hello', async (t) => {
  const m = await create<unknown>(t)
  await (await m.writer()).append('mine')
  const { port, ends } = await serveReplication(t, m)
  const evil = await HostilePeer.open(t)
  await evil.connect(port, { preambleVersion: 3 }).catch(() => undefined)
  await until(() => ends.length === 1)
  assert.equal((await deadline(ends[0]!, 20_000, 'the preamble refusal'))?.code, 'ERR_VERSION_MISMATCH')
  const session = await evil.connect(port, { version: 3 })
  session.hello([])
  await until(() => ends.length === 2)
  assert.equal((await deadline(ends[1]!, 20_000, 'the hello refusal'))?.code, 'ERR_VERSION_MISMATCH')
})
