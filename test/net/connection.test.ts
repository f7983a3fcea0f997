// Replication on an encrypted connection (`replicate(socket)` with a HyperDHT/Hyperswarm
// connection, on a local testnet): Corestore and the multifeed channel use the connection's own
// Noise stream and muxer, and every round-1 guarantee holds there — the key gate, old peers
// refused with ERR_VERSION_MISMATCH, timeouts, modes, live propagation through an intermediary.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { Duplex } from 'node:stream'
import createTestnet from 'hyperdht/testnet.js'
import HyperDHT from 'hyperdht'
import type { NoiseSecretStream } from '@hyperswarm/secret-stream'
import { create, rejection } from '../helpers/feeds.js'
import { until } from '../helpers/until.js'
import { preamble } from '../helpers/reliability-hostile.js'
import type { Multifeed } from '../../src/feeds/multifeed.js'
import type { ReplicateOptions, ReplicationStream } from '../../src/feeds/types.js'
import {
  CHANNEL_PROTOCOL,
  PREAMBLE_BYTES,
  PROTOCOL_VERSION,
  decodePreamble,
} from '../../src/feeds/messages.js'
import { replicationStats } from '../../src/feeds/index.js'

interface Net {
  /** Opens one connection from a fresh node to a server on another: [client side, server side]. */
  connect(): Promise<[NoiseSecretStream, NoiseSecretStream]>
}

async function testnet(t: TestContext): Promise<Net> {
  const net = await createTestnet(3)
  const nodes: HyperDHT[] = []
  const sockets: NoiseSecretStream[] = []
  t.after(async () => {
    for (const socket of sockets) socket.destroy()
    for (const node of nodes) await node.destroy()
    await net.destroy()
  })
  return {
    async connect() {
      const server = net.createNode()
      const client = net.createNode()
      nodes.push(server, client)
      const keyPair = HyperDHT.keyPair()
      let accept: (socket: NoiseSecretStream) => void = () => undefined
      const accepted = new Promise<NoiseSecretStream>((resolve) => (accept = resolve))
      const listener = server.createServer((socket: NoiseSecretStream) => accept(socket))
      await listener.listen(keyPair)
      const socket = client.connect(keyPair.publicKey)
      sockets.push(socket)
      const other = await accepted
      sockets.push(other)
      return [socket, other]
    },
  }
}

/** Both sides replicate on the connection; returns their streams (client first). */
function onConnection(
  [left, right]: [NoiseSecretStream, NoiseSecretStream],
  a: Multifeed<any>,
  b: Multifeed<any>,
  optsA: ReplicateOptions = {},
  optsB: ReplicateOptions = optsA,
): [ReplicationStream, ReplicationStream] {
  return [a.replicate(left as never, optsA), b.replicate(right as never, optsB)]
}

/** The protocols of the channels open on the connection's protomux muxer. */
function channelProtocols(socket: NoiseSecretStream): string[] {
  return socket.userData ? [...socket.userData].map((channel) => channel.protocol) : []
}

test('on an encrypted connection, Corestore and the channel share its Noise stream and muxer', async (t) => {
  const net = await testnet(t)
  const a = await create<string>(t, { valueEncoding: 'json' })
  const b = await create<string>(t, { valueEncoding: 'json' })
  const wa = await a.writer()
  await wa.append(['a-0', 'a-1', 'a-2'])
  await (await b.writer()).append('b-0')
  const connection = await net.connect()
  const [sa, sb] = onConnection(connection, a, b)
  // Nothing to pipe: the streams report on the connection.
  assert.equal(sa.connection, connection[0])
  assert.equal(sb.connection, connection[1])
  // Our channel and Hypercore's on the connection's own muxer: no second Noise stream under them.
  const protocols = new Set<string>()
  sb.once('remote-feeds', () => {
    for (const protocol of channelProtocols(connection[1])) protocols.add(protocol)
  })
  await Promise.all([sa.finished(), sb.finished()])
  assert.ok(protocols.has(CHANNEL_PROTOCOL), 'the multifeed channel is on the connection')
  assert.ok(protocols.has('hypercore/alpha'), "Hypercore's channels are on the connection")
  assert.equal(b.feed(wa.key)?.length, 3)
  assert.equal(await b.feed(wa.key)?.get(2), 'a-2')
  assert.equal(a.feeds().length, 2)
  // The blocks moved on the same connection (its stats count them), and nothing else was encrypted
  // on top: the one Noise stream is the connection's (its handshake hash keyed the proof).
  const received = replicationStats(sb).blocksReceived
  assert.ok(received > 0)
  assert.equal(replicationStats(sa).blocksSent, received)
})

test('on a connection the channel opens with a preamble of role connection, the first message', async (t) => {
  const net = await testnet(t)
  const a = await create(t)
  const [left, right] = await net.connect()
  const first = new Promise<Buffer>((resolve) => right.once('data', resolve))
  const sa = a.replicate(left as never, { timeout: 2000 })
  const bytes = await first
  assert.equal(bytes.byteLength, PREAMBLE_BYTES)
  const heard = decodePreamble(bytes)
  assert.equal(heard.version, PROTOCOL_VERSION)
  assert.equal(heard.role, 'connection')
  right.destroy()
  assert.ok(await rejection(sa.finished()))
})

test('a key mismatch on a connection rejects both sides with ERR_KEY_MISMATCH', async (t) => {
  const net = await testnet(t)
  const a = await create(t, { key: Buffer.alloc(32, 1) })
  const b = await create(t, { key: Buffer.alloc(32, 2) })
  await (await a.writer()).append('x')
  const [sa, sb] = onConnection(await net.connect(), a, b)
  const [ea, eb] = await Promise.all([rejection(sa.finished()), rejection(sb.finished())])
  assert.equal(ea.code, 'ERR_KEY_MISMATCH')
  assert.equal(eb.code, 'ERR_KEY_MISMATCH')
  assert.equal(b.feeds().length, 0)
})

test('an older peer inside the connection (its own preamble and Noise) is refused with ERR_VERSION_MISMATCH', async (t) => {
  const net = await testnet(t)
  const a = await create(t)
  const [left, right] = await net.connect()
  // The older peer pipes a raw-stream replication into the connection: its preamble first.
  const heard: Buffer[] = []
  const older = new Duplex({
    read() {},
    write(chunk: Buffer, _enc, done) {
      heard.push(chunk)
      done()
    },
  })
  older.push(preamble(0, PROTOCOL_VERSION - 1))
  right.on('error', () => undefined)
  right.pipe(older).pipe(right)
  const sa = a.replicate(left as never)
  const err = await rejection(sa.finished())
  assert.equal(err.code, 'ERR_VERSION_MISMATCH')
  // And what it read first is our version: it refuses us the same way.
  await until(() => heard.length > 0, 'our first message')
  assert.equal(heard[0]![4], PROTOCOL_VERSION)
})

test('a raw-stream replication piped into a connection meets one on the connection: ERR_PROTOCOL on both', async (t) => {
  const net = await testnet(t)
  const a = await create(t)
  const b = await create(t)
  const [left, right] = await net.connect()
  const sa = a.replicate(left as never)
  const sb = b.replicate(false)
  // The piped stream's error reaches the connection too (through the pipe).
  right.on('error', () => undefined)
  right.pipe(sb).pipe(right)
  const [ea, eb] = await Promise.all([rejection(sa.finished()), rejection(sb.finished())])
  assert.equal(ea.code, 'ERR_PROTOCOL')
  assert.equal(eb.code, 'ERR_PROTOCOL')
})

test('modes on a connection: push sends, pull receives, both asking to push conflict', async (t) => {
  const net = await testnet(t)
  const a = await create<string>(t, { valueEncoding: 'json' })
  const b = await create<string>(t, { valueEncoding: 'json' })
  const wa = await a.writer()
  await wa.append('from-a')
  const wb = await b.writer()
  await wb.append('from-b')
  const [sa, sb] = onConnection(await net.connect(), a, b, { mode: 'push' }, { mode: 'pull' })
  await Promise.all([sa.finished(), sb.finished()])
  assert.equal(b.feed(wa.key)?.length, 1)
  assert.equal(a.feed(wb.key), undefined)
  const [pa, pb] = onConnection(await net.connect(), a, b, { mode: 'push' })
  const [ea, eb] = await Promise.all([rejection(pa.finished()), rejection(pb.finished())])
  assert.equal(ea.code, 'ERR_MODE_CONFLICT')
  assert.equal(eb.code, 'ERR_MODE_CONFLICT')
})

test('a silent peer on a connection fails a non-live replication with ERR_TIMEOUT', async (t) => {
  const net = await testnet(t)
  const a = await create(t)
  const b = await create(t)
  await (await a.writer()).append('x')
  // b proves the key and then never says hello.
  const [sa, sb] = onConnection(
    await net.connect(),
    a,
    b,
    { timeout: 300 },
    { beforeHello: () => new Promise(() => {}) },
  )
  const err = await rejection(sa.finished())
  assert.equal(err.code, 'ERR_TIMEOUT')
  // b's replication ends with the connection a closed: not completed.
  assert.ok(await rejection(sb.finished()))
})

test('live on connections: an entry appended on a reaches c through b', async (t) => {
  const net = await testnet(t)
  const a = await create<string>(t, { valueEncoding: 'json' })
  const b = await create<string>(t, { valueEncoding: 'json' })
  const c = await create<string>(t, { valueEncoding: 'json' })
  const live = { live: true }
  const remoteFeeds = (streams: ReplicationStream[]) =>
    Promise.all(streams.map((s) => new Promise((resolve) => s.once('remote-feeds', resolve))))
  const ab = onConnection(await net.connect(), a, b, live)
  const abOffered = remoteFeeds(ab)
  const bc = onConnection(await net.connect(), b, c, live)
  await Promise.all([abOffered, remoteFeeds(bc)])
  const wa = await a.writer()
  await wa.append(['one', 'two'])
  await until(() => c.feed(wa.key)?.length === 2, 'the entries to reach c')
  assert.equal(await c.feed(wa.key)?.get(1), 'two')
  // The live streams end with their stores: cleanly.
  const all = [...ab, ...bc]
  for (const store of [a, b, c]) await store.close()
  for (const stream of all) await stream.finished()
})
