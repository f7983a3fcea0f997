/**
 * Every byte layout of the command, in one place: the local protocol a `hyperkv` process holding
 * DIR speaks on DIR/hyperkv.sock with the other `hyperkv` commands on DIR, the peer key file
 * DIR/peer.key and the database key file DIR/db.key. docs/DESIGN.md ("The holder and its local socket") describes the exchange.
 *
 * Decoding validates everything (types, sizes, ranges, no trailing bytes) and throws
 * `ERR_PROTOCOL` on anything else: a message that decodes is one the code above may trust.
 */
import c from 'compact-encoding'
import { KappaError } from '../errors.js'
import type { MembershipOption } from '../kappa/index.js'

type State = ReturnType<typeof c.state>

// ---------------------------------------------------------------------------------------------
// Frames. Each message travels as
//   length:  uint32 little-endian, the message's bytes (1 … MAX_FRAME_BYTES)
//   message: type: uint8, then the fields of that type (compact-encoding)
// ---------------------------------------------------------------------------------------------

/** The largest message either side accepts (a command line is at most a few MiB on Linux). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024
/** stdin, stdout and stderr travel in chunks of at most this many bytes. */
export const MAX_DATA_BYTES = 64 * 1024

/** One message as a frame: its length, then its bytes. */
export function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + message.byteLength)
  out.writeUInt32LE(message.byteLength, 0)
  out.set(message, 4)
  return out
}

/** Splits a byte stream into messages; a length of 0 or over the limit is `ERR_PROTOCOL`. */
export class FrameReader {
  #pending: Buffer = Buffer.alloc(0)
  readonly #max: number

  constructor(max = MAX_FRAME_BYTES) {
    this.#max = max
  }

  /** Bytes received but not yet a whole frame (a stream that ends with some is cut). */
  get partial(): boolean {
    return this.#pending.byteLength > 0
  }

  /** The whole messages `chunk` completes, in order. */
  push(chunk: Buffer): Buffer[] {
    this.#pending = this.#pending.byteLength === 0 ? chunk : Buffer.concat([this.#pending, chunk])
    const messages: Buffer[] = []
    while (this.#pending.byteLength >= 4) {
      const length = this.#pending.readUInt32LE(0)
      if (length === 0 || length > this.#max) {
        throw new KappaError('ERR_PROTOCOL', `a local message of ${length} bytes (at most ${this.#max})`)
      }
      if (this.#pending.byteLength < 4 + length) break
      messages.push(this.#pending.subarray(4, 4 + length))
      this.#pending = this.#pending.subarray(4 + length)
    }
    return messages
  }
}

// ---------------------------------------------------------------------------------------------
// The local protocol. A client connects, sends `hello`; the holder answers `welcome` (or `refuse`
// and closes). The client sends one `run`; the holder runs the command as if it had been started
// in its own process, sending its output as `stdout`/`stderr` and granting stdin with `credit`,
// and ends with `exit`. The client forwards Ctrl-C as `signal`.
//
//   client → holder                          holder → client
//   1 hello  { protocol: string,             16 welcome { version: uint, pid: uint,
//              version: uint }                            holding: string }
//   2 run    { argv: string[],               17 refuse  { code: string, message: string }
//              env: [{ name, value }],       18 stdout  { data: buffer }
//              dir: string }                 19 stderr  { data: buffer }
//   3 stdin  { data: buffer }                20 credit  { bytes: uint }
//   4 stdin-end {}                           21 exit    { code: uint }
//   5 signal { signal: uint8 }  (1 SIGINT, 2 SIGTERM)
//
// `hello` and `refuse` keep this layout in every version, so two versions can always tell each
// other apart (`ERR_VERSION_MISMATCH`).
// ---------------------------------------------------------------------------------------------

export const LOCAL_PROTOCOL = 'hyperkv-local'
export const LOCAL_VERSION = 1

export type StopSignal = 'SIGINT' | 'SIGTERM'

export type ClientMessage =
  | { type: 'hello'; protocol: string; version: number }
  | { type: 'run'; argv: string[]; env: Record<string, string>; dir: string }
  | { type: 'stdin'; data: Buffer }
  | { type: 'stdin-end' }
  | { type: 'signal'; signal: StopSignal }

export type HolderMessage =
  | { type: 'welcome'; version: number; pid: number; holding: string }
  | { type: 'refuse'; code: string; message: string }
  | { type: 'stdout'; data: Buffer }
  | { type: 'stderr'; data: Buffer }
  | { type: 'credit'; bytes: number }
  | { type: 'exit'; code: number }

const TYPE = {
  hello: 1,
  run: 2,
  stdin: 3,
  'stdin-end': 4,
  signal: 5,
  welcome: 16,
  refuse: 17,
  stdout: 18,
  stderr: 19,
  credit: 20,
  exit: 21,
} as const

const SIGNALS: readonly StopSignal[] = ['SIGINT', 'SIGTERM']

/**
 * Limits of the fields, checked on decode and on encode (so we never send what we refuse); text
 * and data are bounded by the frame.
 */
export const LIMITS = {
  argv: 4096,
  env: 64,
  credit: 64 * 1024 * 1024,
} as const

/** Only these variables of the client's environment reach the command in the holder. */
export const FORWARDED_ENV = /^HYPERKV_[A-Z0-9_]{1,64}$/

export function encodeClientMessage(m: ClientMessage): Buffer {
  checkClientMessage(m)
  return encodeWith((state, pass) => {
    pass.uint8(state, TYPE[m.type])
    switch (m.type) {
      case 'hello':
        pass.string(state, m.protocol)
        pass.uint(state, m.version)
        return
      case 'run': {
        pass.uint(state, m.argv.length)
        for (const arg of m.argv) pass.string(state, arg)
        const env = Object.entries(m.env)
        pass.uint(state, env.length)
        for (const [name, value] of env) {
          pass.string(state, name)
          pass.string(state, value)
        }
        pass.string(state, m.dir)
        return
      }
      case 'stdin':
        pass.buffer(state, m.data)
        return
      case 'stdin-end':
        return
      case 'signal':
        pass.uint8(state, SIGNALS.indexOf(m.signal) + 1)
        return
    }
  })
}

export function encodeHolderMessage(m: HolderMessage): Buffer {
  checkHolderMessage(m)
  return encodeWith((state, pass) => {
    pass.uint8(state, TYPE[m.type])
    switch (m.type) {
      case 'welcome':
        pass.uint(state, m.version)
        pass.uint(state, m.pid)
        pass.string(state, m.holding)
        return
      case 'refuse':
        pass.string(state, m.code)
        pass.string(state, m.message)
        return
      case 'stdout':
      case 'stderr':
        pass.buffer(state, m.data)
        return
      case 'credit':
        pass.uint(state, m.bytes)
        return
      case 'exit':
        pass.uint(state, m.code)
        return
    }
  })
}

export function decodeClientMessage(bytes: Uint8Array): ClientMessage {
  return decodeWith(bytes, (state) => {
    const type = c.uint8.decode(state)
    switch (type) {
      case TYPE.hello:
        return { type: 'hello', protocol: text(state), version: c.uint.decode(state) }
      case TYPE.run: {
        const argv = listOf(state, LIMITS.argv, 'arguments', () => text(state))
        const env: Record<string, string> = {}
        const pairs = listOf(state, LIMITS.env, 'variables', () => [text(state), text(state)] as const)
        for (const [name, value] of pairs) {
          if (!FORWARDED_ENV.test(name) || Object.hasOwn(env, name)) throw protocol(`variable ${name}`)
          env[name] = value
        }
        const dir = text(state)
        return checkClientMessage({ type: 'run', argv, env, dir })
      }
      case TYPE.stdin:
        return checkClientMessage({ type: 'stdin', data: data(state) })
      case TYPE['stdin-end']:
        return { type: 'stdin-end' }
      case TYPE.signal: {
        const signal = SIGNALS[c.uint8.decode(state) - 1]
        if (!signal) throw protocol('unknown signal')
        return { type: 'signal', signal }
      }
      default:
        throw protocol(`unknown client message type ${type}`)
    }
  })
}

export function decodeHolderMessage(bytes: Uint8Array): HolderMessage {
  return decodeWith(bytes, (state) => {
    const type = c.uint8.decode(state)
    switch (type) {
      case TYPE.welcome:
        return checkHolderMessage({
          type: 'welcome',
          version: c.uint.decode(state),
          pid: c.uint.decode(state),
          holding: text(state),
        })
      case TYPE.refuse:
        return checkHolderMessage({ type: 'refuse', code: text(state), message: text(state) })
      case TYPE.stdout:
      case TYPE.stderr:
        return checkHolderMessage({ type: type === TYPE.stdout ? 'stdout' : 'stderr', data: data(state) })
      case TYPE.credit:
        return checkHolderMessage({ type: 'credit', bytes: c.uint.decode(state) })
      case TYPE.exit:
        return checkHolderMessage({ type: 'exit', code: c.uint.decode(state) })
      default:
        throw protocol(`unknown holder message type ${type}`)
    }
  })
}

function checkClientMessage<M extends ClientMessage>(m: M): M {
  switch (m.type) {
    case 'hello':
      checkText(m.protocol)
      checkUint(m.version)
      break
    case 'run':
      if (m.argv.length > LIMITS.argv) throw protocol('too many arguments')
      m.argv.forEach(checkText)
      if (Object.keys(m.env).length > LIMITS.env) throw protocol('too many variables')
      for (const [name, value] of Object.entries(m.env)) {
        if (!FORWARDED_ENV.test(name)) throw protocol(`variable ${name}`)
        checkText(value)
      }
      checkText(m.dir)
      if (m.dir === '') throw protocol('empty directory')
      break
    case 'stdin':
      checkData(m.data)
      break
    case 'signal':
      if (!SIGNALS.includes(m.signal)) throw protocol('unknown signal')
      break
  }
  return m
}

function checkHolderMessage<M extends HolderMessage>(m: M): M {
  switch (m.type) {
    case 'welcome':
      checkUint(m.version)
      checkUint(m.pid)
      checkText(m.holding)
      break
    case 'refuse':
      if (!/^ERR_[A-Z_]{1,40}$/.test(m.code)) throw protocol('refusal without an error code')
      checkText(m.message)
      break
    case 'stdout':
    case 'stderr':
      checkData(m.data)
      break
    case 'credit':
      checkUint(m.bytes)
      if (m.bytes === 0 || m.bytes > LIMITS.credit) throw protocol(`a credit of ${m.bytes} bytes`)
      break
    case 'exit':
      checkUint(m.code)
      if (m.code > 255) throw protocol(`exit code ${m.code}`)
      break
  }
  return m
}

// ---------------------------------------------------------------------------------------------
// The key files, each a version byte and then a fixed number of key bytes, written with mode 0600:
//   DIR/peer.key: version 1, the 64-byte ed25519 secret key as libsodium keeps it (the 32-byte
//                 seed, then the public key): this directory's Hyperswarm identity, so peers see
//                 the same peer across runs of `join`.
//   DIR/db.key:   the database, written by `hyperkv init`; a directory without one uses the open
//                 key. Version 1: the 32-byte database key (an open database: anyone with the key
//                 writes). Version 2: the 32-byte database key, then who owns it:
//                   uint8 1             owned, and this directory's writer is the owner
//                   uint8 2, 32 bytes   owned by that writer key (a database this directory joined)
//                 An open database is always written as version 1, so its file is what it was
//                 before ownership existed.
// ---------------------------------------------------------------------------------------------

interface KeyFile {
  encode(key: Uint8Array): Buffer
  /** The key bytes; a file of another size is `ERR_PROTOCOL`, of another version `ERR_VERSION_MISMATCH`. */
  decode(bytes: Uint8Array): Buffer
}

function keyFile(what: string, version: number, keyBytes: number): KeyFile {
  return {
    encode(key) {
      if (key.byteLength !== keyBytes) throw KappaError.invalid(`a ${what} is ${keyBytes} bytes`)
      const out = Buffer.alloc(1 + keyBytes)
      out[0] = version
      out.set(key, 1)
      return out
    },
    decode(bytes) {
      if (bytes.byteLength !== 1 + keyBytes) throw protocol(`a ${what} file of ${bytes.byteLength} bytes`)
      if (bytes[0] !== version) {
        throw new KappaError('ERR_VERSION_MISMATCH', `${what} file version ${bytes[0]}`)
      }
      return Buffer.from(bytes.subarray(1))
    },
  }
}

const PEER_KEY_FILE = keyFile('peer secret key', 1, 64)
const OPEN_DATABASE_FILE = keyFile('database key', 1, 32)

export const encodePeerKey = PEER_KEY_FILE.encode
/** The secret key (its last 32 bytes are the public key); checking the pair is the caller's. */
export const decodePeerKey = PEER_KEY_FILE.decode

/** What DIR/db.key says: the database key and who may write (`membership` of `hyperkv(dir, …)`). */
export interface DatabaseFile {
  key: Buffer
  membership: MembershipOption
}

const OWNED_VERSION = 2
const OWNER_SELF = 1
const OWNER_GIVEN = 2

export function encodeDatabaseKeyFile(file: DatabaseFile): Buffer {
  const { key, membership } = file
  if (membership === 'open') return OPEN_DATABASE_FILE.encode(key)
  if (key.byteLength !== 32) throw KappaError.invalid('a database key is 32 bytes')
  if (membership.owner === true)
    return Buffer.concat([Buffer.from([OWNED_VERSION]), key, Buffer.from([OWNER_SELF])])
  if (!/^[0-9a-f]{64}$/.test(membership.owner))
    throw KappaError.invalid('an owner is 64 lowercase hex characters')
  return Buffer.concat([
    Buffer.from([OWNED_VERSION]),
    key,
    Buffer.from([OWNER_GIVEN]),
    Buffer.from(membership.owner, 'hex'),
  ])
}

/** A file of another size or an unknown owner tag is `ERR_PROTOCOL`, of another version `ERR_VERSION_MISMATCH`. */
export function decodeDatabaseKeyFile(bytes: Uint8Array): DatabaseFile {
  if (bytes[0] !== OWNED_VERSION) return { key: OPEN_DATABASE_FILE.decode(bytes), membership: 'open' }
  const key = Buffer.from(bytes.subarray(1, 33))
  const tag = bytes[33]
  if (tag === OWNER_SELF && bytes.byteLength === 34) return { key, membership: { owner: true } }
  if (tag === OWNER_GIVEN && bytes.byteLength === 66) {
    return { key, membership: { owner: Buffer.from(bytes.subarray(34)).toString('hex') } }
  }
  throw protocol(`an owned database key file of ${bytes.byteLength} bytes (owner tag ${tag ?? 'missing'})`)
}

// ---- plumbing -------------------------------------------------------------------------------

interface Pass {
  uint8(state: State, n: number): void
  uint(state: State, n: number): void
  string(state: State, s: string): void
  buffer(state: State, b: Uint8Array): void
}

const PREENCODE: Pass = {
  uint8: (state, n) => c.uint8.preencode(state, n),
  uint: (state, n) => c.uint.preencode(state, n),
  string: (state, s) => c.string.preencode(state, s),
  buffer: (state, b) => c.buffer.preencode(state, b),
}

const ENCODE: Pass = {
  uint8: (state, n) => c.uint8.encode(state, n),
  uint: (state, n) => c.uint.encode(state, n),
  string: (state, s) => c.string.encode(state, s),
  buffer: (state, b) => c.buffer.encode(state, b),
}

/** One walk over the fields to size the buffer, one to fill it. */
function encodeWith(walk: (state: State, pass: Pass) => void): Buffer {
  const state = c.state()
  walk(state, PREENCODE)
  if (state.end > MAX_FRAME_BYTES) throw protocol(`a message of ${state.end} bytes`)
  state.buffer = Buffer.allocUnsafe(state.end)
  walk(state, ENCODE)
  return state.buffer as Buffer
}

function decodeWith<T>(bytes: Uint8Array, read: (state: State) => T): T {
  let message: T
  const state = c.state(0, bytes.byteLength, bytes)
  try {
    message = read(state)
  } catch (err) {
    if (err instanceof KappaError) throw err
    throw new KappaError('ERR_PROTOCOL', 'a local message that does not decode', { cause: err })
  }
  if (state.start !== state.end) throw protocol('trailing bytes in a local message')
  return message
}

function text(state: State): string {
  const s = c.string.decode(state)
  checkText(s)
  return s
}

function data(state: State): Buffer {
  const b = c.buffer.decode(state)
  if (b === null) throw protocol('missing data')
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength)
}

function listOf<T>(state: State, max: number, what: string, item: () => T): T[] {
  const n = c.uint.decode(state)
  if (n > max) throw protocol(`${n} ${what} (at most ${max})`)
  const out: T[] = []
  for (let i = 0; i < n; i++) out.push(item())
  return out
}

function checkText(s: unknown): void {
  if (typeof s !== 'string') throw protocol('not a string')
}

function checkUint(n: unknown): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw protocol('not a whole number')
}

function checkData(b: unknown): void {
  if (!(b instanceof Uint8Array) || b.byteLength === 0 || b.byteLength > MAX_DATA_BYTES) {
    throw protocol('data chunk of the wrong size')
  }
}

function protocol(message: string): KappaError {
  return new KappaError('ERR_PROTOCOL', message)
}
