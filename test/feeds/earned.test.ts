/**
 * Feeds are earned: a remote feed is listed, announced, offered and indexed only once a block of it
 * verified; a store holds at most `maxFeeds` feeds. (Floods and lying lengths against a store in a
 * child process: test/reliability/hostile-peers.test.ts.)
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Kappa } from '../../src/kappa/index.js'
import { Hyperlog } from '../../src/hyperlog/index.js'
import { HyperKV } from '../../src/kv/index.js'
import { create, replicate, replicateLive, serveReplication, tempDir } from '../helpers/feeds.js'
import { HostilePeer, keyPair, randomOffers } from '../helpers/hostile-peer.js'
import { deadline, until } from '../helpers/until.js'

test('a feed its peer cannot prove is never listed, never a feed event, never offered on', async (t) => {
  const m = await create<unknown>(t)
  await (await m.writer()).append('mine')
  const added: string[] = []
  m.on('feed', (feed) => added.push(feed.id))
  const { port, ends } = await serveReplication(t, m, { live: true })
  const evil = await HostilePeer.open(t)
  const real = await evil.signedCore(keyPair(), ['real'])
  const session = await evil.connect(port)
  session.hello([...randomOffers(3, 5), await evil.offer(real)])
  await until(() => m.feed(real.key), 'the real feed')
  assert.deepEqual(added, [real.key.toString('hex')], "one 'feed' event: the proven feed's")
  assert.equal(m.feeds().length, 2)
  // More unproven offers than a live peer may make: its stream fails.
  session.add(randomOffers(20))
  assert.equal((await deadline(ends[0]!, 20_000, 'the flood failing'))?.code, 'ERR_PROTOCOL')
  assert.equal(m.feeds().length, 2)
  // A third peer gets exactly what was proven.
  const third = await create<unknown>(t)
  await replicate(m, third)
  assert.deepEqual(
    third
      .feeds()
      .map((f) => f.id)
      .sort(),
    m
      .feeds()
      .map((f) => f.id)
      .sort(),
  )
})

test('an empty writer is offered once it holds a block', async (t) => {
  const a = await create<string>(t)
  const b = await create<string>(t)
  const empty = await a.writer('empty')
  await replicate(a, b)
  assert.equal(b.feed(empty.key), undefined, 'nothing to prove it with: not listed')
  const stop = replicateLive(a, b)
  t.after(stop)
  await empty.append('first')
  await until(() => b.feed(empty.key)?.length === 1, 'the first entry to arrive live')
  assert.equal(await b.feed(empty.key)!.get(0), 'first')
})

test('maxFeeds: validated; a new writer beyond it fails with ERR_LIMIT; a key pair already held does not', async (t) => {
  const dir = await tempDir(t)
  for (const maxFeeds of [0, -1, 1.5, '3' as unknown as number]) {
    assert.throws(() => new Kappa(dir, { maxFeeds }), { code: 'ERR_INVALID_ARGUMENT' })
  }
  const m = await create<string>(t, { maxFeeds: 2 })
  assert.equal(m.maxFeeds, 2)
  const pair = keyPair()
  await m.writer('one')
  await m.writer('two', { keyPair: pair })
  await assert.rejects(m.writer('three'), { code: 'ERR_LIMIT' })
  assert.equal((await m.writer('again', { keyPair: pair })).key.equals(pair.publicKey), true)
  assert.equal(m.feeds().length, 2)
  assert.equal((await create(t)).maxFeeds, 100_000, 'the default')
})

test('maxFeeds is passed through by Kappa, Hyperlog and HyperKV', async (t) => {
  const core = new Kappa(await tempDir(t), { maxFeeds: 7 })
  t.after(() => core.close())
  assert.equal(core.multifeed.maxFeeds, 7)
  const log = new Hyperlog(await tempDir(t), { maxFeeds: 8 })
  t.after(() => log.close())
  assert.equal(log.kappa.multifeed.maxFeeds, 8)
  const kv = new HyperKV(await tempDir(t), { maxFeeds: 9 })
  t.after(() => kv.close())
  assert.equal(kv.log.kappa.multifeed.maxFeeds, 9)
  assert.throws(() => new HyperKV({ log }, { maxFeeds: 1 }), { code: 'ERR_INVALID_ARGUMENT' })
})
