// The command's byte layouts: golden bytes for every local-protocol message and the key files,
// and decoding that refuses anything else with ERR_PROTOCOL (never another error, never a crash).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  FrameReader,
  MAX_FRAME_BYTES,
  decodeClientMessage,
  decodeHolderMessage,
  decodeDatabaseKeyFile,
  decodePeerKey,
  encodeDatabaseKeyFile,
  encodeClientMessage,
  encodeHolderMessage,
  encodePeerKey,
  frame,
  type ClientMessage,
  type HolderMessage,
} from '../../src/cli/messages.js'
import { isKappaError } from '../../src/errors.js'
import { randomGenerator as seededRandom } from '../helpers/kv-random.js'

const CLIENT: Array<[ClientMessage, string]> = [
  [{ type: 'hello', protocol: 'hyperkv-local', version: 1 }, '010d68797065726b762d6c6f63616c01'],
  [
    { type: 'run', argv: ['put', 'k', 'v'], env: { HYPERKV_BOOTSTRAP: '127.0.0.1:1' }, dir: '/d' },
    '020303707574016b0176011148595045524b565f424f4f5453545241500b3132372e302e302e313a31022f64',
  ],
  [{ type: 'stdin', data: Buffer.from('ab') }, '03026162'],
  [{ type: 'stdin-end' }, '04'],
  [{ type: 'signal', signal: 'SIGINT' }, '0501'],
  [{ type: 'signal', signal: 'SIGTERM' }, '0502'],
]

const HOLDER: Array<[HolderMessage, string]> = [
  [{ type: 'welcome', version: 1, pid: 300, holding: 'join x' }, '1001fd2c01066a6f696e2078'],
  [{ type: 'refuse', code: 'ERR_CLOSED', message: 'bye' }, '110a4552525f434c4f53454403627965'],
  [{ type: 'stdout', data: Buffer.from('{}\n') }, '12037b7d0a'],
  [{ type: 'stderr', data: Buffer.from('e') }, '130165'],
  [{ type: 'credit', bytes: 1048576 }, '14fe00001000'],
  [{ type: 'exit', code: 130 }, '1582'],
]

const protocolError = (err: unknown): boolean => isKappaError(err, 'ERR_PROTOCOL')

test('every local message has these bytes, and decodes back to itself', () => {
  for (const [message, hex] of CLIENT) {
    assert.equal(encodeClientMessage(message).toString('hex'), hex, message.type)
    assert.deepEqual(decodeClientMessage(Buffer.from(hex, 'hex')), message)
  }
  for (const [message, hex] of HOLDER) {
    assert.equal(encodeHolderMessage(message).toString('hex'), hex, message.type)
    assert.deepEqual(decodeHolderMessage(Buffer.from(hex, 'hex')), message)
  }
  // A frame: uint32 little-endian length, then the message.
  assert.equal(frame(Buffer.from('04', 'hex')).toString('hex'), '0100000004')
})

test('the peer key file: version 1, then the 64-byte secret key', () => {
  const secret = Buffer.alloc(64, 7)
  const file = encodePeerKey(secret)
  assert.equal(file.toString('hex'), '01' + '07'.repeat(64))
  assert.deepEqual(decodePeerKey(file), secret)
  assert.throws(() => decodePeerKey(file.subarray(1)), protocolError)
  assert.throws(
    () => decodePeerKey(Buffer.concat([Buffer.from([2]), secret])),
    (err: unknown) => isKappaError(err, 'ERR_VERSION_MISMATCH'),
  )
})

test('the database key file: version 1, then the 32-byte key (an open database)', () => {
  const key = Buffer.alloc(32, 0xab)
  const file = encodeDatabaseKeyFile({ key, membership: 'open' })
  assert.equal(file.toString('hex'), '01' + 'ab'.repeat(32))
  assert.deepEqual(decodeDatabaseKeyFile(file), { key, membership: 'open' })
  assert.throws(() => decodeDatabaseKeyFile(file.subarray(1)), protocolError)
  assert.throws(() => decodeDatabaseKeyFile(Buffer.concat([file, Buffer.from([0])])), protocolError)
  assert.throws(
    () => decodeDatabaseKeyFile(Buffer.concat([Buffer.from([3]), key])),
    (err: unknown) => isKappaError(err, 'ERR_VERSION_MISMATCH'),
  )
})

test('the database key file of an owned database: version 2, the key, then 1 (owner: this writer) or 2 and the owner key', () => {
  const key = Buffer.alloc(32, 0xab)
  const self = encodeDatabaseKeyFile({ key, membership: { owner: true } })
  assert.equal(self.toString('hex'), '02' + 'ab'.repeat(32) + '01')
  assert.deepEqual(decodeDatabaseKeyFile(self), { key, membership: { owner: true } })
  const owner = 'cd'.repeat(32)
  const joined = encodeDatabaseKeyFile({ key, membership: { owner } })
  assert.equal(joined.toString('hex'), '02' + 'ab'.repeat(32) + '02' + owner)
  assert.deepEqual(decodeDatabaseKeyFile(joined), { key, membership: { owner } })
  for (const bad of [
    self.subarray(0, 33), // no owner tag
    Buffer.concat([self, Buffer.from([0])]), // trailing byte
    joined.subarray(0, 65), // owner key cut short
    Buffer.concat([joined, Buffer.from([0])]),
    Buffer.concat([self.subarray(0, 33), Buffer.from([3])]), // unknown tag
    Buffer.concat([self.subarray(0, 33), Buffer.from([2])]), // tag 2 without a key
  ]) {
    assert.throws(() => decodeDatabaseKeyFile(bad), protocolError, bad.toString('hex'))
  }
  assert.throws(
    () => encodeDatabaseKeyFile({ key, membership: { owner: 'CD'.repeat(32) } }),
    (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  assert.throws(
    () => encodeDatabaseKeyFile({ key: key.subarray(1), membership: { owner: true } }),
    (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})

test('what is not a message is ERR_PROTOCOL: trailing bytes, unknown types, bad fields', () => {
  const bad = [
    '', // nothing
    '00', // type 0
    '06', // unknown client type
    '0104', // hello cut inside its string
    '010d68797065726b762d6c6f63616c0100', // hello + a trailing byte
    '0503', // unknown signal
    '0500', // signal 0
    '0300', // empty stdin chunk
    '02000101410141022f64', // run: env name "A" is not HYPERKV_*
    '02000000', // run: empty directory
    '02fe00000100', // run: 65,536 arguments claimed
  ]
  for (const hex of bad) assert.throws(() => decodeClientMessage(Buffer.from(hex, 'hex')), protocolError, hex)
  const badHolder = [
    '00', // type 0
    '22', // unknown holder type
    '15fd0001', // exit 256
    '1400', // credit 0
    '1103616263026869', // refuse with a code that is not ERR_…
    '1200', // empty stdout chunk
  ]
  for (const hex of badHolder) {
    assert.throws(() => decodeHolderMessage(Buffer.from(hex, 'hex')), protocolError, hex)
  }
  // The encoders refuse to send what the decoders refuse.
  assert.throws(() => encodeHolderMessage({ type: 'exit', code: 256 }), protocolError)
  assert.throws(
    () => encodeClientMessage({ type: 'run', argv: [], env: { PATH: '/bin' }, dir: '/d' }),
    protocolError,
  )
  assert.throws(() => encodeClientMessage({ type: 'stdin', data: Buffer.alloc(0) }), protocolError)
})

test('frames: split anywhere, joined; a length of 0 or over the limit is ERR_PROTOCOL', () => {
  const stream = Buffer.concat(CLIENT.map(([m]) => frame(encodeClientMessage(m))))
  const random = seededRandom(16)
  for (let round = 0; round < 50; round++) {
    const reader = new FrameReader()
    const got: ClientMessage[] = []
    for (let at = 0; at < stream.byteLength;) {
      const n = 1 + Math.floor(random() * 12)
      for (const m of reader.push(stream.subarray(at, at + n))) got.push(decodeClientMessage(m))
      at += n
    }
    assert.deepEqual(
      got,
      CLIENT.map(([m]) => m),
    )
    assert.equal(reader.partial, false)
  }
  const zero = Buffer.alloc(4)
  assert.throws(() => new FrameReader().push(zero), protocolError)
  const huge = Buffer.alloc(4)
  huge.writeUInt32LE(MAX_FRAME_BYTES + 1)
  assert.throws(() => new FrameReader().push(huge), protocolError)
  const cut = new FrameReader()
  assert.deepEqual(cut.push(Buffer.from('0500000005', 'hex')), [])
  assert.equal(cut.partial, true)
})

test('random bytes never decode into anything but a message or ERR_PROTOCOL', () => {
  const random = seededRandom(7)
  for (let i = 0; i < 5000; i++) {
    const bytes = Buffer.alloc(1 + Math.floor(random() * 40))
    for (let j = 0; j < bytes.byteLength; j++) bytes[j] = Math.floor(random() * 256)
    // Mostly valid types, so the fields are what gets fuzzed.
    if (random() < 0.8) bytes[0] = [1, 2, 3, 4, 5, 16, 17, 18, 19, 20, 21][Math.floor(random() * 11)]!
    for (const decode of [decodeClientMessage, decodeHolderMessage]) {
      try {
        decode(bytes)
      } catch (err) {
        assert.ok(protocolError(err), `${bytes.toString('hex')}: ${String(err)}`)
      }
    }
  }
})
