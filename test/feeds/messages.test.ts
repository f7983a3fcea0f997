/**
 * The channel's byte layouts (src/feeds/messages.ts), pinned by golden bytes, and the decoders'
 * refusals: a peer's bytes never decode into a claim the layout does not allow.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import c from 'compact-encoding'
import {
  MAX_MANIFEST_BYTES,
  MAX_TREE_NODES,
  OFFER_BYTES,
  OfferList,
  PROTOCOL_VERSION,
  addEncoding,
  decodeBlockRecord,
  decodeFeedRecord,
  encodeBlockRecord,
  decodePreamble,
  encodeFeedRecord,
  encodePreamble,
  helloEncoding,
  leafEncoding,
  settledEncoding,
  splitEncoding,
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

test('channel version 6', () => {
  assert.equal(PROTOCOL_VERSION, 6)
})

test('preamble: magic, version, role (3 = on the connection), nonce; another version is refused', () => {
  const nonce = Buffer.alloc(32, 0xee)
  const bytes = encodePreamble({ version: 6, role: 'connection', nonce })
  assert.equal(bytes.toString('hex'), Buffer.from('kpdb').toString('hex') + '0603' + 'ee'.repeat(32))
  assert.deepEqual(decodePreamble(bytes), { version: 6, role: 'connection', nonce })
  const older = encodePreamble({ version: 5, role: 'negotiate', nonce })
  assert.throws(
    () => decodePreamble(older),
    (err: unknown) => (err as { code?: string }).code === 'ERR_VERSION_MISMATCH',
  )
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

test('hello: version, mode, the summary of the offers (count, 16-byte digest)', () => {
  const summary = { count: 300, digest: Buffer.alloc(16, 0xcc) }
  const bytes = Buffer.from(c.encode(helloEncoding, { version: 6, mode: 'pull', summary }))
  assert.equal(bytes.toString('hex'), '0602' + 'fd2c01' + 'cc'.repeat(16))
  const back = c.decode(helloEncoding, bytes)
  assert.equal(back.version, 6)
  assert.equal(back.mode, 'pull')
  assert.deepEqual(back.summary, summary)
})

test('a hello of another version decodes to its version alone (refused with ERR_VERSION_MISMATCH)', () => {
  const back = c.decode(helloEncoding, Buffer.from('03020001' + 'aa'.repeat(80), 'hex'))
  assert.equal(back.version, 3)
})

test('split, settled and leaf: key ranges by hex-digit prefix', () => {
  const children = Array.from({ length: 16 }, (_, i) => ({ count: i, digest: Buffer.alloc(16, i) }))
  const split = Buffer.from(
    c.encode(splitEncoding, { range: { depth: 3, prefix: Buffer.from('abc0', 'hex') }, children }),
  )
  assert.equal(
    split.toString('hex'),
    '03' + 'abc0' + children.map((child, i) => '0' + i.toString(16) + child.digest.toString('hex')).join(''),
  )
  assert.deepEqual(c.decode(splitEncoding, split).children, children)
  const settled = Buffer.from(
    c.encode(settledEncoding, {
      ranges: [
        { depth: 0, prefix: Buffer.alloc(0) },
        { depth: 2, prefix: Buffer.from('7f', 'hex') },
      ],
    }),
  )
  assert.equal(settled.toString('hex'), '02' + '00' + '027f')
  const leaf = Buffer.from(
    c.encode(leafEncoding, {
      range: { depth: 1, prefix: Buffer.from('a0', 'hex') },
      reply: true,
      feeds: OfferList.of([offer]),
    }),
  )
  assert.equal(leaf.toString('hex').slice(0, 8), '01a00101')
  const back = c.decode(leafEncoding, leaf)
  assert.equal(back.reply, true)
  assert.deepEqual(back.feeds.at(0), offer)
  // A range deeper than a key, or with bits past its depth, is refused.
  assert.throws(() => c.decode(settledEncoding, Buffer.from('0141' + '00'.repeat(33), 'hex')), {
    code: 'ERR_PROTOCOL',
  })
  assert.throws(() => c.decode(settledEncoding, Buffer.from('0101ab', 'hex')), { code: 'ERR_PROTOCOL' })
})

test('feed index record v2: key, flags, name, blocks, length, signed length, tree hash', () => {
  const record = {
    key: Buffer.alloc(32, 1),
    name: 'w',
    state: { blocks: 2, length: 100, signedLength: 2, treeHash: Buffer.alloc(32, 2) },
    open: true,
  }
  const bytes = encodeFeedRecord(record)
  assert.equal(
    bytes.toString('hex'),
    '02' + '01'.repeat(32) + '03' + '0177' + '02' + '64' + '02' + '02'.repeat(32),
  )
  assert.deepEqual(decodeFeedRecord(bytes), record)
  const remote = { ...record, name: null, open: false }
  assert.deepEqual(decodeFeedRecord(encodeFeedRecord(remote)), remote)
  assert.throws(() => decodeFeedRecord(Buffer.concat([bytes, Buffer.from([0])])), { code: 'ERR_STORAGE' })
})

test('feed index record v3 (a sparse feed): the v2 fields, then start block and start seq', () => {
  const record = {
    key: Buffer.alloc(32, 1),
    name: null,
    state: { blocks: 20, length: 20, signedLength: 20, treeHash: Buffer.alloc(32, 2) },
    open: false,
    sparse: { block: 12, start: 12 },
  }
  const bytes = encodeFeedRecord(record)
  assert.equal(
    bytes.toString('hex'),
    '03' + '01'.repeat(32) + '00' + '14' + '14' + '14' + '02'.repeat(32) + '0c' + '0c',
  )
  assert.deepEqual(decodeFeedRecord(bytes), record)
  // Without `sparse` the record stays version 2, byte for byte.
  const { sparse: _, ...whole } = record
  assert.equal(encodeFeedRecord(whole)[0], 2)
  // A start no sparse feed can have, or a named (local writer) sparse record, is refused.
  for (const bad of [
    { ...record, sparse: { block: 0, start: 0 } },
    { ...record, sparse: { block: 12, start: 11 } },
    { ...record, sparse: { block: 21, start: 21 } },
    { ...record, name: 'w' },
  ]) {
    assert.throws(() => decodeFeedRecord(encodeFeedRecord(bad)), { code: 'ERR_STORAGE' })
  }
  assert.throws(() => decodeFeedRecord(Buffer.concat([bytes, Buffer.from([0])])), { code: 'ERR_STORAGE' })
  assert.throws(() => decodeFeedRecord(bytes.subarray(0, bytes.length - 1)), { code: 'ERR_STORAGE' })
})

test('block record v1: key, flags (bit 0: dropped)', () => {
  const record = { key: Buffer.alloc(32, 7), drop: true }
  const bytes = encodeBlockRecord(record)
  assert.equal(bytes.toString('hex'), '01' + '07'.repeat(32) + '01')
  assert.deepEqual(decodeBlockRecord(bytes), record)
  assert.equal(encodeBlockRecord({ ...record, drop: false }).toString('hex'), '01' + '07'.repeat(32) + '00')
  assert.throws(() => decodeBlockRecord(Buffer.concat([bytes, Buffer.from([0])])), { code: 'ERR_STORAGE' })
  assert.throws(() => decodeBlockRecord(Buffer.from('02' + '07'.repeat(32) + '00', 'hex')), {
    code: 'ERR_STORAGE',
  })
  assert.throws(() => decodeBlockRecord(Buffer.from('01', 'hex')), { code: 'ERR_STORAGE' })
})

test('tree request (flags bit 0: with the manifest) and tree proof (the manifest last)', () => {
  const request = { key: Buffer.alloc(32, 1), length: 300, manifest: false }
  const bytes0 = Buffer.from(c.encode(treeRequestEncoding, request))
  assert.equal(bytes0.toString('hex'), '01'.repeat(32) + 'fd2c01' + '00')
  assert.deepEqual(c.decode(treeRequestEncoding, bytes0), request)
  const withManifest = Buffer.from(c.encode(treeRequestEncoding, { ...request, manifest: true }))
  assert.equal(withManifest.toString('hex'), '01'.repeat(32) + 'fd2c01' + '01')
  assert.equal(c.decode(treeRequestEncoding, withManifest).manifest, true)
  const unknownFlags = Buffer.from('01'.repeat(32) + 'fd2c01' + '02', 'hex')
  assert.throws(() => c.decode(treeRequestEncoding, unknownFlags), { code: 'ERR_PROTOCOL' })
  const tree = {
    key: Buffer.alloc(32, 2),
    length: 2,
    fork: 0,
    nodes: [{ index: 1, size: 10, hash: Buffer.alloc(32, 3) }],
    additionalNodes: [],
    signature: Buffer.alloc(64, 4),
    manifest: Buffer.alloc(3, 5),
  }
  const bytes = Buffer.from(c.encode(treeEncoding, tree))
  assert.equal(
    bytes.toString('hex'),
    '02'.repeat(32) +
      '02' +
      '00' +
      '01' +
      '01' +
      '0a' +
      '03'.repeat(32) +
      '00' +
      '40' +
      '04'.repeat(64) +
      '03' +
      '05'.repeat(3),
  )
  assert.deepEqual(c.decode(treeEncoding, bytes), tree)
  const empty = Buffer.from(c.encode(treeEncoding, { ...tree, manifest: Buffer.alloc(0) }))
  assert.equal(empty.subarray(-1).toString('hex'), '00')
  const huge = Buffer.concat([
    bytes.subarray(0, bytes.byteLength - 4),
    Buffer.from(c.encode(c.uint, MAX_MANIFEST_BYTES + 1)),
    Buffer.alloc(MAX_MANIFEST_BYTES + 1),
  ])
  assert.throws(() => c.decode(treeEncoding, huge), { code: 'ERR_PROTOCOL' })
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
