// hyperlog's test/hash.js, plus the README vectors and the node entry format.
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import test from 'node:test'
import { defaultHash, framedHash, type AsyncHashFunction, type PreaddNode } from '../../src/hyperlog/index.js'
import { decodeEntry, encodeEntry } from '../../src/hyperlog/messages.js'
import type { NodeHash } from '../../src/hyperlog/index.js'
import { createLog } from '../helpers/hyperlog.js'

const sha1 = framedHash('sha1')

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
function base58(bytes: Buffer): string {
  let n = BigInt('0x' + bytes.toString('hex'))
  let out = ''
  while (n > 0n) {
    out = BASE58[Number(n % 58n)] + out
    n /= 58n
  }
  for (const byte of bytes) {
    if (byte !== 0) break
    out = '1' + out
  }
  return out
}

/** The original test's asyncSha2: base58 sha2-256 multihash of value + links, on the next tick. */
const asyncSha2: AsyncHashFunction = (links, value, cb) => {
  process.nextTick(() => {
    const prevalue = value.toString() + links.join('')
    const digest = createHash('sha256').update(prevalue).digest()
    cb(null, base58(Buffer.concat([Buffer.from([0x12, 0x20]), digest])))
  })
}

test('default hash: the README and original hyperlog vectors', () => {
  assert.equal(
    defaultHash([], Buffer.from('hello world')),
    'c44296d0fbdcaf1dca0082886a8913d961b04a2a85029e7e2d0420025af10192',
  )
  const hello = defaultHash([], Buffer.from('hello'))
  assert.equal(hello, '8c7efb22472592f561a7a7647f8c5ee93134880b4ca0c92889a61848cd5c4602')
  assert.equal(
    defaultHash([hello], Buffer.from('world')),
    '5f5e63be98841981a12b6041e4200677851714ec4305d13a3ee30197439ff193',
  )
  // hyperkv's put('greeting', 'hello') then put('greeting', 'beep boop') linking it.
  const put1 = defaultHash([], Buffer.from(JSON.stringify({ k: 'greeting', v: 'hello' })))
  assert.equal(put1, '1f1b819cd3f7d379914037b473a855b7867f71c76126e379c91cbb31df2a859b')
  assert.equal(
    defaultHash([put1], Buffer.from(JSON.stringify({ k: 'greeting', v: 'beep boop' }))),
    'eadb22a224313d5fb5b811e50915f16491e7714dd32b83503c1e1a1db2bd9e9b',
  )
  // Framing: moving a byte between parts changes the hash; so does the order of links.
  assert.notEqual(defaultHash(['ab'], Buffer.from('c')), defaultHash(['a'], Buffer.from('bc')))
  assert.notEqual(defaultHash(['a', 'b'], Buffer.alloc(0)), defaultHash(['b', 'a'], Buffer.alloc(0)))
})

test('a node added to a log gets the default hash', async (t) => {
  const log = await createLog(t)
  const node = await log.add(null, 'hello world')
  assert.equal(node.key, 'c44296d0fbdcaf1dca0082886a8913d961b04a2a85029e7e2d0420025af10192')
  const json = await createLog(t, { valueEncoding: 'json' })
  const a = await json.add(null, { k: 'greeting', v: 'hello' })
  const b = await json.add([a], { k: 'greeting', v: 'beep boop' })
  assert.equal(a.key, '1f1b819cd3f7d379914037b473a855b7867f71c76126e379c91cbb31df2a859b')
  assert.equal(b.key, 'eadb22a224313d5fb5b811e50915f16491e7714dd32b83503c1e1a1db2bd9e9b')
  assert.equal(await json.hash([a.key], { k: 'greeting', v: 'beep boop' }), b.key)
})

test('add node using sha1', async (t) => {
  const log = await createLog(t, { hash: sha1 })
  const node = await log.add(null, 'hello world')
  assert.equal(node.key, '99cf70777a24b574b8fb5b3173cd4073f02098b0')
})

test('add node with links using sha1', async (t) => {
  const log = await createLog(t, { hash: sha1 })
  const node = await log.add(null, 'hello')
  assert.equal(node.key, '445198669b880239a7e64247ed303066b398678b')
  const node2 = await log.add(node, 'world')
  assert.equal(node2.key, '1d95837842db3995fb3e77ed070457eb4f9875bc')
  assert.deepEqual(node2.links, [node.key])
})

test('add node using async multihash', async (t) => {
  const log = await createLog(t, { asyncHash: asyncSha2 })
  const node = await log.add(null, 'hello world')
  assert.equal(node.key, 'QmaozNR7DZHQK1ZcU9p7QdrshMvXqWK6gpu5rmrkPdT3L4')
})

test('add node with links using async multihash', async (t) => {
  const log = await createLog(t, { asyncHash: asyncSha2 })
  const node = await log.add(null, 'hello')
  assert.equal(node.key, 'QmRN6wdp1S2A5EtjW9A3M1vKSBuQQGcgvuhoMUoEz4iiT5')
  const node2 = await log.add(node, 'world')
  assert.equal(node2.key, 'QmVeZeqV6sbzeDyzhxFHwBLddaQzUELCxLjrQVzfBuDrt8')
  const node3 = await log.add([node, node2], '!!!')
  assert.equal(node3.key, 'QmNs89mwydjboQGpvcK2F3hyKjSmdqQTqDWmRMsAQnL4ZU')
  // Non-hex links round-trip through the log and the index.
  assert.deepEqual((await log.get(node3.key)).links, [node.key, node2.key])
})

test('preadd event with async hash', async (t) => {
  const log = await createLog(t, { asyncHash: asyncSha2 })
  let prenode: PreaddNode | null = null
  log.on('preadd', (node) => (prenode = node))
  const added = log.add(null, 'hello world')
  assert.ok(prenode)
  assert.equal((prenode as PreaddNode).key, null)
  assert.equal((await added).key, 'QmaozNR7DZHQK1ZcU9p7QdrshMvXqWK6gpu5rmrkPdT3L4')
})

test('a failing hash hook rejects the add', async (t) => {
  const boom = new Error('no hash')
  const log = await createLog(t, {
    asyncHash: (_links, _value, cb) => cb(boom),
  })
  await assert.rejects(log.add(null, 'x'), (err) => err === boom)
  assert.equal(log.changes, 0)
})

test('node entries round-trip: hex links as raw bytes, other links as strings', () => {
  const hex = defaultHash([], Buffer.from('a')) as NodeHash
  const entry = {
    links: [hex, 'QmNotHex' as NodeHash, hex.toUpperCase() as NodeHash],
    value: Buffer.from('value'),
    identity: Buffer.from('id'),
    signature: Buffer.from('sig'),
  }
  const bytes = encodeEntry(entry)
  assert.deepEqual(decodeEntry(bytes), entry)
  const bare = { links: [], value: Buffer.alloc(0), identity: null, signature: null }
  assert.deepEqual(decodeEntry(encodeEntry(bare)), bare)
  // A raw hex link costs 33 bytes, not 65.
  const one = encodeEntry({ links: [hex], value: Buffer.alloc(0), identity: null, signature: null })
  assert.ok(one.byteLength < 40)
  // Not an entry, or truncated: null, never a throw.
  assert.equal(decodeEntry(Buffer.from('{"k":1}')), null)
  assert.equal(decodeEntry(bytes.subarray(0, bytes.byteLength - 2)), null)
  assert.equal(decodeEntry('text'), null)
})
