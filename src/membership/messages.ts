/**
 * Every byte layout of membership: one record is one entry of an admin's membership log.
 *
 *   version: uint8  (= RECORD_VERSION)
 *   type:    uint8  1 = add, 2 = remove
 *   member:  fixed32 the writer key the record is about
 *   add:     role uint8 (1 = writer, 2 = admin)
 *   remove:  upTo uint, treeHash fixed32, logUpTo uint, logTreeHash fixed32
 *
 * Nothing may follow. A record this version cannot read (another version, a type or role it does
 * not know, bad lengths, trailing bytes) counts as no record: its author signed it, so it stays in
 * the log, but it has no effect.
 */
import c from 'compact-encoding'
import type { MembershipOp, Role, WriterKey } from './types.js'

type State = ReturnType<typeof c.state>

export const RECORD_VERSION = 1

const ADD = 1
const REMOVE = 2
const ROLE_CODES: Record<Role, number> = { writer: 1, admin: 2 }
const ROLES: ReadonlyMap<number, Role> = new Map([
  [1, 'writer'],
  [2, 'admin'],
])

/** The result of reading a record's bytes. */
export type ReadRecord =
  { state: 'record'; op: MembershipOp } | { state: 'unreadable'; reason: 'version' | 'malformed' }

const HEX_KEY = /^[0-9a-f]{64}$/

/** The 32 bytes of a writer key; throws on anything but 64 lowercase hex characters. */
export function writerKeyBytes(key: WriterKey): Buffer {
  if (!HEX_KEY.test(key)) throw new TypeError('a writer key is 64 lowercase hex characters')
  return Buffer.from(key, 'hex')
}

function hash32(hash: Buffer): Buffer {
  if (hash.byteLength !== 32) throw new TypeError('a tree hash is 32 bytes')
  return hash
}

function count(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new TypeError('a length is a non-negative safe integer')
  return n
}

const opEncoding = {
  preencode(state: State, op: MembershipOp) {
    state.end += 2 + 32
    if (op.type === 'add') state.end += 1
    else {
      c.uint.preencode(state, count(op.upTo))
      state.end += 32
      c.uint.preencode(state, count(op.logUpTo))
      state.end += 32
    }
  },
  encode(state: State, op: MembershipOp) {
    c.uint8.encode(state, RECORD_VERSION)
    c.uint8.encode(state, op.type === 'add' ? ADD : REMOVE)
    c.fixed32.encode(state, writerKeyBytes(op.member))
    if (op.type === 'add') c.uint8.encode(state, ROLE_CODES[op.role])
    else {
      c.uint.encode(state, op.upTo)
      c.fixed32.encode(state, hash32(op.treeHash))
      c.uint.encode(state, op.logUpTo)
      c.fixed32.encode(state, hash32(op.logTreeHash))
    }
  },
  /** Throws on a record of another version or a layout this version does not know. */
  decode(state: State): MembershipOp {
    if (c.uint8.decode(state) !== RECORD_VERSION) throw new RangeError('another record version')
    const type = c.uint8.decode(state)
    const member = Buffer.from(c.fixed32.decode(state)).toString('hex') as WriterKey
    if (type === ADD) {
      const role = ROLES.get(c.uint8.decode(state))
      if (role === undefined) throw new RangeError('unknown role')
      return { type: 'add', member, role }
    }
    if (type !== REMOVE) throw new RangeError('unknown record type')
    const upTo = safe(c.uint.decode(state))
    const treeHash = Buffer.from(c.fixed32.decode(state))
    const logUpTo = safe(c.uint.decode(state))
    const logTreeHash = Buffer.from(c.fixed32.decode(state))
    return { type: 'remove', member, upTo, treeHash, logUpTo, logTreeHash }
  },
}

function safe(n: number): number {
  if (!Number.isSafeInteger(n)) throw new RangeError('length beyond 2^53')
  return n
}

/** The bytes of a record; throws TypeError on a malformed op (nothing to store). */
export function encodeRecord(op: MembershipOp): Buffer {
  return Buffer.from(c.encode(opEncoding, op))
}

/** Reads a record's bytes; never throws. */
export function readRecord(bytes: Uint8Array): ReadRecord {
  if (bytes.byteLength < 1) return { state: 'unreadable', reason: 'malformed' }
  if (bytes[0] !== RECORD_VERSION) return { state: 'unreadable', reason: 'version' }
  try {
    const state = c.state(0, bytes.byteLength, bytes)
    const op = opEncoding.decode(state)
    if (state.start !== state.end) return { state: 'unreadable', reason: 'malformed' }
    return { state: 'record', op }
  } catch {
    return { state: 'unreadable', reason: 'malformed' }
  }
}
