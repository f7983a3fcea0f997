import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdir } from 'node:fs/promises'
import { Multifeed } from '../../src/feeds/multifeed.js'
import type { Feed } from '../../src/feeds/types.js'
import { isKappaError } from '../../src/errors.js'
import { create, tempDir } from '../helpers/feeds.js'

test('no feeds: a new multifeed lists none, synchronously', async (t) => {
  const dir = await tempDir(t)
  const m = new Multifeed(dir)
  t.after(() => m.close())
  assert.deepEqual(m.feeds(), [])
  await m.ready()
  assert.deepEqual(m.feeds(), [])
})

test('create writer: append, get, feeds', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  assert.equal(w.writable, true)
  assert.equal(w.name, 'default')
  assert.equal(await w.append('foo'), 0)
  assert.equal(await w.get(0), 'foo')
  assert.equal(w.length, 1)
  assert.deepEqual(m.feeds(), [w])
  assert.equal(w.id, w.key.toString('hex'))
  assert.equal(w.discoveryKey.length, 32)
})

test('callback style: writer(cb), writer(name, cb), append(value, cb), get(seq, cb)', async (t) => {
  const m = await create(t)
  const w = await new Promise<Feed>((resolve, reject) =>
    m.writer('cb', (err, feed) => (err ? reject(err) : resolve(feed as Feed))),
  )
  const seq = await new Promise<number>((resolve, reject) =>
    w.append({ a: 1 }, (err, s) => (err ? reject(err) : resolve(s as number))),
  )
  assert.equal(seq, 0)
  const value = await new Promise((resolve, reject) => w.get(0, (err, v) => (err ? reject(err) : resolve(v))))
  assert.deepEqual(value, { a: 1 })
  const dflt = await new Promise<Feed>((resolve, reject) =>
    m.writer((err, feed) => (err ? reject(err) : resolve(feed as Feed))),
  )
  assert.equal(dflt.name, 'default')
  const err = await new Promise<Error | null>((resolve) => m.writer('', (e) => resolve(e)))
  assert.ok(isKappaError(err, 'ERR_INVALID_ARGUMENT'))
})

test('callback style: getBatch(start, end, cb), update(cb); errors reach the callback', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  await w.append(['a', 'b', 'c'])
  const values = await new Promise((resolve, reject) =>
    w.getBatch(1, 3, (err, v) => (err ? reject(err) : resolve(v))),
  )
  assert.deepEqual(values, ['b', 'c'])
  const missing = await new Promise<Error | null>((resolve) => w.getBatch(0, 9, (e) => resolve(e)))
  assert.ok(isKappaError(missing, 'ERR_NOT_FOUND'))
  const bad = await new Promise<Error | null>((resolve) => w.getBatch(2, 1, (e) => resolve(e)))
  assert.ok(isKappaError(bad, 'ERR_INVALID_ARGUMENT'))
  const updated = await new Promise<Error | null>((resolve) => w.update((e) => resolve(e)))
  assert.equal(updated, null)
  assert.equal(w.length, 3)
  await m.close()
  const closed = await new Promise<Error | null>((resolve) => w.getBatch(0, 1, (e) => resolve(e)))
  assert.ok(isKappaError(closed, 'ERR_CLOSED'))
})

test('get feed by key, as Buffer or hex; unknown → undefined; bad key → ERR_INVALID_ARGUMENT', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  assert.equal(m.feed(w.key), w)
  assert.equal(m.feed(w.key.toString('hex')), w)
  assert.equal(m.feed(Buffer.alloc(32)), undefined)
  assert.throws(() => m.feed('nothex'), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => m.feed(42 as unknown as string), { code: 'ERR_INVALID_ARGUMENT' })
})

test('writer by name: same name → same feed, concurrent calls → one feed', async (t) => {
  const m = await create(t)
  const a = await m.writer('bob')
  const b = await m.writer('bob')
  assert.equal(a, b)
  const [x, y, z] = await Promise.all([m.writer('y'), m.writer('y'), m.writer('y')])
  assert.equal(x, y)
  assert.equal(y, z)
  assert.equal(m.feeds().length, 2)
  let events = 0
  m.on('feed', () => events++)
  await Promise.all([m.writer('n1'), m.writer('n1')])
  assert.equal(events, 1)
})

test("'feed' events: created and loaded feeds, with their names", async (t) => {
  const dir = await tempDir(t)
  const m1 = new Multifeed(dir)
  const seen: Array<string | undefined> = []
  m1.on('feed', (feed, name) => {
    assert.equal(feed.name, name)
    seen.push(name)
  })
  await m1.writer('one')
  await m1.writer('two')
  assert.deepEqual(seen, ['one', 'two'])
  await m1.close()

  const m2 = new Multifeed(dir)
  t.after(() => m2.close())
  const loaded: Array<string | undefined> = []
  m2.on('feed', (_feed, name) => loaded.push(name))
  await m2.ready()
  assert.deepEqual(loaded, ['one', 'two'])
})

test('reopen: names, keys, order, entries and writability survive', async (t) => {
  const dir = await tempDir(t)
  const m1 = new Multifeed(dir)
  const names = ['minuette', 'zed', 'alpha', '1', 'b']
  const keys: string[] = []
  for (const name of names) {
    const w = await m1.writer(name)
    keys.push(w.id)
    await w.append([name, `${name}-2`])
  }
  await m1.close()

  const m2 = new Multifeed(dir)
  t.after(() => m2.close())
  await m2.ready()
  assert.deepEqual(
    m2.feeds().map((f) => f.id),
    keys,
  )
  const w = await m2.writer('minuette')
  assert.equal(w.id, keys[0])
  assert.equal(w.writable, true)
  assert.equal(w.length, 2)
  assert.equal(await w.append('more'), 2)
  assert.deepEqual(await w.getBatch(0, 3), ['minuette', 'minuette-2', 'more'])
  assert.equal((await m2.writer('1')).id, keys[3])
})

test('close: idempotent, concurrent calls settle, operations after close → ERR_CLOSED', async (t) => {
  const dir = await tempDir(t)
  const m = new Multifeed(dir)
  const w = await m.writer()
  await w.append('x')
  const first = m.close()
  const second = m.close()
  assert.equal(m.closed, false)
  await Promise.all([first, second])
  assert.equal(m.closed, true)
  await m.close()
  assert.deepEqual(m.feeds(), [])
  await assert.rejects(m.writer(), { code: 'ERR_CLOSED' })
  await assert.rejects(m.ready(), { code: 'ERR_CLOSED' })
  await assert.rejects(w.append('y'), { code: 'ERR_CLOSED' })
  await assert.rejects(w.get(0), { code: 'ERR_CLOSED' })
  const closeErr = await new Promise<Error | null>((resolve) => m.close((err) => resolve(err)))
  assert.equal(closeErr, null)
})

test('close after double-open: open, write, close twice on one directory', async (t) => {
  const dir = await tempDir(t)
  for (let i = 0; i < 2; i++) {
    const m = new Multifeed(dir)
    const w = await m.writer('w')
    await w.append(i)
    await m.close()
  }
  const m = new Multifeed(dir)
  t.after(() => m.close())
  const w = await m.writer('w')
  assert.deepEqual(await w.getBatch(0, 2), [0, 1])
})

test('a second open store on one directory → ERR_LOCKED', async (t) => {
  const m = await create(t)
  const other = new Multifeed(m.dir)
  await assert.rejects(other.ready(), { code: 'ERR_LOCKED' })
  await other.close()
  const w = await m.writer()
  await w.append('still fine')
})

test('the database key: given (Buffer, hex, alias key), default open key, bad keys rejected', async (t) => {
  const key = Buffer.alloc(32, 7)
  const a = await create(t, { encryptionKey: key })
  assert.deepEqual(a.key, key)
  const b = await create(t, { key: key.toString('hex') })
  assert.deepEqual(b.key, key)
  const open1 = await create(t)
  const open2 = await create(t)
  assert.deepEqual(open1.key, open2.key)
  assert.equal(open1.key.length, 32)
  const dir = await tempDir(t)
  assert.throws(() => new Multifeed(dir, { key: 'short' }), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => new Multifeed(dir, { key: Buffer.alloc(16) }), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => new Multifeed(42 as unknown as string), { code: 'ERR_INVALID_ARGUMENT' })
  assert.throws(() => new Multifeed(dir, { valueEncoding: 'nope' as 'json' }), {
    code: 'ERR_INVALID_ARGUMENT',
  })
})

test('the database key is not written to disk', async (t) => {
  const key = Buffer.alloc(32, 9)
  const m = await create(t, { key })
  const w = await m.writer()
  await w.append('x')
  await m.close()
  const { readFile } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const files: string[] = []
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name))
      else files.push(join(d, e.name))
    }
  }
  await walk(m.dir)
  for (const file of files) {
    const bytes = await readFile(file)
    assert.equal(bytes.includes(key), false, `${file} holds the database key`)
  }
})

test('custom key pair writer: its key, appends, writable after reopen', async (t) => {
  const { default: crypto } = await import('hypercore-crypto')
  const keyPair = crypto.keyPair()
  const dir = await tempDir(t)
  const m1 = new Multifeed(dir)
  const w = await m1.writer('moose', { keyPair })
  assert.deepEqual(w.key, keyPair.publicKey)
  await w.append('a')
  await m1.close()
  const m2 = new Multifeed(dir)
  t.after(() => m2.close())
  const again = await m2.writer('moose')
  assert.deepEqual(again.key, keyPair.publicKey)
  assert.equal(again.writable, true)
  assert.equal(await again.append('b'), 1)
  await assert.rejects(
    m2.writer('x', { keyPair: { publicKey: Buffer.alloc(3), secretKey: Buffer.alloc(64) } }),
    {
      code: 'ERR_INVALID_ARGUMENT',
    },
  )
})

test('a given Corestore: two databases in one store do not collide, and the store stays open', async (t) => {
  const { default: Corestore } = await import('corestore')
  const dir = await tempDir(t)
  const store = new Corestore(dir)
  t.after(() => store.close())
  const a = new Multifeed(store, { key: Buffer.alloc(32, 1) })
  const b = new Multifeed(store, { key: Buffer.alloc(32, 2) })
  const wa = await a.writer('w')
  const wb = await b.writer('w')
  assert.notDeepEqual(wa.key, wb.key)
  await wa.append('in a')
  assert.equal(a.feeds().length, 1)
  assert.equal(b.feeds().length, 1)
  await a.close()
  await b.close()
  assert.equal(store.closed, false)
  const a2 = new Multifeed(store, { key: Buffer.alloc(32, 1) })
  t.after(() => a2.close())
  const again = await a2.writer('w')
  assert.equal(again.id, wa.id)
  assert.equal(await again.get(0), 'in a')
})
