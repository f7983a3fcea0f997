// The local socket is input like any other: a client that speaks garbage, lies about lengths,
// breaks the order, floods stdin or says nothing is dropped, and the holder goes on serving. A
// holder that misbehaves gives the client one coded line, never a hang.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { connect, createServer, type Socket } from 'node:net'
import { join } from 'node:path'
import {
  FrameReader,
  LOCAL_PROTOCOL,
  decodeHolderMessage,
  encodeClientMessage,
  encodeHolderMessage,
  frame,
  type ClientMessage,
  type HolderMessage,
} from '../../src/cli/messages.js'
import { MAX_SESSIONS } from '../../src/cli/holder/server.js'
import { CliProcess, errorCode, removeDir, runCli, runMain, tempDir } from '../helpers/cli.js'
import { deadline, until } from '../helpers/until.js'

const SOCKET = 'hyperkv.sock'

/** A raw client: what it sends, what it hears back, and when the holder closed it. */
class RawClient {
  readonly socket: Socket
  readonly heard: HolderMessage[] = []
  readonly closed: Promise<unknown>
  private readonly reader = new FrameReader()

  constructor(path: string) {
    this.socket = connect(path)
    this.socket.on('error', () => undefined)
    this.socket.on('data', (chunk: Buffer) => {
      for (const m of this.reader.push(chunk)) this.heard.push(decodeHolderMessage(m))
    })
    this.closed = new Promise((resolve) => this.socket.once('close', resolve))
  }

  send(m: ClientMessage): this {
    this.socket.write(frame(encodeClientMessage(m)))
    return this
  }

  raw(bytes: Buffer): this {
    this.socket.write(bytes)
    return this
  }
}

const hello = (version = 1): ClientMessage => ({ type: 'hello', protocol: LOCAL_PROTOCOL, version })

test('a holder survives hostile clients and goes on serving', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  assert.equal((await runMain(['-d', dir, 'put', 'k', '1'])).code, 0)
  const holder = new CliProcess(['-d', dir, 'list', '--live']).collectStdout()
  t.after(() => holder.stop())
  await holder.waitForStdout(/"key":"k"/)
  await until(() => existsSync(join(dir, SOCKET)))
  const path = join(dir, SOCKET)
  const within = <T>(p: Promise<T>, what: string): Promise<T> => deadline(p, 15_000, what)

  // Garbage, a length far over the limit, a zero length: dropped.
  for (const bytes of [
    Buffer.from('GET / HTTP/1.1\r\n\r\n'),
    Buffer.from('ffffffff01', 'hex'),
    Buffer.from('00000000', 'hex'),
  ]) {
    const client = new RawClient(path).raw(bytes)
    await within(client.closed, `the holder to drop ${bytes.toString('hex')}`)
  }
  // Another protocol, another version: refused with a coded reason, then closed.
  const other = new RawClient(path).send({ type: 'hello', protocol: 'http', version: 1 })
  await within(other.closed, 'a foreign protocol to be refused')
  assert.deepEqual(
    other.heard.map((m) => m.type === 'refuse' && m.code),
    ['ERR_PROTOCOL'],
  )
  const future = new RawClient(path).send(hello(99))
  await within(future.closed, 'another version to be refused')
  assert.equal(future.heard[0]?.type, 'refuse')
  assert.equal(future.heard[0]?.type === 'refuse' && future.heard[0].code, 'ERR_VERSION_MISMATCH')
  // Out of order: run before hello, a second hello, stdin for a command that reads none.
  const early = new RawClient(path).send({ type: 'run', argv: ['get', 'k'], env: {}, dir })
  await within(early.closed, 'run before hello to be dropped')
  assert.deepEqual(early.heard, [])
  const twice = new RawClient(path).send(hello()).send(hello())
  await within(twice.closed, 'a second hello to be dropped')
  const stdin = new RawClient(path)
    .send(hello())
    .send({ type: 'run', argv: ['get', 'k'], env: {}, dir })
    .send({ type: 'stdin', data: Buffer.alloc(1000) })
  await within(stdin.closed, 'stdin beyond any credit to be dropped')
  // stdin beyond the credit granted to a command that reads it.
  const flood = new RawClient(path).send(hello()).send({ type: 'run', argv: ['sync'], env: {}, dir })
  await until(() => flood.heard.some((m) => m.type === 'credit'), 'a credit for the sync')
  const credit = flood.heard.find((m) => m.type === 'credit')
  const granted = credit?.type === 'credit' ? credit.bytes : 0
  for (let sent = 0; sent <= granted; sent += 65536)
    flood.send({ type: 'stdin', data: Buffer.alloc(65536, 1) })
  await within(flood.closed, 'a flood past the credit to be dropped')
  // A message cut in the middle, then gone.
  const cut = new RawClient(path).raw(frame(encodeClientMessage(hello())).subarray(0, 6))
  cut.socket.end()
  await within(cut.closed, 'a cut client to close')

  // Clients that run a live command and never read fill the sessions; past the limit a command is
  // refused, and once they leave, commands run again.
  const idle: RawClient[] = []
  for (let i = 0; i < MAX_SESSIONS; i++) {
    const client = new RawClient(path)
      .send(hello())
      .send({ type: 'run', argv: ['list', '--live'], env: {}, dir })
    idle.push(client)
  }
  await until(() => idle.every((c) => c.heard.some((m) => m.type === 'stdout')), 'every live list to start')
  for (const c of idle) c.socket.pause()
  const busy = await runCli(['-d', dir, 'get', 'k'])
  assert.equal(busy.code, 1, busy.stderr)
  assert.equal(errorCode(busy.stderr), 'ERR_LOCKED', busy.stderr)
  for (const c of idle) c.socket.destroy()
  await Promise.all(idle.map((c) => c.closed))

  const put = await runCli(['-d', dir, 'put', 'k', '2'])
  assert.equal(put.code, 0, put.stderr)
  await holder.waitForStdout(/"value":2/)
  assert.equal(holder.child.exitCode, null, 'the holder is alive')
  const stopped = await holder.stop()
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.equal(stopped.stderr, '', 'nothing was reported by the holder')
})

/** A fake holder on DIR's socket, answering each connection with `respond`. */
async function fakeHolder(dir: string, respond: (socket: Socket, heard: ClientMessage[]) => void) {
  const server = createServer((socket) => {
    socket.on('error', () => undefined)
    respond(socket, [])
    // Read on (a paused socket never sees the client's end, and the server never closes).
    socket.resume()
  })
  await new Promise<void>((resolve) => server.listen(join(dir, SOCKET), resolve))
  return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) }
}

const send = (socket: Socket, m: HolderMessage): boolean => socket.write(frame(encodeHolderMessage(m)))

test('a holder that breaks the protocol, refuses or vanishes: one coded line, exit 1, no hang', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  const run = (args: string[]) => deadline(runMain(['-d', dir, ...args]), 20_000, args.join(' '))
  const cases: Array<{ what: string; respond: (socket: Socket) => void; code: string }> = [
    { what: 'garbage', respond: (s) => s.write('not a frame at all, not at all'), code: 'ERR_PROTOCOL' },
    {
      what: 'another version',
      respond: (s) => send(s, { type: 'refuse', code: 'ERR_VERSION_MISMATCH', message: 'speaks version 2' }),
      code: 'ERR_VERSION_MISMATCH',
    },
    {
      what: 'gone after welcome',
      respond: (s) => {
        send(s, { type: 'welcome', version: 1, pid: 1, holding: 'join x' })
        s.once('data', () => s.destroy())
      },
      code: 'ERR_CLOSED',
    },
    {
      what: 'output before welcome',
      respond: (s) => send(s, { type: 'stdout', data: Buffer.from('x') }),
      code: 'ERR_PROTOCOL',
    },
  ]
  for (const { what, respond, code } of cases) {
    const holder = await fakeHolder(dir, respond)
    const r = await run(['get', 'k'])
    await holder.close()
    assert.equal(r.code, 1, `${what}: ${r.stderr}`)
    assert.equal(errorCode(r.stderr), code, `${what}: ${r.stderr}`)
    assert.equal(r.stdout, '', what)
  }
  // What a holder sends is what the client prints, and its exit code the client's.
  const holder = await fakeHolder(dir, (s) => {
    send(s, { type: 'welcome', version: 1, pid: 1, holding: 'join x' })
    s.once('data', () => {
      send(s, { type: 'stdout', data: Buffer.from('out\n') })
      send(s, { type: 'stderr', data: Buffer.from('err\n') })
      send(s, { type: 'exit', code: 7 })
      s.end()
    })
  })
  t.after(() => holder.close())
  assert.deepEqual(await run(['get', 'k']), { code: 7, stdout: 'out\n', stderr: 'err\n' })
})
