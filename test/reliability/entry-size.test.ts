/**
 * MAX_ENTRY_BYTES bounds an encoded entry in every layer: a larger write rejects with
 * ERR_INVALID_ARGUMENT before anything is acknowledged or stored, never poisons the writes it was
 * coalesced with, and a store whose outbox already holds such an entry (acknowledged by a version
 * that did not check) still opens and replicates.
 */
import assert from 'node:assert/strict'
import test from 'node:test'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { MAX_ENTRY_BYTES } from '../../src/index.js'
import { isKappaError } from '../../src/errors.js'
import { HyperKV } from '../../src/kv/index.js'
import { Kappa } from '../../src/kappa/index.js'
import { Hyperlog, HYPERLOG_NAME } from '../../src/hyperlog/index.js'
import { encodeEntry, encodeOutboxRecord, lexHex } from '../../src/hyperlog/messages.js'
import type { NodeHash } from '../../src/hyperlog/index.js'
import { tempDir } from '../helpers/temp.js'
import { replicate } from '../helpers/kv.js'
import { sync } from '../helpers/hyperlog.js'

const invalid = (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT')
/** A string whose JSON (with its quotes) is `bytes` long. */
const text = (bytes: number) => 'x'.repeat(bytes - 2)
const valuesOf = (row: Record<string, object>) => Object.values(row).map((v) => ('value' in v ? v.value : v))

test('MAX_ENTRY_BYTES is exported, at least 8 MiB and below Hypercore’s 15 MiB block limit', () => {
  assert.ok(MAX_ENTRY_BYTES >= 8 * 1024 * 1024)
  assert.ok(MAX_ENTRY_BYTES < 15 * 1024 * 1024)
})

test('feed.append: an entry over MAX_ENTRY_BYTES is refused, one of exactly MAX_ENTRY_BYTES is stored and replicates', async (t) => {
  const root = await tempDir(t)
  const a = new Kappa<Buffer>(join(root, 'a'), { valueEncoding: 'binary' })
  const b = new Kappa<Buffer>(join(root, 'b'), { valueEncoding: 'binary' })
  t.after(async () => {
    await a.close()
    await b.close()
  })
  const feed = await a.writer('w')
  await assert.rejects(feed.append(Buffer.alloc(MAX_ENTRY_BYTES + 1)), invalid)
  await assert.rejects(feed.append([Buffer.from('ok'), Buffer.alloc(MAX_ENTRY_BYTES + 1)]), invalid)
  assert.equal(feed.length, 0, 'nothing of a refused append is stored')
  await feed.append([Buffer.from('small'), Buffer.alloc(MAX_ENTRY_BYTES, 7)])
  assert.equal(feed.length, 2)

  const sa = a.replicate(true)
  const sb = b.replicate(false)
  sa.pipe(sb).pipe(sa)
  await Promise.all([new Promise((r) => sa.on('close', r)), new Promise((r) => sb.on('close', r))])
  const copy = b.feed(feed.key)!
  assert.equal(copy.length, 2)
  const big = await copy.get(1)
  assert.equal(big.byteLength, MAX_ENTRY_BYTES, 'the largest entry reaches the peer whole')
})

test('log.add, log.batch, log.append: a node over MAX_ENTRY_BYTES is refused before anything is stored', async (t) => {
  const root = await tempDir(t)
  const log = new Hyperlog<Buffer>(join(root, 'log'), { valueEncoding: 'binary' })
  t.after(() => log.close())
  const first = await log.add(null, Buffer.from('first'))
  const huge = Buffer.alloc(MAX_ENTRY_BYTES + 1)
  await assert.rejects(log.add(null, huge), invalid)
  await assert.rejects(log.append(huge), invalid)
  await assert.rejects(
    log.batch([
      { links: [], value: Buffer.from('a') },
      { links: [], value: huge },
    ]),
    invalid,
  )
  // The value fits, the entry does not: its identity takes it over the limit (checked in the group).
  const fits = Buffer.alloc(MAX_ENTRY_BYTES - 16)
  await assert.rejects(log.add([first.key], fits, { identity: Buffer.alloc(64) }), invalid)
  assert.equal(log.changes, 1, 'no node became visible')
  await log.flush()
  const writer = await log.kappa.writer(HYPERLOG_NAME)
  assert.equal(writer.length, 1, 'nothing reached the feed')
  const later = await log.add([first.key], Buffer.from('later'))
  assert.equal(later.change, 2, 'the log goes on')
})

test('kv.put of a 15 MiB value: ERR_INVALID_ARGUMENT, the writes coalesced with it succeed, the store replicates and reopens', async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'kv')
  let kv = new HyperKV(dir)
  const peer = new HyperKV(join(root, 'peer'))
  t.after(async () => {
    await kv.close()
    await peer.close()
  })
  const errors: Error[] = []
  kv.on('error', (err) => errors.push(err))
  await kv.put('before', 1)
  const huge = text(15 * 1024 * 1024)
  await assert.rejects(kv.put('huge', huge), invalid, 'refused, not acknowledged')
  // Concurrent single puts are committed together: the huge one fails alone.
  const [a, big, b] = await Promise.allSettled([kv.put('a', 1), kv.put('huge', huge), kv.put('b', 2)])
  assert.equal(a.status, 'fulfilled')
  assert.equal(b.status, 'fulfilled')
  assert.equal(big.status, 'rejected')
  assert.ok(invalid((big as PromiseRejectedResult).reason))
  await assert.rejects(
    kv.batch([
      { type: 'put', key: 'c', value: 3 },
      { type: 'put', key: 'huge', value: huge },
    ]),
    invalid,
  )
  assert.deepEqual(await kv.get('c'), {}, 'a refused batch writes none of its rows')
  assert.deepEqual(await kv.get('huge'), {})
  // A value just under the limit is acknowledged and reaches the log.
  const large = text(MAX_ENTRY_BYTES - 1024)
  await kv.put('large', large)
  await kv.log.flush()

  await replicate(kv, peer)
  assert.deepEqual(valuesOf(await peer.get('b')), [2])
  assert.equal((valuesOf(await peer.get('large'))[0] as string).length, large.length)
  await kv.close()
  kv = new HyperKV(dir)
  assert.deepEqual(valuesOf(await kv.get('a')), [1], 'the store reopens')
  assert.deepEqual(await kv.get('huge'), {})
  assert.deepEqual(errors, [], 'no background failure')
})

test('an outbox holding an entry over MAX_ENTRY_BYTES (left by an older version): the store opens, names it in an error, replicates the rest', async (t) => {
  const root = await tempDir(t)
  const dir = join(root, 'kv')
  let kv = new HyperKV(dir)
  await kv.put('kept', 'before')
  await kv.log.flush()
  const seq = (await kv.log.kappa.writer(HYPERLOG_NAME)).length
  await kv.close()

  // What the previous version left after acknowledging a 16 MiB put: an outbox record its
  // flusher could never append (Hypercore refuses blocks over 15 MiB). A small node follows it.
  const doc = (k: string, v: string) => Buffer.from(JSON.stringify({ k, v }))
  const hugeEntry = encodeEntry({
    links: [],
    value: doc('huge', text(16 * 1024 * 1024)),
    identity: null,
    signature: null,
  })
  const nextEntry = encodeEntry({ links: [], value: doc('next', 'after'), identity: null, signature: null })
  const db = new ClassicLevel<string, Uint8Array>(join(dir, 'index'), {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
  })
  const outbox = db
    .sublevel<string, Uint8Array>('hyperlog', { valueEncoding: 'view' })
    .sublevel<string, Uint8Array>('o', { valueEncoding: 'view' })
  await outbox.put(lexHex(seq), encodeOutboxRecord([hugeEntry, nextEntry]))
  await db.close()

  kv = new HyperKV(dir)
  const peer = new HyperKV(join(root, 'peer'))
  t.after(async () => {
    await kv.close()
    await peer.close()
  })
  const errors: Error[] = []
  kv.on('error', (err) => errors.push(err))
  await kv.ready()
  const hugeKey = await kv.log.hash([], { k: 'huge', v: text(16 * 1024 * 1024) })
  assert.equal(errors.length, 1, 'one error names the dropped node')
  assert.ok(isKappaError(errors[0], 'ERR_STORAGE'))
  assert.match(errors[0].message, new RegExp(hugeKey))
  const writer = await kv.log.kappa.writer(HYPERLOG_NAME)
  assert.equal(writer.length, seq + 2, 'the dropped entry keeps its seq, the next one is appended after it')
  assert.equal(((await writer.get(seq)) as Buffer).byteLength, 0, 'an empty entry holds the dropped seq')

  await kv.put('new', 'write')
  await replicate(kv, peer)
  assert.deepEqual(valuesOf(await peer.get('kept')), ['before'])
  assert.deepEqual(valuesOf(await peer.get('next')), ['after'], 'the entry after the dropped one replicates')
  assert.deepEqual(valuesOf(await peer.get('new')), ['write'])
  assert.deepEqual(await peer.get('huge'), {})
  await assert.rejects(peer.log.get(hugeKey as NodeHash), (err: unknown) =>
    isKappaError(err, 'ERR_NOT_FOUND'),
  )

  await kv.close()
  kv = new HyperKV(dir)
  assert.deepEqual(valuesOf(await kv.get('new')), ['write'], 'and reopens again')
})

test('hyperlog replication of a log holding an entry of exactly MAX_ENTRY_BYTES succeeds', async (t) => {
  const root = await tempDir(t)
  const a = new Hyperlog<Buffer>(join(root, 'a'), { valueEncoding: 'binary' })
  const b = new Hyperlog<Buffer>(join(root, 'b'), { valueEncoding: 'binary' })
  t.after(async () => {
    await a.close()
    await b.close()
  })
  // An empty links list and no identity: 1 format byte, 1 flags byte, 1 link count, the value's length prefix.
  const value = Buffer.alloc(MAX_ENTRY_BYTES - 3 - 5, 1)
  const node = await a.add(null, value)
  await sync(a, b)
  assert.equal((await b.get(node.key)).value.byteLength, value.byteLength)
})
