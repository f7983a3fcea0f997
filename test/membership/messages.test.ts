/**
 * The membership record layout (src/membership/messages.ts), pinned by golden bytes, and the
 * reader's refusals: bytes this version cannot read are no record, never a guess.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { RECORD_VERSION, encodeRecord, readRecord } from '../../src/membership/messages.js'
import type { MembershipOp, WriterKey } from '../../src/membership/types.js'

const key = (byte: string) => byte.repeat(32) as WriterKey

const add: MembershipOp = { type: 'add', member: key('aa'), role: 'admin' }
const remove: MembershipOp = {
  type: 'remove',
  member: key('bb'),
  upTo: 3,
  treeHash: Buffer.alloc(32, 0xcc),
  logUpTo: 300,
  logTreeHash: Buffer.alloc(32, 0xdd),
}

test('record version 1', () => {
  assert.equal(RECORD_VERSION, 1)
})

test('an add: version, type 1, member, role', () => {
  assert.equal(encodeRecord(add).toString('hex'), '0101' + 'aa'.repeat(32) + '02')
  const writer = encodeRecord({ ...add, role: 'writer' })
  assert.equal(writer.toString('hex'), '0101' + 'aa'.repeat(32) + '01')
  assert.deepEqual(readRecord(encodeRecord(add)), { state: 'record', op: add })
})

test('a removal: version, type 2, member, upTo, tree hash, logUpTo, log tree hash', () => {
  const bytes = encodeRecord(remove)
  assert.equal(
    bytes.toString('hex'),
    '0102' + 'bb'.repeat(32) + '03' + 'cc'.repeat(32) + 'fd2c01' + 'dd'.repeat(32),
  )
  assert.deepEqual(readRecord(bytes), { state: 'record', op: remove })
})

test('bytes this version cannot read are no record', () => {
  const good = encodeRecord(add)
  const other = Buffer.from(good)
  other[0] = 2
  assert.deepEqual(readRecord(other), { state: 'unreadable', reason: 'version' })
  const malformed = [
    Buffer.alloc(0),
    Buffer.concat([good, Buffer.from([0])]), // trailing byte
    good.subarray(0, good.length - 1), // cut short
    Buffer.from('0103' + 'aa'.repeat(32) + '02', 'hex'), // unknown type
    Buffer.from('0101' + 'aa'.repeat(32) + '03', 'hex'), // unknown role
    Buffer.from(
      '0102' + 'bb'.repeat(32) + 'ff' + 'ffffffffffffffff' + 'cc'.repeat(32) + '00' + 'dd'.repeat(32),
      'hex',
    ), // 2^64-1
  ]
  for (const bytes of malformed)
    assert.deepEqual(readRecord(bytes), { state: 'unreadable', reason: 'malformed' })
})

test('encoding refuses a malformed op', () => {
  assert.throws(() => encodeRecord({ ...add, member: 'AA'.repeat(32) as WriterKey }), TypeError)
  assert.throws(() => encodeRecord({ ...remove, treeHash: Buffer.alloc(31) } as MembershipOp), TypeError)
  assert.throws(() => encodeRecord({ ...remove, upTo: -1 } as MembershipOp), TypeError)
})
