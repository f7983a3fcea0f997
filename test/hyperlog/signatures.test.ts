// hyperlog's test/signatures.js against kappadb.
import assert from 'node:assert/strict'
import test from 'node:test'
import { isKappaError } from '../../src/errors.js'
import type { SignableNode } from '../../src/hyperlog/index.js'
import { createLog, errorOf, sync } from '../helpers/hyperlog.js'

const signature = Buffer.from('i-am-a-signature')
const publicKey = Buffer.from('i-am-a-public-key')
const signer = (_node: SignableNode, cb: (err: Error | null, sig?: Buffer) => void) => cb(null, signature)

test('sign', async (t) => {
  const signed: Buffer[] = []
  const log = await createLog(t, {
    identity: publicKey,
    sign: (node, cb) => {
      signed.push(node.value)
      cb(null, signature)
    },
  })
  const node = await log.add(null, 'hello')
  assert.deepEqual(signed, [Buffer.from('hello')])
  assert.deepEqual(node.signature, signature)
  assert.deepEqual(node.identity, publicKey)
  assert.deepEqual((await log.get(node.key)).signature, signature, 'stored with the node')
})

test('sign fails', async (t) => {
  const boom = new Error('lol')
  const log = await createLog(t, { identity: publicKey, sign: (_node, cb) => cb(boom) })
  let rejects = 0
  log.on('reject', () => rejects++)
  await assert.rejects(log.add(null, 'hello'), (err) => err === boom)
  assert.equal(rejects, 1)
  assert.equal(log.changes, 0)
})

test('verify', async (t) => {
  const log1 = await createLog(t, { identity: publicKey, sign: signer })
  const seen: { signature: Buffer | null; identity: Buffer | null }[] = []
  const log2 = await createLog(t, {
    verify: (node, cb) => {
      seen.push({ signature: node.signature, identity: node.identity })
      cb(null, true)
    },
  })
  await log1.add(null, 'hello')
  await sync(log2, log1)
  assert.deepEqual(seen, [{ signature, identity: publicKey }])
  assert.equal(log2.changes, 1)
})

test('verify fails', async (t) => {
  const log1 = await createLog(t, { identity: publicKey, sign: signer })
  const log2 = await createLog(t, { verify: (_node, cb) => cb(null, false) })
  let rejected = 0
  log2.on('reject', () => rejected++)
  await log1.add(null, 'hello')
  const s2 = log2.replicate(true)
  const s1 = log1.replicate(false)
  s2.pipe(s1).pipe(s2)
  const [e2] = await Promise.all([errorOf(s2), errorOf(s1)])
  assert.ok(isKappaError(e2, 'ERR_INVALID_SIGNATURE'), String(e2))
  assert.equal(rejected, 1)
  assert.equal(log2.changes, 0, 'the refused node never becomes visible')
  assert.deepEqual(await log2.heads(), [])
})

test('per-document identity (add)', async (t) => {
  const log1 = await createLog(t, { sign: signer })
  const seen: (Buffer | null)[] = []
  const log2 = await createLog(t, {
    verify: (node, cb) => {
      assert.deepEqual(node.signature, signature)
      seen.push(node.identity)
      cb(null, true)
    },
  })
  await log1.add(null, 'hello', { identity: publicKey })
  await sync(log2, log1)
  assert.deepEqual(seen, [publicKey])
})

test('per-document identity (batch)', async (t) => {
  const log1 = await createLog(t, { sign: signer })
  const seen: (Buffer | null)[] = []
  const log2 = await createLog(t, {
    verify: (node, cb) => {
      assert.deepEqual(node.signature, signature)
      seen.push(node.identity)
      cb(null, true)
    },
  })
  await log1.batch([
    { value: 'hello', identity: Buffer.from('hello id') },
    { value: 'whatever', identity: Buffer.from('whatever id') },
  ])
  await sync(log2, log1)
  assert.deepEqual(seen, [Buffer.from('hello id'), Buffer.from('whatever id')])
})

test('without an application identity a node carries its writer key', async (t) => {
  const log = await createLog(t)
  const node = await log.add(null, 'x')
  assert.deepEqual(node.identity, Buffer.from(node.log, 'hex'))
  assert.equal(node.signature, null)
})
