/**
 * What membership needs from the feeds layer: a feed's tree hash over its first entries, refusing
 * appends, a sibling Multifeed in the same store, and a named writer's feed key from its public key.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isKappaError, KappaError } from '../../src/errors.js'
import { Multifeed } from '../../src/feeds/index.js'
import { writerFeedKey } from '../../src/feeds/writer-key.js'
import { openInTemp } from '../helpers/temp.js'

test('treeHash(entries): the tree over the blocks holding them; null past what is held', async (t) => {
  const mf = await openInTemp(
    t,
    'kappadb-ms-',
    (dir) => new Multifeed<string>(dir, { valueEncoding: 'utf-8' }),
  )
  const w = await mf.writer()
  await w.append(['a', 'b', 'c'])
  const three = await w.treeHash(3)
  assert.equal(three?.byteLength, 32)
  assert.equal(await w.treeHash(4), null)
  await w.append('d')
  assert.deepEqual(await w.treeHash(3), three, 'appending does not change the tree below')
  assert.notDeepEqual(await w.treeHash(4), three)
})

test('refuseAppends: appends reject with the given error until lifted', async (t) => {
  const mf = await openInTemp(
    t,
    'kappadb-ms-',
    (dir) => new Multifeed<string>(dir, { valueEncoding: 'utf-8' }),
  )
  const w = await mf.writer()
  w.refuseAppends(new KappaError('ERR_NOT_WRITABLE', 'removed'))
  await assert.rejects(w.append('x'), (err) => isKappaError(err, 'ERR_NOT_WRITABLE'))
  assert.equal(w.length, 0)
  w.refuseAppends(null)
  assert.equal(await w.append('x'), 0)
})

test('a sibling shares the store, has its own encoding and closes with it; writerFeedKey names a writer', async (t) => {
  const mf = await openInTemp(
    t,
    'kappadb-ms-',
    (dir) => new Multifeed<string>(dir, { valueEncoding: 'utf-8' }),
  )
  const w = await mf.writer()
  const keyPair = (await w.signingKeyPair())!
  assert.equal(writerFeedKey(keyPair.publicKey), w.id)
  const sibling = mf.sibling<Buffer>({ key: Buffer.alloc(32, 7), valueEncoding: 'binary' })
  const log = await sibling.writer('log', { keyPair })
  assert.equal(log.id, keyPair.publicKey.toString('hex'))
  await log.append(Buffer.from([1, 2]))
  assert.deepEqual(await log.get(0), Buffer.from([1, 2]))
  assert.equal(mf.feeds().length, 1, 'the sibling’s feeds are not this one’s')
  await mf.close()
  assert.equal(sibling.closed, true)
})
