// `stream.finished()` and `'caught-up'` on the streams `replicate()` returns, over real TCP sockets
// on 127.0.0.1 between stores in temp directories. No test here listens for 'error': awaiting
// `finished()` is how an app takes a replication's error.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { create, rejection } from '../helpers/feeds.js'
import { socketPair } from '../helpers/sockets.js'
import { openCore } from '../helpers/kappa.js'
import type { Entry } from '../../src/kappa/index.js'

test('non-live over TCP: finished() resolves on both sides once everything is held', async (t) => {
  const a = await create<string>(t, { valueEncoding: 'json' })
  const b = await create<string>(t, { valueEncoding: 'json' })
  const writer = await a.writer()
  await writer.append(Array.from({ length: 300 }, (_, i) => `a-${i}`))
  await (await b.writer()).append('b-0')
  const [left, right] = await socketPair()
  const sa = a.replicate(left)
  const sb = b.replicate(right)
  await Promise.all([sa.finished(), sb.finished()])
  const copy = b.feed(writer.key)
  assert.ok(copy, 'b holds a writer feed')
  assert.equal(copy.length, 300)
  assert.equal(await copy.get(299), 'a-299')
  assert.equal(a.feeds().length, 2)
  // Settled once, the same answer again.
  await sa.finished()
})

test('a key mismatch rejects finished() on both sides with ERR_KEY_MISMATCH', async (t) => {
  const a = await create(t, { key: Buffer.alloc(32, 1) })
  const b = await create(t, { key: Buffer.alloc(32, 2) })
  await (await a.writer()).append('x')
  const [left, right] = await socketPair()
  const sa = a.replicate(left)
  const sb = b.replicate(right)
  const ended: string[] = []
  sa.once('end', () => ended.push('a'))
  sb.once('end', () => ended.push('b'))
  const [ea, eb] = await Promise.all([rejection(sa.finished()), rejection(sb.finished())])
  assert.equal(ea.code, 'ERR_KEY_MISMATCH')
  assert.equal(eb.code, 'ERR_KEY_MISMATCH')
  // Both sides ended their readable side before the error: 'end' alone does not mean success.
  assert.ok(ended.length > 0, "a side emitted 'end'")
  assert.equal(b.feeds().length, 0)
})

test('a non-live stream destroyed before it completed rejects with ERR_CLOSED; its peer fails too', async (t) => {
  const a = await create(t)
  const b = await create(t)
  await (await a.writer()).append('x')
  const [left, right] = await socketPair()
  const sa = a.replicate(left)
  const sb = b.replicate(right)
  sa.destroy()
  assert.equal((await rejection(sa.finished())).code, 'ERR_CLOSED')
  assert.ok((await rejection(sb.finished())).code, 'the peer rejects with a code')
})

test('closing the store under a non-live stream rejects its finished() with ERR_CLOSED', async (t) => {
  const a = await create(t)
  const [left] = await socketPair()
  t.after(() => void left.destroy())
  const sa = a.replicate(left) // the peer never answers
  const settled = rejection(sa.finished())
  await a.close()
  assert.equal((await settled).code, 'ERR_CLOSED')
})

test("live Kappa over TCP: 'caught-up' fires once the peer's entries are held and indexed", async (t) => {
  const count = 400
  const sums = new Map<string, number>()
  const viewOf = (name: string) => ({
    map: (entries: Entry<number>[]) => {
      for (const entry of entries) sums.set(name, (sums.get(name) ?? 0) + entry.value)
    },
  })
  const a = await openCore<number>(t)
  const b = await openCore<number>(t)
  a.use('sum', viewOf('a'))
  b.use('sum', viewOf('b'))
  const writer = await a.writer('w')
  for (let i = 0; i < count; i += 100) {
    await writer.append(Array.from({ length: 100 }, (_, j) => i + j))
  }
  await (await b.writer('w')).append(1000)
  const total = (count * (count - 1)) / 2
  const [left, right] = await socketPair()
  const sa = a.replicate(left, { live: true })
  const sb = b.replicate(right, { live: true })
  const seen = await Promise.all(
    [sa, sb].map(
      (stream, i) =>
        new Promise<number | undefined>((resolve) =>
          stream.once('caught-up', () => resolve(sums.get(i === 0 ? 'a' : 'b'))),
        ),
    ),
  )
  // At the event, each side's view has indexed the other's entries (and its own).
  assert.deepEqual(seen, [total + 1000, total + 1000])
  assert.equal(b.feed(writer.key)?.length, count)
  // Live, finished() resolves once the stream is ended cleanly — here by the other side closing.
  await b.close()
  await Promise.all([sa.finished(), sb.finished()])
})

test("live, with nothing to fetch: 'caught-up' fires at once, and push mode does not wait", async (t) => {
  const a = await create(t)
  const b = await create(t)
  await (await a.writer()).append('x')
  const [left, right] = await socketPair()
  const sa = a.replicate(left, { live: true, mode: 'push' })
  const sb = b.replicate(right, { live: true, mode: 'pull' })
  const caught = (s: typeof sa) => new Promise<void>((resolve) => s.once('caught-up', () => resolve()))
  await Promise.all([caught(sa), caught(sb)])
  assert.equal(b.feeds()[0]?.length, 1, 'the pulling side holds the pushed entry at its caught-up')
  sa.destroy()
  await Promise.all([sa.finished(), sb.finished()])
})
