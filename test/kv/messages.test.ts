/**
 * The kv layer's byte layouts (src/kv/messages.ts), pinned by golden bytes: the documents stored
 * as node values (their JSON bytes decide the node hashes, so they are hyperkv's byte for byte)
 * and the register record. A test here fails when an encoding changes by accident.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  decodeDoc,
  decodeRegister,
  encodeDelDoc,
  encodeDoc,
  encodePutDoc,
  encodeRegister,
  type RegisterEntry,
} from '../../src/kv/messages.js'

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex')
const utf8 = (s: string) => hex(Buffer.from(s))

test('documents: fields first, then k and v (or d); a field named like them keeps its place', () => {
  assert.equal(Buffer.from(encodeDoc(encodePutDoc('a', 1))).toString(), '{"k":"a","v":1}')
  assert.equal(Buffer.from(encodeDoc(encodePutDoc('a', 1, { z: 2 }))).toString(), '{"z":2,"k":"a","v":1}')
  assert.equal(
    Buffer.from(encodeDoc(encodePutDoc('a', 1, { k: 'x', z: 2 }))).toString(),
    '{"k":"a","z":2,"v":1}',
  )
  assert.equal(Buffer.from(encodeDoc(encodeDelDoc('a', { d: 'x', z: 2 }))).toString(), '{"d":"a","z":2}')
  assert.deepEqual(decodeDoc(encodeDoc(encodeDelDoc('a'))), { d: 'a' })
})

test('a register: version 2, then per head its type (0 put, 1 del), hash and document (empty: none)', () => {
  const doc = encodeDoc(encodePutDoc('a', 1))
  const heads: RegisterEntry[] = [
    { key: 'a'.repeat(64), type: 'put', doc },
    { key: 'short', type: 'del' },
  ]
  const bytes = encodeRegister(heads)
  assert.equal(
    hex(bytes),
    '02' + '02' + '00' + '40' + utf8('a'.repeat(64)) + '0f' + hex(doc) + '01' + '05' + utf8('short') + '00',
  )
  const back = decodeRegister(bytes)
  assert.deepEqual(
    back.map((h) => [h.key, h.type, h.doc && hex(h.doc)]),
    [
      ['a'.repeat(64), 'put', hex(doc)],
      ['short', 'del', undefined],
    ],
  )
  assert.equal(hex(encodeRegister([])), '0200')
})
