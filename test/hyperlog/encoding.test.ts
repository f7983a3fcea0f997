// hyperlog's test/encoding.js (its live replication test is in replicate.test.ts).
import assert from 'node:assert/strict'
import test from 'node:test'
import { isKappaError } from '../../src/errors.js'
import type { HyperlogNode } from '../../src/hyperlog/index.js'
import { collect, createLog } from '../helpers/hyperlog.js'

const msg = { msg: 'hello world' }

test('add node (json log)', async (t) => {
  const log = await createLog(t, { valueEncoding: 'json' })
  const node = await log.add(null, msg)
  assert.deepEqual(node.links, [])
  assert.deepEqual(node.value, msg)
})

test('add node with encoding option', async (t) => {
  const log = await createLog(t)
  const node = await log.add(null, msg, { valueEncoding: 'json' })
  assert.deepEqual(node.value, msg)
  assert.deepEqual(
    (await log.get(node.key)).value,
    Buffer.from(JSON.stringify(msg)),
    'the log default: binary',
  )
  assert.deepEqual((await log.get(node.key, { valueEncoding: 'json' })).value, msg)
})

test('append node, with and without encoding option', async (t) => {
  const json = await createLog(t, { valueEncoding: 'json' })
  const a = await json.append(msg)
  assert.deepEqual([a.links, a.value], [[], msg])
  const bin = await createLog(t)
  const b = await bin.append(msg, { valueEncoding: 'json' })
  assert.deepEqual([b.links, b.value], [[], msg])
})

test('add node with links; bad links', async (t) => {
  const log = await createLog(t, { valueEncoding: 'json' })
  const node = await log.add(null, { msg: 'hello' })
  const node2 = await log.add(node, { msg: 'world' })
  assert.deepEqual(node2.links, [node.key])
  assert.deepEqual(node2.value, { msg: 'world' })
  await assert.rejects(
    log.add('i-do-not-exist', msg),
    (err: any) => isKappaError(err, 'ERR_NOT_FOUND') && err.notFound,
  )
})

test('heads with encoding option', async (t) => {
  const log = await createLog(t)
  assert.deepEqual(await log.heads({ valueEncoding: 'json' }), [])
  const node = await log.add(null, 'a', { valueEncoding: 'json' })
  assert.deepEqual(await log.heads({ valueEncoding: 'json' }), [node])
  const node2 = await log.add(node, 'b', { valueEncoding: 'json' })
  assert.deepEqual(await log.heads({ valueEncoding: 'json' }), [node2])
  assert.equal(node2.value, 'b')
})

test('get, read streams and a codec object', async (t) => {
  const upper = {
    encode: (v: string) => Buffer.from(v.toUpperCase()),
    decode: (b: Uint8Array) => Buffer.from(b).toString().toLowerCase(),
  }
  const log = await createLog<string>(t, { valueEncoding: upper })
  const node = await log.add(null, 'Mixed')
  assert.equal(node.value, 'mixed')
  assert.equal((await log.get(node.key)).value, 'mixed')
  assert.deepEqual((await log.get(node.key, { valueEncoding: 'utf-8' })).value, 'MIXED')
  const streamed = await collect<HyperlogNode<string>>(log.createReadStream({ valueEncoding: 'binary' }))
  assert.deepEqual(streamed[0].value, Buffer.from('MIXED'))
})

test('deduplicates (json)', async (t) => {
  const log = await createLog(t, { valueEncoding: 'json' })
  await log.add(null, msg)
  await log.add(null, { msg: 'hello world' })
  assert.equal((await collect(log.createReadStream())).length, 1)
})
