import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Multifeed } from '../../src/feeds/multifeed.js'
import { MAX_BLOCK_ENTRIES, decodeBlock } from '../../src/feeds/messages.js'
import type { Codec } from '../../src/feeds/types.js'
import { coreOf, create, tempDir } from '../helpers/feeds.js'

test('value encodings: json (default), utf-8, binary, a custom codec', async (t) => {
  const json = await create(t)
  const jw = await json.writer()
  await jw.append([{ a: [1, 'x'] }, 3, 'str', true])
  assert.deepEqual(await jw.getBatch(0, 4), [{ a: [1, 'x'] }, 3, 'str', true])

  const text = await create<string>(t, { valueEncoding: 'utf-8' })
  const tw = await text.writer()
  await tw.append('héllo')
  assert.equal(await tw.get(0), 'héllo')
  await assert.rejects(tw.append(5 as unknown as string), { code: 'ERR_INVALID_ARGUMENT' })

  const bin = await create<Buffer>(t, { valueEncoding: 'binary' })
  const bw = await bin.writer()
  await bw.append(Buffer.from([0, 1, 2, 255]))
  const got = await bw.get(0)
  assert.ok(Buffer.isBuffer(got))
  assert.deepEqual([...got], [0, 1, 2, 255])

  const upper: Codec<string> = {
    encode: (s) => Buffer.from(s.toUpperCase()),
    decode: (b) => `<${Buffer.from(b).toString()}>`,
  }
  const custom = await create<string>(t, { valueEncoding: upper })
  const cw = await custom.writer()
  await cw.append('abc')
  assert.equal(await cw.get(0), '<ABC>')
})

test('json values that cannot be encoded are refused and nothing is written', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  await assert.rejects(w.append(undefined), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(w.append([1, undefined]), { code: 'ERR_INVALID_ARGUMENT' })
  assert.equal(w.length, 0)
  assert.equal((await coreOf(w)).length, 0)
})

test('an array append is atomic and packs entries into blocks; seqs count entries', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  const values = Array.from({ length: 1000 }, (_, i) => ({ i }))
  assert.equal(await w.append(values), 0)
  assert.equal(w.length, 1000)
  assert.equal((await coreOf(w)).length, Math.ceil(1000 / MAX_BLOCK_ENTRIES))
  const block = decodeBlock((await (await coreOf(w)).get(1))!)
  assert.equal(block.first, MAX_BLOCK_ENTRIES)
  assert.equal(block.count, MAX_BLOCK_ENTRIES)
  assert.deepEqual(await w.get(999), { i: 999 })
  assert.deepEqual(await w.get(64), { i: 64 })
  assert.deepEqual(await w.getBatch(60, 70), values.slice(60, 70))
  assert.equal(await w.append([]), 1000)
})

test('large entries go into blocks of their own', async (t) => {
  const m = await create<Buffer>(t, { valueEncoding: 'binary' })
  const w = await m.writer()
  const big = Buffer.alloc(100 * 1024, 1)
  await w.append([Buffer.from('a'), big, Buffer.from('b'), big])
  assert.equal(w.length, 4)
  assert.equal((await w.get(1)).length, big.length)
  assert.equal((await w.get(2)).toString(), 'b')
  assert.ok((await coreOf(w)).length >= 3)
})

test('concurrent appends coalesce into one Hypercore append, each caller gets its own seq', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  const seqs = await Promise.all(Array.from({ length: 500 }, (_, i) => w.append(i)))
  assert.deepEqual(
    seqs,
    Array.from({ length: 500 }, (_, i) => i),
  )
  assert.equal(w.length, 500)
  // 500 single appends in one tick → ⌈500/64⌉ blocks, not 500.
  assert.equal((await coreOf(w)).length, Math.ceil(500 / MAX_BLOCK_ENTRIES))
  const mixed = await Promise.all([w.append(['a', 'b']), w.append('c'), w.append(['d', 'e', 'f'])])
  assert.deepEqual(mixed, [500, 502, 503])
  assert.deepEqual(await w.getBatch(500, 506), ['a', 'b', 'c', 'd', 'e', 'f'])
})

test("'append' fires whenever length grows; length is in entries", async (t) => {
  const m = await create(t)
  const w = await m.writer()
  const lengths: number[] = []
  w.on('append', () => lengths.push(w.length))
  await w.append('a')
  await w.append(['b', 'c'])
  assert.deepEqual(lengths, [1, 3])
})

test('get/getBatch beyond length → ERR_NOT_FOUND with notFound; bad seqs → ERR_INVALID_ARGUMENT', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  await w.append(['a', 'b'])
  await assert.rejects(w.get(2), (err: any) => err.code === 'ERR_NOT_FOUND' && err.notFound === true)
  await assert.rejects(w.getBatch(0, 3), { code: 'ERR_NOT_FOUND' })
  await assert.rejects(w.get(-1), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(w.get(1.5), { code: 'ERR_INVALID_ARGUMENT' })
  await assert.rejects(w.getBatch(2, 1), { code: 'ERR_INVALID_ARGUMENT' })
  assert.deepEqual(await w.getBatch(1, 1), [])
})

test('random reads after reopen find the right block (header index rebuilt lazily)', async (t) => {
  const dir = await tempDir(t)
  const m1 = new Multifeed(dir)
  const w1 = await m1.writer()
  // Uneven appends so blocks hold different numbers of entries.
  let n = 0
  for (let i = 1; i <= 40; i++) {
    await w1.append(Array.from({ length: i * 3 }, () => n++))
  }
  await m1.close()
  const m2 = new Multifeed(dir)
  t.after(() => m2.close())
  const w2 = await m2.writer()
  assert.equal(w2.length, n)
  for (const seq of [n - 1, 0, 1234, 17, n - 65, 600, 601, 2]) assert.equal(await w2.get(seq), seq)
  const all = await w2.getBatch(0, n)
  assert.deepEqual(
    all,
    Array.from({ length: n }, (_, i) => i),
  )
})

test('createReadStream: all, a range, and live', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  await w.append(Array.from({ length: 300 }, (_, i) => i))
  const all: unknown[] = []
  for await (const v of w.createReadStream()) all.push(v)
  assert.equal(all.length, 300)
  assert.equal(all[299], 299)
  const range: unknown[] = []
  for await (const v of w.createReadStream({ start: 10, end: 13 })) range.push(v)
  assert.deepEqual(range, [10, 11, 12])

  const live = w.createReadStream({ start: 298, live: true })
  const seen: unknown[] = []
  const done = new Promise<void>((resolve) => {
    live.on('data', (v) => {
      seen.push(v)
      if (seen.length === 4) resolve()
    })
  })
  await w.append('x')
  await w.append('y')
  await done
  live.destroy()
  assert.deepEqual(seen, [298, 299, 'x', 'y'])
  assert.throws(() => w.createReadStream({ start: -1 }), { code: 'ERR_INVALID_ARGUMENT' })
})

// A Readable cannot carry null (pushing it ends the stream): a JSON null entry used to end an
// object-mode read stream early, silently dropping every entry after it.
test('createReadStream: a JSON null entry comes out as undefined and the stream goes on', async (t) => {
  const m = await create(t, { valueEncoding: 'json' })
  const w = await m.writer()
  await w.append(['a', null, 0, false, '', null, 'z'])
  const all: unknown[] = []
  for await (const v of w.createReadStream()) all.push(v)
  assert.deepEqual(all, ['a', undefined, 0, false, '', undefined, 'z'])
  assert.equal(await w.get(1), null, 'get still returns the value itself')

  const live = w.createReadStream({ start: 5, live: true })
  const seen: unknown[] = []
  const done = new Promise<void>((resolve) => {
    live.on('data', (v) => {
      seen.push(v)
      if (seen.length === 4) resolve()
    })
  })
  await w.append(null)
  await w.append('after')
  await done
  live.destroy()
  assert.deepEqual(seen, [undefined, 'z', undefined, 'after'])
})

test('a live read stream ends with ERR_CLOSED when its multifeed closes', async (t) => {
  const dir = await tempDir(t)
  const m = new Multifeed(dir)
  const w = await m.writer()
  const live = w.createReadStream({ live: true })
  live.resume()
  const error = new Promise<any>((resolve) => live.once('error', resolve))
  await m.close()
  assert.equal((await error).code, 'ERR_CLOSED')
})
