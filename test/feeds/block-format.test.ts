/**
 * The block format inside every writer's Hypercore (src/feeds/messages.ts, "Blocks"), pinned by
 * golden bytes: a change of it would make every stored and replicated feed unreadable. Also how
 * entries are packed into blocks, and the decoder's refusals.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  BLOCK_VERSION,
  MAX_BLOCK_BYTES,
  MAX_BLOCK_ENTRIES,
  decodeBlock,
  decodeBlockHeader,
  encodeBlocks,
} from '../../src/feeds/messages.js'

test('a block: version, first seq, count, then each entry as length and bytes', () => {
  const [block, ...rest] = encodeBlocks(300, [Buffer.from('"a"'), Buffer.from(''), Buffer.from('[1]')])
  assert.equal(rest.length, 0)
  assert.equal(BLOCK_VERSION, 1)
  assert.equal(block!.toString('hex'), '01' + 'fd2c01' + '03' + '03226122' + '00' + '035b315d')
  assert.deepEqual(decodeBlockHeader(block!), { first: 300, count: 3 })
  const decoded = decodeBlock(block!)
  assert.deepEqual(
    decoded.entries.map((e) => Buffer.from(e).toString()),
    ['"a"', '', '[1]'],
  )
})

test('entries are packed by count and by bytes; an entry larger than the byte bound goes alone', () => {
  const small = Array.from({ length: MAX_BLOCK_ENTRIES + 1 }, () => Buffer.from('1'))
  const byCount = encodeBlocks(0, small)
  assert.deepEqual(
    byCount.map((b) => decodeBlockHeader(b)),
    [
      { first: 0, count: MAX_BLOCK_ENTRIES },
      { first: MAX_BLOCK_ENTRIES, count: 1 },
    ],
  )
  const large = Buffer.alloc(MAX_BLOCK_BYTES + 1)
  const bySize = encodeBlocks(7, [Buffer.from('1'), large, Buffer.from('2')])
  assert.deepEqual(
    bySize.map((b) => decodeBlockHeader(b)),
    [
      { first: 7, count: 1 },
      { first: 8, count: 1 },
      { first: 9, count: 1 },
    ],
  )
})

test('a block of another version, an empty block, a truncated or padded one: coded errors', () => {
  const good = encodeBlocks(0, [Buffer.from('"x"')])[0]!
  const cases: Array<[string, Buffer, string]> = [
    ['another version', Buffer.concat([Buffer.from([2]), good.subarray(1)]), 'ERR_VERSION_MISMATCH'],
    ['no entries', Buffer.from('010000', 'hex'), 'ERR_PROTOCOL'],
    ['truncated', good.subarray(0, good.byteLength - 1), 'ERR_PROTOCOL'],
    ['trailing bytes', Buffer.concat([good, Buffer.from([0])]), 'ERR_PROTOCOL'],
    ['nothing', Buffer.alloc(0), 'ERR_PROTOCOL'],
  ]
  for (const [what, bytes, code] of cases) {
    assert.throws(() => decodeBlock(bytes), { code }, what)
  }
})
