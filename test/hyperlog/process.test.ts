// hyperlog's test/replicate.js 'process': the receiver's `process` transform sees every incoming
// node before it is indexed; a node it does not pass on is refused like a failed `verify`.
import assert from 'node:assert/strict'
import test from 'node:test'
import { Transform } from 'node:stream'
import { isKappaError } from '../../src/errors.js'
import type { SignableNode } from '../../src/hyperlog/index.js'
import { createLog, errorOf, sync, toMap } from '../helpers/hyperlog.js'

test('process: an async pass-through transform sees every replicated node, and the logs sync', async (t) => {
  const hyper = await createLog(t)
  const clone = await createLog(t)
  await hyper.add(null, 'a')
  await hyper.add(null, 'b')
  await hyper.add(null, 'c')
  const seen: string[] = []
  const processor = new Transform({
    objectMode: true,
    transform(node: SignableNode, _enc, cb) {
      seen.push(Buffer.from(node.value).toString())
      setTimeout(() => cb(null, node), 1)
    },
  })
  await sync(hyper, clone, {}, { process: processor })
  assert.deepEqual(await toMap(clone), await toMap(hyper))
  assert.deepEqual(seen.sort(), ['a', 'b', 'c'])
})

test('process: a node the transform drops is never indexed and the replication fails with a code', async (t) => {
  const hyper = await createLog(t)
  const clone = await createLog(t)
  const good = await hyper.add(null, 'good')
  const bad = await hyper.add(null, 'bad')
  const dropBad = new Transform({
    objectMode: true,
    transform(node: SignableNode, _enc, cb) {
      if (Buffer.from(node.value).toString() === 'bad') return cb()
      cb(null, node)
    },
  })
  const a = hyper.replicate(true)
  const b = clone.replicate(false, { process: dropBad })
  a.pipe(b).pipe(a)
  const err = await errorOf(b)
  assert.ok(isKappaError(err, 'ERR_INVALID_SIGNATURE'), String(err))
  await errorOf(a)
  await clone.ready()
  assert.equal((await clone.get(good.key)).key, good.key)
  await assert.rejects(clone.get(bad.key), (e: unknown) => isKappaError(e, 'ERR_NOT_FOUND'))
})

test('process must be a stream', async (t) => {
  const log = await createLog(t)
  assert.throws(
    () => log.replicate(true, { process: {} as never }),
    (e: unknown) => isKappaError(e, 'ERR_INVALID_ARGUMENT'),
  )
})
