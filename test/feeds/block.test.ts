/**
 * Blocking feeds locally (Multifeed `block`, `unblock`, `blocked`, `isBlocked`): persisted, never
 * replicated; a blocked feed is neither taken nor offered; `drop` frees its stored blocks.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import crypto from 'hypercore-crypto'
import { Multifeed } from '../../src/feeds/multifeed.js'
import { coreOf, create, replicate, tempDir } from '../helpers/feeds.js'

test('block a key never seen: listed, persisted across reopen, events; unblock undoes it', async (t) => {
  const dir = await tempDir(t)
  const key = crypto.keyPair().publicKey
  const events: string[] = []
  let m = new Multifeed(dir)
  m.on('block', (id) => events.push(`block ${id}`))
  m.on('unblock', (id) => events.push(`unblock ${id}`))
  await m.block(key)
  await m.block(key.toString('hex')) // already blocked: no second event
  assert.equal(m.isBlocked(key), true)
  assert.equal(m.isBlocked(key.toString('hex')), true)
  assert.deepEqual(await m.blocked(), [key.toString('hex')])
  assert.deepEqual(events, [`block ${key.toString('hex')}`])
  await m.close()

  m = new Multifeed(dir)
  await m.ready()
  assert.equal(m.isBlocked(key), true)
  assert.deepEqual(await m.blocked(), [key.toString('hex')])
  await new Promise<void>((resolve, reject) => m.unblock(key, (err) => (err ? reject(err) : resolve())))
  assert.equal(m.isBlocked(key), false)
  const listed = await new Promise<string[]>((resolve, reject) =>
    m.blocked((err, keys) => (err ? reject(err) : resolve(keys!))),
  )
  assert.deepEqual(listed, [])
  await m.close()

  m = new Multifeed(dir)
  await m.ready()
  assert.deepEqual(await m.blocked(), [])
  await m.close()
})

test('own writers cannot be blocked; a blocked key pair cannot become a writer (ERR_BLOCKED)', async (t) => {
  const m = await create(t)
  const w = await m.writer()
  await assert.rejects(m.block(w.key), { code: 'ERR_INVALID_ARGUMENT' })
  assert.deepEqual(await m.blocked(), [])
  await w.append('still writable')

  const pair = crypto.keyPair()
  await m.block(pair.publicKey)
  await assert.rejects(m.writer('other', { keyPair: pair }), { code: 'ERR_BLOCKED' })
  assert.equal(m.feeds().length, 1)
  await m.unblock(pair.publicKey)
  const other = await m.writer('other', { keyPair: pair })
  assert.equal(other.key.toString('hex'), pair.publicKey.toString('hex'))
})

test('bad input to block, unblock and isBlocked: coded errors, nothing changes', async (t) => {
  const m = await create(t)
  const key = crypto.keyPair().publicKey
  await m.block(key)
  const bad: unknown[] = [123, 'zz', Buffer.alloc(31), null, undefined, {}]
  for (const k of bad) {
    await assert.rejects(m.block(k as string), { code: 'ERR_INVALID_ARGUMENT' })
    await assert.rejects(m.unblock(k as string), { code: 'ERR_INVALID_ARGUMENT' })
    assert.throws(() => m.isBlocked(k as string), { code: 'ERR_INVALID_ARGUMENT' })
  }
  const other = crypto.keyPair().publicKey
  for (const opts of [5, 'drop', { drop: 'yes' }, null] as unknown[]) {
    await assert.rejects(m.block(other, opts as { drop: boolean }), { code: 'ERR_INVALID_ARGUMENT' })
  }
  const failed = await new Promise<Error | null>((resolve) => m.block('nope', (err) => resolve(err)))
  assert.equal((failed as { code?: string }).code, 'ERR_INVALID_ARGUMENT')
  assert.throws(() => m.refuseDrop(''), { code: 'ERR_INVALID_ARGUMENT' })
  assert.deepEqual(await m.blocked(), [key.toString('hex')])
  await m.close()
  await assert.rejects(m.block(other), { code: 'ERR_CLOSED' })
})

test('a feed blocked in advance is never taken; a blocked feed is never offered', async (t) => {
  const a = await create(t)
  const b = await create(t)
  const c = await create(t)
  const wa = await a.writer()
  await wa.append(['1', '2', '3'])
  const wb = await b.writer()
  await wb.append('b')
  await b.block(wa.key)
  await replicate(a, b)
  assert.equal(b.feed(wa.key), undefined, 'b never took the blocked feed')
  assert.equal(a.feed(wb.key)?.length, 1)

  // c holds a's feed, then blocks it: it offers it to nobody.
  await replicate(a, c)
  assert.equal(c.feed(wa.key)?.length, 3)
  await c.block(wa.key)
  const d = await create(t)
  await replicate(c, d)
  assert.equal(d.feed(wa.key), undefined)
  assert.equal(c.feeds().length, 2, 'the blocked feed stays listed')
})

test('block with drop frees the stored blocks: length 0, persisted; refuseDrop forbids it', async (t) => {
  const a = await create(t)
  const dir = await tempDir(t)
  let b = new Multifeed(dir)
  const wa = await a.writer()
  await wa.append(['x', 'y', 'z'])
  await replicate(a, b)
  assert.equal(b.feed(wa.key)?.length, 3)
  await b.block(wa.key, { drop: true })
  const held = b.feed(wa.key)!
  assert.equal(held.length, 0)
  assert.equal(b.feeds().length, 1)
  assert.equal(await (await coreOf(held)).has(0), false, 'block 0 was freed')
  await assert.rejects(held.get(0), { code: 'ERR_NOT_FOUND' })
  await b.close()

  b = new Multifeed(dir)
  await b.ready()
  assert.equal(b.isBlocked(wa.key), true)
  assert.equal(b.feed(wa.key)?.length, 0)
  // Unblocked, it replicates again from its writer.
  await b.unblock(wa.key)
  await replicate(a, b)
  assert.equal(b.feed(wa.key)?.length, 3)
  assert.equal(await b.feed(wa.key)!.get(2), 'z')
  await b.close()

  const c = await create(t)
  c.refuseDrop('a hyperlog needs every node for its links')
  const key = crypto.keyPair().publicKey
  await assert.rejects(c.block(key, { drop: true }), { code: 'ERR_INVALID_ARGUMENT' })
  assert.deepEqual(await c.blocked(), [])
  await c.block(key)
  assert.deepEqual(await c.blocked(), [key.toString('hex')])
})
