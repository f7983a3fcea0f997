import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { Multifeed } from '../../src/feeds/multifeed.js'
import { encodePreamble, PROTOCOL_VERSION, type Preamble } from '../../src/feeds/messages.js'
import { tempDir } from '../helpers/feeds.js'
import { startPeer } from '../helpers/feeds-process.js'

test('two processes replicate over TCP on 127.0.0.1, roles negotiated; each reads all of the other', async (t) => {
  const a = startPeer(t, { dir: await tempDir(t), tag: 'a', entries: 1500, mode: 'listen' })
  const { port } = await a.next('listening')
  const b = startPeer(t, { dir: await tempDir(t), tag: 'b', entries: 30, mode: 'connect', port })
  const [sa, sb] = await Promise.all([a.next('synced'), b.next('synced')])
  assert.equal(await a.exited, 0)
  assert.equal(await b.exited, 0)
  for (const s of [sa, sb]) {
    assert.equal(s.feeds.length, 2)
    const byTag = (tag: string) => s.feeds.find((f: any) => f.values[0] === `${tag}-0`)
    assert.equal(byTag('a').length, 1500)
    assert.deepEqual(
      byTag('a').values,
      Array.from({ length: 1500 }, (_, i) => `a-${i}`),
    )
    assert.equal(byTag('b').length, 30)
    assert.equal(byTag('b').values[29], 'b-29')
  }
})

test('two processes with different database keys both fail with ERR_KEY_MISMATCH', async (t) => {
  const a = startPeer(t, {
    dir: await tempDir(t),
    key: 'aa'.repeat(32),
    tag: 'a',
    entries: 1,
    mode: 'listen',
  })
  const { port } = await a.next('listening')
  const b = startPeer(t, {
    dir: await tempDir(t),
    key: 'bb'.repeat(32),
    tag: 'b',
    entries: 1,
    mode: 'connect',
    port,
  })
  const [ea, eb] = await Promise.all([a.next('error'), b.next('error')])
  assert.equal(ea.code, 'ERR_KEY_MISMATCH')
  assert.equal(eb.code, 'ERR_KEY_MISMATCH')
})

function preamble(over: Partial<Preamble> = {}): Buffer {
  return encodePreamble({ version: PROTOCOL_VERSION, role: 'initiator', nonce: Buffer.alloc(32, 1), ...over })
}

/** Connects, writes `bytes`, then ends (or keeps the socket open when `keepOpen`). */
function hostile(port: number, bytes: Buffer, keepOpen = false): net.Socket {
  const socket = net.connect(port, '127.0.0.1')
  socket.on('error', () => undefined)
  socket.write(bytes)
  if (!keepOpen) socket.end()
  return socket
}

test('hostile peers get coded errors; the process keeps running and its store reopens intact', async (t) => {
  const dir = await tempDir(t)
  const server = startPeer(t, { dir, tag: 's', entries: 100, mode: 'serve' })
  const { port } = await server.next('listening')

  const cases: Array<{ name: string; bytes: Buffer; code: string; keepOpen?: boolean }> = [
    {
      name: 'random garbage',
      bytes: Buffer.from(Array.from({ length: 2048 }, (_, i) => (i * 7919) % 256)),
      code: 'ERR_PROTOCOL',
    },
    {
      name: 'another protocol version',
      bytes: preamble({ version: PROTOCOL_VERSION + 1 }),
      code: 'ERR_VERSION_MISMATCH',
    },
    {
      name: 'garbage after the preamble',
      bytes: Buffer.concat([preamble(), Buffer.from([40, 0, 0]), Buffer.alloc(40, 0xab)]),
      code: 'ERR_PROTOCOL',
    },
    {
      name: 'a truncated frame',
      bytes: Buffer.concat([preamble(), Buffer.from([100, 0, 0]), Buffer.alloc(10, 1)]),
      code: 'ERR_PROTOCOL',
    },
    {
      name: 'an oversized length prefix, connection kept open',
      bytes: Buffer.concat([preamble(), Buffer.from([0xff, 0xff, 0xff]), Buffer.alloc(16, 2)]),
      code: 'ERR_PROTOCOL',
      keepOpen: true,
    },
    { name: 'end before the preamble is complete', bytes: preamble().subarray(0, 10), code: 'ERR_PROTOCOL' },
    // A connection cut inside the Noise handshake: noticed at once, not after the 10 s deadline.
    { name: 'end right after the preamble', bytes: preamble(), code: 'ERR_PROTOCOL' },
  ]
  for (const c of cases) {
    const socket = hostile(port, c.bytes, c.keepOpen)
    const reported = await server.next('stream-error')
    assert.equal(reported.code, c.code, c.name)
    socket.destroy()
  }

  // Still serving: a real peer replicates with it.
  const peerDir = await tempDir(t)
  const m = new Multifeed<string>(peerDir)
  t.after(() => m.close())
  const stream = m.replicate(net.connect(port, '127.0.0.1'))
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject)
    stream.once('close', () => resolve())
  })
  assert.equal(m.feeds().length, 1)
  assert.equal(await m.feeds()[0].get(99), 's-99')

  server.child.stdin.write('close\n')
  await server.next('closed')
  assert.equal(await server.exited, 0)
  const reopened = new Multifeed<string>(dir)
  t.after(() => reopened.close())
  const w = await reopened.writer()
  assert.equal(w.length, 100)
  assert.deepEqual(await w.getBatch(98, 100), ['s-98', 's-99'])
  assert.equal(reopened.feeds().length, 1)
})
