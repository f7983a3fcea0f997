/**
 * The hyperlog layer's byte layouts (src/hyperlog/messages.ts), pinned by golden bytes: the feed
 * entry every replica hashes and replicates, the DAG index's records and keys, the outbox. A test
 * here fails when an encoding changes by accident; a deliberate change updates the bytes here and
 * bumps DAG_VIEW_VERSION (stored records) or ENTRY_FORMAT (entries).
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { FeedKey } from '../../src/feeds/types.js'
import { DAG_VIEW_VERSION } from '../../src/hyperlog/dag-view.js'
import {
  ANCHORED_KEY,
  DUE_ANCHORS_RANGE,
  ENTRY_FORMAT,
  copiesRange,
  dueAnchorKey,
  changeKey,
  decodeChangeRun,
  decodeEntry,
  decodeNodeRecord,
  decodeOutboxRecord,
  decodeUintRecord,
  encodeChangeRun,
  encodeEntry,
  encodeNodeRecord,
  encodeOutboxRecord,
  encodeUintRecord,
  fromLexHex,
  headKey,
  lexHex,
  markerKey,
  memberKey,
  copyKey,
  hashOfCopyKey,
  hashOfHeadKey,
  hiddenKey,
  membersRange,
  nodeKey,
  waitingKey,
} from '../../src/hyperlog/messages.js'
import type { NodeHash } from '../../src/hyperlog/types.js'

const repeat = (byte: number, n = 32) => byte.toString(16).padStart(2, '0').repeat(n)
const hash = (byte: number) => repeat(byte) as NodeHash
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')

test('versions: entry format 0x68, DAG view version 2', () => {
  assert.equal(ENTRY_FORMAT, 0x68)
  assert.equal(DAG_VIEW_VERSION, 2)
})

test('a feed entry: format, flags, links (a hex hash as 32 bytes, any other as utf-8), value, identity, signature', () => {
  const plain = { links: [], value: Buffer.from('v'), identity: null, signature: null }
  assert.equal(hex(encodeEntry(plain)), '68' + '00' + '00' + '0176')
  assert.deepEqual(decodeEntry(encodeEntry(plain)), plain)
  const full = {
    links: [hash(0xab), 'sha1-x' as NodeHash],
    value: Buffer.from('{"k":"a"}'),
    identity: Buffer.from('me'),
    signature: Buffer.from([1, 2, 3]),
  }
  assert.equal(
    hex(encodeEntry(full)),
    '68' +
      '03' +
      '02' +
      '00' +
      repeat(0xab) +
      '06' +
      hex(Buffer.from('sha1-x')) +
      '09' +
      hex(Buffer.from('{"k":"a"}')) +
      '02' +
      hex(Buffer.from('me')) +
      '03010203',
  )
  assert.deepEqual(decodeEntry(encodeEntry(full)), full)
})

test('an anchor: flag bit 2, the node entry otherwise verbatim; unknown flag bits are not an entry', () => {
  const anchor = {
    links: [hash(0xab)],
    value: Buffer.from('v'),
    identity: null,
    signature: null,
    anchor: true as const,
  }
  assert.equal(hex(encodeEntry(anchor)), '68' + '04' + '01' + '00' + repeat(0xab) + '0176')
  assert.deepEqual(decodeEntry(encodeEntry(anchor)), anchor)
  assert.equal(decodeEntry(Buffer.from('6808000176', 'hex')), null)
  assert.equal(decodeEntry(Buffer.from('6880010000', 'hex')), null)
})

test('a node record: feed key, seq, change, then the entry verbatim', () => {
  const feed = repeat(0x11) as FeedKey
  const entry = encodeEntry({ links: [], value: Buffer.from('v'), identity: null, signature: null })
  const bytes = encodeNodeRecord(feed, 300, 70000, entry)
  assert.equal(hex(bytes), repeat(0x11) + 'fd2c01' + 'fe70110100' + '6800000176')
  const back = decodeNodeRecord(bytes)
  assert.deepEqual([back.feed, back.seq, back.change, hex(back.entryBytes)], [feed, 300, 70000, hex(entry)])
})

test('a change run: packed default hashes (1, 32 bytes each), or links (0)', () => {
  const packed = encodeChangeRun([hash(1), hash(2)])
  assert.equal(hex(packed), '01' + repeat(1) + repeat(2))
  assert.deepEqual(decodeChangeRun(packed), [hash(1), hash(2)])
  const mixed = encodeChangeRun([hash(1), 'custom' as NodeHash])
  assert.equal(hex(mixed), '00' + '02' + '00' + repeat(1) + '06' + hex(Buffer.from('custom')))
  assert.deepEqual(decodeChangeRun(mixed), [hash(1), 'custom'])
})

test('an outbox record (entries as buffers) and a uint record', () => {
  const record = encodeOutboxRecord([Buffer.from('6800000176', 'hex'), Buffer.from('xy')])
  assert.equal(hex(record), '02' + '05' + '6800000176' + '02' + hex(Buffer.from('xy')))
  assert.deepEqual(decodeOutboxRecord(record).map(hex), ['6800000176', hex(Buffer.from('xy'))])
  assert.equal(hex(encodeUintRecord(300)), 'fd2c01')
  assert.equal(decodeUintRecord(encodeUintRecord(300), 'a count'), 300)
})

test('keys of the DAG index: lexint hex change numbers, prefixed hashes', () => {
  const golden: [number, string][] = [
    [0, '00'],
    [250, 'fa'],
    [251, 'fb00'],
    [300, 'fc0031'],
    [65791, 'fd010004'],
    [0x1000000, 'fe00ffff05'],
  ]
  for (const [n, h] of golden) {
    assert.equal(lexHex(n), h, String(n))
    assert.equal(fromLexHex(h), n)
  }
  assert.equal(changeKey(300), 'c!fc0031')
  assert.deepEqual(
    [nodeKey('ab'), headKey('ab'), waitingKey('ab'), markerKey('ab'), memberKey('ab', 'cd')],
    ['n!ab', 'h!ab', 'w!ab', 'm!ab', 'm!ab!cd'],
  )
  assert.deepEqual(membersRange('ab'), { gt: 'm!ab!', lt: 'm!ab"' })
  assert.equal(copyKey('a!b', 'cd'), 'y!a!b!cd')
  assert.equal(hashOfCopyKey('y!a!b!cd'), 'a!b')
  assert.equal(hashOfHeadKey('h!ab'), 'ab')
  assert.equal(hiddenKey('cd'), 'x!cd')
  assert.equal(dueAnchorKey('ab'), 'a!ab')
  assert.deepEqual(copiesRange('a!b'), { gt: 'y!a!b!', lt: 'y!a!b"' })
  assert.deepEqual([ANCHORED_KEY, DUE_ANCHORS_RANGE], ['A', { gt: 'a!', lt: 'a"' }])
})
