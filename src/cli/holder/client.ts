/**
 * A command run through the process holding DIR: its command line goes over the local socket,
 * its output comes back and is written here as it comes, its exit code becomes ours. Ctrl-C here
 * is forwarded; stdin is forwarded only for the commands that read it, within the holder's credit.
 */
import type { Socket } from 'node:net'
import { KappaError, type ErrorCode } from '../../errors.js'
import type { CliIO } from '../context.js'
import { outputError } from '../errors.js'
import { stopSignalOf } from '../stop.js'
import {
  FORWARDED_ENV,
  FrameReader,
  LOCAL_PROTOCOL,
  LOCAL_VERSION,
  MAX_DATA_BYTES,
  decodeHolderMessage,
  encodeClientMessage,
  frame,
  type ClientMessage,
  type HolderMessage,
} from '../messages.js'
import { connectSocket, inspectSocket, socketPath } from './socket.js'

/** How long a holder may take to answer `hello`. */
export const WELCOME_TIMEOUT = 10_000

/**
 * `'none'`: no holder (no socket, or not ours); `'stale'`: a socket nobody listens on;
 * `'stopping'`: the holder is stopping (try again shortly); `'ran'`: the command ran there.
 */
export type HolderOutcome = { state: 'none' | 'stale' | 'stopping' } | { state: 'ran'; code: number }

export interface ThroughHolder {
  dir: string
  argv: readonly string[]
  io: CliIO
  /** Whether the command reads stdin (push, pull, sync). */
  readsStdin: boolean
}

/** Runs the command through DIR's holder if there is one. */
export async function runThroughHolder(opts: ThroughHolder): Promise<HolderOutcome> {
  const path = await socketPath(opts.dir)
  if ((await inspectSocket(path)) !== 'ours') return { state: 'none' }
  const connection = await connectSocket(path)
  if (connection.state === 'refused') return { state: 'stale' }
  if (connection.state === 'absent') return { state: 'none' }
  return new HolderClient(connection.socket, opts).run()
}

class HolderClient {
  readonly #reader = new FrameReader()
  #credit = 0
  #welcomed = false
  #exitCode: number | null = null
  #failure: Error | null = null
  #resolve!: (outcome: HolderOutcome) => void
  #reject!: (err: Error) => void
  readonly #timer: NodeJS.Timeout
  readonly #cleanups: Array<() => void> = []
  #pid = 0
  readonly #socket: Socket
  readonly #opts: ThroughHolder

  constructor(socket: Socket, opts: ThroughHolder) {
    this.#socket = socket
    this.#opts = opts
    this.#timer = setTimeout(() => {
      this.#fail(new KappaError('ERR_TIMEOUT', `the hyperkv process holding ${opts.dir} does not answer`))
    }, WELCOME_TIMEOUT)
  }

  run(): Promise<HolderOutcome> {
    const outcome = new Promise<HolderOutcome>((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
    })
    const socket = this.#socket
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('error', () => undefined)
    socket.on('close', () => this.#onClose())
    this.#send({ type: 'hello', protocol: LOCAL_PROTOCOL, version: LOCAL_VERSION })
    return outcome.finally(() => this.#cleanup())
  }

  #onData(chunk: Buffer): void {
    try {
      for (const message of this.#reader.push(chunk)) this.#onMessage(decodeHolderMessage(message))
    } catch (err) {
      this.#fail(err as Error)
    }
  }

  #onMessage(m: HolderMessage): void {
    if (!this.#welcomed) {
      if (m.type === 'refuse') {
        // A holder that is stopping: the caller tries again (and soon opens DIR itself).
        if (m.code === 'ERR_CLOSED') return this.#settle({ state: 'stopping' })
        return this.#fail(new KappaError(m.code as ErrorCode, m.message))
      }
      if (m.type !== 'welcome')
        throw new KappaError('ERR_PROTOCOL', `the holder sent ${m.type} before welcome`)
      clearTimeout(this.#timer)
      this.#welcomed = true
      this.#pid = m.pid
      return this.#start()
    }
    switch (m.type) {
      case 'stdout':
        return this.#relay(this.#opts.io.stdout, m.data)
      case 'stderr':
        return this.#relay(this.#opts.io.stderr, m.data)
      case 'credit':
        this.#credit += m.bytes
        return this.#pump()
      case 'exit':
        // The output came before it, in order: the command is over.
        this.#exitCode = m.code
        return this.#settle({ state: 'ran', code: m.code })
      default:
        throw new KappaError('ERR_PROTOCOL', `the holder sent ${m.type} while running`)
    }
  }

  #start(): void {
    const { io, argv, dir, readsStdin } = this.#opts
    const env: Record<string, string> = {}
    for (const [name, value] of Object.entries(io.env)) {
      if (value !== undefined && FORWARDED_ENV.test(name)) env[name] = value
    }
    this.#send({ type: 'run', argv: [...argv], env, dir })
    // Our own stdout failing (a pipe whose reader is gone) ends the command here as it would
    // have ended it in the holder's place.
    const onOutputError = (err: Error): void => this.#fail(outputError(err, readsStdin))
    io.stdout.on('error', onOutputError)
    this.#cleanups.push(() => io.stdout.off('error', onOutputError))
    const signal = io.signal
    if (signal) {
      const forward = (): void => this.#send({ type: 'signal', signal: stopSignalOf(signal) })
      if (signal.aborted) forward()
      else signal.addEventListener('abort', forward, { once: true })
      this.#cleanups.push(() => signal.removeEventListener('abort', forward))
    }
    if (readsStdin) {
      const onReadable = (): void => this.#pump()
      const onEnd = (): void => this.#send({ type: 'stdin-end' })
      io.stdin.on('readable', onReadable)
      io.stdin.once('end', onEnd)
      this.#cleanups.push(() => {
        io.stdin.off('readable', onReadable)
        io.stdin.off('end', onEnd)
        io.stdin.pause()
      })
    }
  }

  /** Sends what stdin has, within the credit. */
  #pump(): void {
    const { stdin } = this.#opts.io
    while (this.#credit > 0 && !this.#socket.destroyed) {
      const chunk = stdin.read() as Buffer | string | null
      if (chunk === null) return
      let data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      if (data.byteLength > this.#credit) {
        stdin.unshift(data.subarray(this.#credit))
        data = data.subarray(0, this.#credit)
      }
      this.#credit -= data.byteLength
      for (let at = 0; at < data.byteLength; at += MAX_DATA_BYTES) {
        this.#send({ type: 'stdin', data: data.subarray(at, at + MAX_DATA_BYTES) })
      }
    }
  }

  /** Writes to our stdout/stderr; a full one stops reading the socket until it drains. */
  #relay(out: NodeJS.WritableStream, data: Buffer): void {
    if (!out.write(data)) {
      this.#socket.pause()
      out.once('drain', () => this.#socket.resume())
    }
  }

  #onClose(): void {
    if (this.#exitCode !== null) return this.#settle({ state: 'ran', code: this.#exitCode })
    if (!this.#welcomed) return this.#settle({ state: 'stopping' })
    this.#fail(
      new KappaError(
        'ERR_CLOSED',
        `the hyperkv process holding ${this.#opts.dir} (pid ${this.#pid}) went away`,
      ),
    )
  }

  #send(m: ClientMessage): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(frame(encodeClientMessage(m)))
  }

  #fail(err: Error): void {
    this.#failure ??= err
    this.#socket.destroy()
    this.#reject(this.#failure)
  }

  #settle(outcome: HolderOutcome): void {
    this.#resolve(outcome)
  }

  #cleanup(): void {
    clearTimeout(this.#timer)
    for (const fn of this.#cleanups.splice(0)) fn()
    this.#socket.destroy()
  }
}
