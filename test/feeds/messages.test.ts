/**
 * The channel's byte layouts (src/feeds/messages.ts), pinned by golden bytes, and the decoders'
 * refusals: a peer's bytes never decode into a claim the layout does not allow.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import c from 'compact-encoding'
import {
  MAX_TREE_NODES,
  OFFER_BYTES,
  OfferList,
  PROTOCOL_VERSION,
  addEncoding,
  helloEncoding,
  treeEncoding,
  treeRequestEncoding,
  type FeedOffer,
} from '../../src/feeds/messages.js'

const offer: FeedOffer = {
  key: Buffer.alloc(32, 0xaa),
  treeHash: Buffer.alloc(32, 0xbb),
  length: 3,
  signedLength: 2 ** 40 + 5,
}

test('channel version 3', () => {
  assert.equal(PROTOCOL_VERSION, 3)
})

test('an offer is an 80-byte record: key, tree hash, length and signed length as uint64 LE', () => {
  const bytes = Buffer.from(c.encode(addEncoding, { feeds: OfferList.of([offer]) }))
  assert.equal(OFFER_BYTES, 80)
  assert.equal(
    bytes.toString('hex'),
    '01' + 'aa'.repeat(32) + 'bb'.repeat(32) + '0300000000000000' + '0500000000010000',
  )
  const back = c.decode(addEncoding, bytes).feeds
  assert.equal(back.count, 1)
  assert.deepEqual(back.at(0), offer)
})

test('hello: version, mode, offers', () => {
  const bytes = Buffer.from(c.encode(helloEncoding, { version: 3, mode: 'pull', feeds: OfferList.of([]) }))
  assert.equal(bytes.toString('hex'), '030200')
  const back = c.decode(helloEncoding, bytes)
  assert.equal(back.version, 3)
  assert.equal(back.mode, 'pull')
  assert.equal(back.feeds.count, 0)
})

test('tree request and tree proof', () => {
  const request = Buffer.from(c.encode(treeRequestEncoding, { key: Buffer.alloc(32, 1), length: 300 }))
  assert.equal(request.toString('hex'), '01'.repeat(32) + 'fd2c01')
  const tree = {
    key: Buffer.alloc(32, 2),
    length: 2,
    fork: 0,
    nodes: [{ index: 1, size: 10, hash: Buffer.alloc(32, 3) }],
    additionalNodes: [],
    signature: Buffer.alloc(64, 4),
  }
  const bytes = Buffer.from(c.encode(treeEncoding, tree))
  assert.equal(
    bytes.toString('hex'),
    '02'.repeat(32) + '02' + '00' + '01' + '01' + '0a' + '03'.repeat(32) + '00' + '40' + '04'.repeat(64),
  )
  assert.deepEqual(c.decode(treeEncoding, bytes), tree)
})

test('decoding refuses what the layout does not allow, before building any offer', () => {
  const record = (length: Buffer, signed: Buffer) =>
    Buffer.concat([Buffer.from([1]), Buffer.alloc(64, 7), length, signed])
  const uint64 = (n: number) => {
    const b = Buffer.alloc(8)
    b.writeBigUInt64LE(BigInt(n))
    return b
  }
  const cases: Array<[string, Buffer]> = [
    [
      'more offers claimed than bytes sent',
      Buffer.concat([Buffer.from([0xfd, 0x10, 0x27]), Buffer.alloc(80)]),
    ],
    ['a length above the signed length', record(uint64(5), uint64(4))],
    ['a length beyond 2^53', record(uint64(1), Buffer.alloc(8, 0xff))],
  ]
  for (const [what, bytes] of cases) {
    assert.throws(() => c.decode(addEncoding, bytes), { code: 'ERR_PROTOCOL' }, what)
  }
  const tooMany = Buffer.concat([
    Buffer.alloc(32),
    Buffer.from([1, 0]),
    Buffer.from(c.encode(c.uint, MAX_TREE_NODES + 1)),
  ])
  assert.throws(() => c.decode(treeEncoding, tooMany), { code: 'ERR_PROTOCOL' })
})
