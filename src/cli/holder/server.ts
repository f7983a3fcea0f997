/**
 * The holder's side of the local socket: every connection is one command of another `hyperkv`
 * process on DIR, run here on the store this process holds, its output sent back as it comes.
 * A client is untrusted input: every frame is validated, a client that breaks the protocol (or
 * says nothing for too long) is dropped, and nothing a client sends can reach an exception
 * handler of the process.
 */
import type { Server, Socket } from 'node:net'
import { Readable, Writable } from 'node:stream'
import { KappaError } from '../../errors.js'
import type { CliIO } from '../context.js'
import {
  FrameReader,
  LOCAL_PROTOCOL,
  LOCAL_VERSION,
  MAX_DATA_BYTES,
  decodeClientMessage,
  encodeHolderMessage,
  frame,
  type ClientMessage,
  type HolderMessage,
} from '../messages.js'
import { HOLDER_STOPPED } from '../stop.js'
import { listenSocket } from './socket.js'
import { messageOf } from '../../util/errors.js'

/** What the holder runs for a client: its command line, its environment, and its stdio. */
export interface RunRequest {
  argv: string[]
  env: Record<string, string>
  /** The client's data directory as it named it (for messages). */
  dir: string
}

/** Runs one client's command; resolves with its exit code (failures are reported on its stderr). */
export type Execute = (request: RunRequest, io: CliIO) => Promise<number>

export interface LocalServerOptions {
  /** What this process runs, as `welcome` tells clients (e.g. `join my-room`). */
  holding: string
  execute: Execute
  /** Whether this command line reads stdin (push, pull, sync): its stdin is then forwarded. */
  readsStdin: (argv: readonly string[]) => boolean
}

/** `hello` and `run` must arrive within this long after connecting. */
export const REQUEST_TIMEOUT = 10_000
/** Commands served at once; more connections are refused. */
export const MAX_SESSIONS = 64
/** stdin bytes a client may send ahead of what the command has read. */
export const STDIN_WINDOW = 1024 * 1024
/** How long `stop()` waits for the commands it stopped before dropping their clients. */
const STOP_GRACE = 5000

type SessionState = 'greeting' | 'ready' | 'running' | 'done'

export class LocalServer {
  readonly #sessions = new Set<Session>()
  #stopping = false
  readonly #server: Server
  readonly #opts: LocalServerOptions

  /** Made by `LocalServer.listen`, which starts `server` listening and hands over what it accepted. */
  constructor(server: Server, opts: LocalServerOptions) {
    this.#server = server
    this.#opts = opts
  }

  /** Listens on `path` (replacing a stale socket there). */
  static async listen(path: string, opts: LocalServerOptions): Promise<LocalServer> {
    let instance: LocalServer | null = null
    const pending: Socket[] = []
    const server = await listenSocket(path, (socket) => {
      if (instance) instance.#accept(socket)
      else pending.push(socket)
    })
    instance = new LocalServer(server, opts)
    for (const socket of pending) instance.#accept(socket)
    return instance
  }

  /**
   * Stops serving: new clients are told the holder is stopping (they wait, then open DIR
   * themselves), commands running are stopped and given a few seconds to finish. The socket stays
   * until `close()`, so clients keep hearing "stopping" until the storage is released.
   */
  async stop(): Promise<void> {
    this.#stopping = true
    const running = [...this.#sessions]
    for (const session of running) session.stop()
    let timer: NodeJS.Timeout | undefined
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, STOP_GRACE)
    })
    await Promise.race([Promise.all(running.map((s) => s.done)), grace])
    clearTimeout(timer)
    for (const session of this.#sessions) session.drop()
    await Promise.race([Promise.all(running.map((s) => s.done)), delay(STOP_GRACE)])
  }

  /** Closes the socket (its file is removed): after the storage is released. */
  async close(): Promise<void> {
    if (!this.#stopping) await this.stop()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  #accept(socket: Socket): void {
    socket.on('error', () => undefined)
    if (this.#stopping) {
      return refuse(socket, 'ERR_CLOSED', 'the hyperkv process holding this directory is stopping')
    }
    if (this.#sessions.size >= MAX_SESSIONS) {
      return refuse(
        socket,
        'ERR_LOCKED',
        `the hyperkv process holding this directory serves ${MAX_SESSIONS} commands already`,
      )
    }
    const session = new Session(socket, this.#opts)
    this.#sessions.add(session)
    void session.done.then(() => this.#sessions.delete(session))
  }
}

/** One client connection: hello, run, the command's stdio, exit. */
class Session {
  readonly done: Promise<void>
  #state: SessionState = 'greeting'
  readonly #reader = new FrameReader()
  readonly #abort = new AbortController()
  #stdin: RemoteStdin | null = null
  /** The command, once `run` arrived; the session is done when it and the connection are. */
  #running: Promise<void> | null = null
  readonly #timer: NodeJS.Timeout
  #finish!: () => void
  readonly #socket: Socket
  readonly #opts: LocalServerOptions

  constructor(socket: Socket, opts: LocalServerOptions) {
    this.#socket = socket
    this.#opts = opts
    this.done = new Promise((resolve) => (this.#finish = resolve))
    this.#timer = setTimeout(() => this.drop(), REQUEST_TIMEOUT)
    this.#timer.unref()
    socket.on('data', (chunk: Buffer) => this.#onData(chunk))
    socket.on('close', () => this.#onClose())
  }

  /** The holder stops: a running command is stopped, a client that has not started is dropped. */
  stop(): void {
    if (this.#state === 'running') this.#abort.abort(HOLDER_STOPPED)
    else this.drop()
  }

  /** Drops the client at once; a running command sees its stdio gone. */
  drop(): void {
    this.#abort.abort(HOLDER_STOPPED)
    this.#socket.destroy()
  }

  #onData(chunk: Buffer): void {
    try {
      for (const message of this.#reader.push(chunk)) this.#onMessage(decodeClientMessage(message))
    } catch {
      // A client that breaks the protocol is dropped; its command (if any) is stopped.
      this.drop()
    }
  }

  #onMessage(m: ClientMessage): void {
    switch (this.#state) {
      case 'greeting':
        if (m.type !== 'hello') throw new KappaError('ERR_PROTOCOL', 'expected hello')
        if (m.protocol !== LOCAL_PROTOCOL) {
          return refuse(this.#socket, 'ERR_PROTOCOL', `not the ${LOCAL_PROTOCOL} protocol`)
        }
        if (m.version !== LOCAL_VERSION) {
          return refuse(
            this.#socket,
            'ERR_VERSION_MISMATCH',
            `the hyperkv process holding this directory (pid ${process.pid}) speaks local protocol version ${LOCAL_VERSION}, this one ${m.version}: run the same version, or stop that process`,
          )
        }
        this.#state = 'ready'
        this.#send({ type: 'welcome', version: LOCAL_VERSION, pid: process.pid, holding: this.#opts.holding })
        return
      case 'ready':
        if (m.type !== 'run') throw new KappaError('ERR_PROTOCOL', 'expected run')
        clearTimeout(this.#timer)
        this.#state = 'running'
        this.#running = this.#run({ argv: m.argv, env: m.env, dir: m.dir })
        return
      case 'running':
        if (m.type === 'signal') this.#abort.abort(m.signal)
        else if (m.type === 'stdin' || m.type === 'stdin-end') {
          if (!this.#stdin) throw new KappaError('ERR_PROTOCOL', 'stdin for a command that reads none')
          if (m.type === 'stdin') this.#stdin.receive(m.data)
          else this.#stdin.end()
        } else throw new KappaError('ERR_PROTOCOL', `unexpected ${m.type}`)
        return
      case 'done':
        return
    }
  }

  async #run(request: RunRequest): Promise<void> {
    const readsStdin = this.#opts.readsStdin(request.argv)
    if (readsStdin) this.#stdin = new RemoteStdin((bytes) => this.#send({ type: 'credit', bytes }))
    const stdin = this.#stdin ?? Readable.from([])
    const stdout = new RemoteOutput(this.#socket, 'stdout')
    const stderr = new RemoteOutput(this.#socket, 'stderr')
    let code: number
    try {
      code = await this.#opts.execute(request, {
        stdin,
        stdout,
        stderr,
        env: request.env,
        signal: this.#abort.signal,
      })
    } catch (err) {
      // execute reports failures itself; this is a defect of ours, told to the client, not thrown.
      stderr.write(`hyperkv: ERR_INTERNAL: ${messageOf(err)}\n`)
      code = 1
    }
    await Promise.all([stdout.flushed(), stderr.flushed()])
    this.#stdin?.destroy()
    this.#state = 'done'
    if (!this.#socket.destroyed) {
      this.#send({ type: 'exit', code })
      this.#socket.end()
    }
  }

  #send(m: HolderMessage): void {
    if (!this.#socket.destroyed && this.#socket.writable) this.#socket.write(frame(encodeHolderMessage(m)))
  }

  #onClose(): void {
    clearTimeout(this.#timer)
    // The client went away: stop its command as a hang-up would.
    if (this.#state === 'running') this.#abort.abort('SIGTERM')
    this.#stdin?.destroy()
    void (this.#running ?? Promise.resolve()).then(this.#finish)
  }
}

/** stdin of a served command: what the client sends, within the credit we granted. */
class RemoteStdin extends Readable {
  #granted = 0
  #received = 0
  readonly #grant: (bytes: number) => void

  constructor(grant: (bytes: number) => void) {
    super({ highWaterMark: STDIN_WINDOW })
    this.#grant = grant
    this.#topUp()
  }

  receive(data: Buffer): void {
    this.#received += data.byteLength
    if (this.#received > this.#granted)
      throw new KappaError('ERR_PROTOCOL', 'stdin beyond the granted credit')
    if (!this.destroyed) this.push(data)
  }

  end(): void {
    if (!this.destroyed) this.push(null)
  }

  override _read(): void {
    this.#topUp()
  }

  /** Grants the client what the window has room for, once at least half of it is free. */
  #topUp(): void {
    const outstanding = this.#granted - this.#received
    const free = STDIN_WINDOW - outstanding - this.readableLength
    if (free >= STDIN_WINDOW / 2) {
      this.#granted += free
      this.#grant(free)
    }
  }
}

/**
 * stdout or stderr of a served command: frames on the socket, with the socket's backpressure. Once
 * the client is gone, output goes nowhere (the command is being stopped; nobody reads it) and is
 * never an error that could reach the process.
 */
class RemoteOutput extends Writable {
  #pending = Promise.resolve()
  readonly #socket: Socket
  readonly #kind: 'stdout' | 'stderr'

  constructor(socket: Socket, kind: 'stdout' | 'stderr') {
    super()
    this.#socket = socket
    this.#kind = kind
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#socket.destroyed || !this.#socket.writable) return cb()
    let ok = true
    for (let at = 0; at < chunk.byteLength; at += MAX_DATA_BYTES) {
      const data = chunk.subarray(at, at + MAX_DATA_BYTES)
      ok = this.#socket.write(frame(encodeHolderMessage({ type: this.#kind, data })))
    }
    if (ok) return cb()
    const onDrain = (): void => {
      this.#socket.off('close', onClose)
      cb()
    }
    const onClose = (): void => {
      this.#socket.off('drain', onDrain)
      cb()
    }
    this.#socket.once('drain', onDrain)
    this.#socket.once('close', onClose)
  }

  /** Resolves once everything written so far went to the socket (or the socket is gone). */
  flushed(): Promise<void> {
    this.#pending = this.#pending.then(
      () =>
        new Promise<void>((resolve) => {
          if (this.destroyed || this.writableEnded) return resolve()
          this.write(Buffer.alloc(0), () => resolve())
        }),
    )
    return this.#pending
  }
}

function refuse(socket: Socket, code: string, message: string): void {
  if (socket.writable) socket.end(frame(encodeHolderMessage({ type: 'refuse', code, message })))
  setTimeout(() => socket.destroy(), 1000).unref()
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref())
}
