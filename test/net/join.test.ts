import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join as joinPath } from 'node:path'
import { Duplex } from 'node:stream'
import createTestnet from 'hyperdht/testnet.js'
import Corestore from 'corestore'
import {
  joinLive,
  join,
  Join,
  parseBootstrap,
  topicFromKey,
  topicFromName,
  toTopic,
  type JoinPeer,
} from '../../src/net/index.js'
import { isKappaError } from '../../src/errors.js'
import { until } from '../helpers/until.js'

/** A tiny line protocol: each side sends its name once and records the names it hears. */
function nameExchange(name: string, heard: Set<string>): () => Duplex {
  return () => {
    const stream = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) if (line) heard.add(line)
        done()
      },
      // The peer ended: so do we (as a replication stream does).
      final(done) {
        this.push(null)
        done()
      },
    })
    stream.push(`${name}\n`)
    return stream
  }
}

test('three peers that join a name at once all meet, through a piped replication stream', async (t) => {
  const testnet = await createTestnet(3)
  const joins: Join[] = []
  // Leave before the testnet goes: leaving unannounces through it.
  t.after(async () => {
    await Promise.all(joins.map((j) => j.leave()))
    await testnet.destroy()
  })
  const heard = [new Set<string>(), new Set<string>(), new Set<string>()]
  joins.push(
    ...heard.map((set, i) =>
      // The third peer finds the testnet through the environment variable, as the command does.
      i === 2
        ? join('room', {
            replicate: nameExchange(`p${i}`, set),
            env: { HYPERKV_BOOTSTRAP: testnet.bootstrap.map((n) => `${n.host}:${n.port}`).join(',') },
          })
        : join('room', { replicate: nameExchange(`p${i}`, set), dht: testnet.createNode() }),
    ),
  )
  await Promise.all(joins.map((j) => j.ready()))
  await until(
    () => heard.every((set, i) => set.size === 2 && !set.has(`p${i}`)),
    'every peer to hear the two others',
  )
  assert.deepEqual([...heard[0]!].sort(), ['p1', 'p2'])
  assert.deepEqual([...heard[1]!].sort(), ['p0', 'p2'])
  assert.deepEqual([...heard[2]!].sort(), ['p0', 'p1'])
  await until(() => joins.every((j) => j.peers.length === 2), 'two peers each')
})

test('a replication that uses the socket itself (Corestore) is not piped twice', async (t) => {
  const testnet = await createTestnet(3)
  const joins: Join[] = []
  // Leave before the testnet goes: leaving unannounces through it.
  t.after(async () => {
    await Promise.all(joins.map((j) => j.leave()))
    await testnet.destroy()
  })
  const dirs = [
    await mkdtemp(joinPath(tmpdir(), 'kappadb-net-')),
    await mkdtemp(joinPath(tmpdir(), 'kappadb-net-')),
  ]
  const stores = dirs.map((d) => new Corestore(d))
  t.after(async () => {
    for (const s of stores) await s.close()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  const source = stores[0]!.get({ name: 'source' })
  await source.ready()
  await source.append([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])
  const copy = stores[1]!.get({ key: source.key })
  await copy.ready()

  for (const store of stores) {
    joins.push(
      join(topicFromKey(source.key), {
        replicate: (socket) => store.replicate(socket),
        dht: testnet.createNode(),
      }),
    )
  }
  const block = await copy.get(2, { timeout: 15000 })
  assert.equal(block?.toString(), 'c')
})

test('leave() disconnects the peers, is idempotent, and ready() afterwards fails with ERR_CLOSED', async (t) => {
  const testnet = await createTestnet(3)
  const joins: Join[] = []
  // Leave before the testnet goes: leaving unannounces through it.
  t.after(async () => {
    await Promise.all(joins.map((j) => j.leave()))
    await testnet.destroy()
  })
  const a = join('leave-test', { replicate: nameExchange('a', new Set()), dht: testnet.createNode() })
  const b = join('leave-test', { replicate: nameExchange('b', new Set()), dht: testnet.createNode() })
  joins.push(a, b)
  await until(() => a.peers.length === 1 && b.peers.length === 1, 'a and b to connect')
  const gone = once(b, 'disconnection') as Promise<[JoinPeer, Error | null]>
  const first = a.leave()
  assert.equal(a.leave(), first)
  await first
  const [peer, err] = await gone
  assert.equal(peer.id, a.swarm.keyPair.publicKey.toString('hex'))
  // A clean leave: the peer's end arrived (no reset, no timeout).
  assert.equal(err, null)
  assert.deepEqual(b.peers, [])
  assert.equal(a.closed, true)
  await assert.rejects(a.ready(), (err) => isKappaError(err, 'ERR_CLOSED'))
  await new Promise<void>((resolve, reject) => a.leave((err) => (err ? reject(err) : resolve())))
})

test('topics: names and keys hash to distinct 32-byte topics; 32 bytes pass through', () => {
  const key = Buffer.alloc(32, 7)
  assert.equal(topicFromName('room').byteLength, 32)
  assert.deepEqual(topicFromName('room'), topicFromName('room'))
  assert.notDeepEqual(topicFromName('room'), topicFromName('room2'))
  assert.notDeepEqual(topicFromKey(key), key)
  assert.deepEqual(toTopic(key), key)
  assert.deepEqual(toTopic('room'), topicFromName('room'))
  for (const bad of ['', Buffer.alloc(31), 5, null]) {
    assert.throws(
      () => toTopic(bad as never),
      (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
    )
  }
  assert.throws(
    () => topicFromKey(Buffer.alloc(16)),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})

test('bad join options and bootstrap lists fail with ERR_INVALID_ARGUMENT before anything opens', () => {
  const replicate = nameExchange('x', new Set())
  const invalid = (err: unknown): boolean => isKappaError(err, 'ERR_INVALID_ARGUMENT')
  assert.throws(() => join('t', {} as never), invalid)
  assert.throws(() => join('t', { replicate, server: false, client: false }), invalid)
  assert.throws(() => join('t', { replicate, bootstrap: 'nohost' }), invalid)
  assert.throws(() => join('t', { replicate, bootstrap: '127.0.0.1:0' }), invalid)
  assert.throws(() => join('t', { replicate, env: { HYPERKV_BOOTSTRAP: 'a:b' } }), invalid)
  assert.throws(() => join('t', { replicate, rediscover: [-1] }), invalid)
  assert.throws(
    () => join('t', { replicate, maxpeers: 3 } as never),
    (err) => invalid(err) && /maxpeers/.test((err as Error).message),
  )
  assert.throws(() => new Join('', { replicate }), invalid)
  assert.deepEqual(parseBootstrap('127.0.0.1:49737, localhost:5,[::1]:7'), [
    { host: '127.0.0.1', port: 49737 },
    { host: 'localhost', port: 5 },
    { host: '::1', port: 7 },
  ])
  assert.deepEqual(parseBootstrap([{ host: 'h', port: 1 }, 'g:2']), [
    { host: 'h', port: 1 },
    { host: 'g', port: 2 },
  ])
})

test('two HyperKV stores replicate live through kv.join: a put on one is read on the other', async (t) => {
  const { hyperkv } = await import('../../src/kv/index.js')
  const testnet = await createTestnet(3)
  const dirs = [
    await mkdtemp(joinPath(tmpdir(), 'kappadb-net-')),
    await mkdtemp(joinPath(tmpdir(), 'kappadb-net-')),
  ]
  const kvs = dirs.map((dir) => hyperkv(dir))
  const joins: Join[] = []
  t.after(async () => {
    await Promise.all(joins.map((j) => j.leave()))
    await testnet.destroy()
    for (const kv of kvs) await kv.close()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  const [a, b] = kvs as [(typeof kvs)[0], (typeof kvs)[0]]
  const before = await a.put('greeting', 'hello')
  for (const kv of kvs) {
    // The database key's topic, the log's live replication.
    joins.push(joinLive(kv.log, { dht: testnet.createNode() }))
  }
  await until(() => b.log.changes === 1, 'the first put to reach b')
  await b.ready()
  assert.deepEqual(await b.get('greeting'), { [before.key]: { value: 'hello' } })
  // Live: a later write flows too, without reconnecting.
  const after = await b.put('greeting', 'beep boop')
  await until(() => a.log.changes === 2, 'the second put to reach a')
  await a.ready()
  assert.deepEqual(await a.get('greeting'), { [after.key]: { value: 'beep boop' } })
})

test('joinLive: the topic comes from the database key unless one is given; bad arguments are refused', async (t) => {
  const testnet = await createTestnet(3)
  const joins: Join[] = []
  t.after(async () => {
    await Promise.all(joins.map((j) => j.leave()))
    await testnet.destroy()
  })
  const replicate = (): Duplex => new Duplex({ read() {}, write: (_c, _e, done) => done() })
  const key = Buffer.alloc(32, 1)
  const store = { key, replicate }
  joins.push(joinLive(store, { dht: testnet.createNode() }))
  joins.push(joinLive(store, 'room', { dht: testnet.createNode() }))
  assert.deepEqual(joins[0]!.topic, topicFromKey(key))
  assert.deepEqual(joins[1]!.topic, topicFromName('room'))
  const invalid = (err: unknown): boolean => isKappaError(err, 'ERR_INVALID_ARGUMENT')
  assert.throws(() => joinLive(store, {}, {}), invalid)
  assert.throws(() => joinLive(store, 'room', 5 as never), invalid)
  assert.throws(() => joinLive({ key: Buffer.alloc(3), replicate }), invalid)
  assert.throws(() => joinLive(null as never), invalid)
  assert.throws(() => joinLive(store, { severs: false } as never), invalid)
  assert.throws(() => joinLive(store, 'room', { replicate } as never), invalid)
})

test('two Kappa cores replicate live through joinLive and index what arrives', async (t) => {
  const { kappa } = await import('../../src/kappa/index.js')
  const testnet = await createTestnet(3)
  const dirs = [
    await mkdtemp(joinPath(tmpdir(), 'kappadb-net-')),
    await mkdtemp(joinPath(tmpdir(), 'kappadb-net-')),
  ]
  const cores = dirs.map((dir) => kappa<number>(dir, { valueEncoding: 'json' }))
  const joins: Join[] = []
  t.after(async () => {
    await Promise.all(joins.map((j) => j.leave()))
    await testnet.destroy()
    for (const core of cores) await core.close()
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  const sums = [0, 0]
  cores.forEach((core, i) =>
    core.use('sum', {
      map: async (entries) => {
        for (const entry of entries) sums[i] += entry.value
      },
    }),
  )
  const [a, b] = cores as [(typeof cores)[0], (typeof cores)[0]]
  await (await a.writer('default')).append([1, 2, 3])
  await (await b.writer('default')).append(10)
  for (const core of cores) joins.push(joinLive(core, { dht: testnet.createNode() }))
  await until(() => a.feeds().length === 2 && b.feeds().length === 2, 'each core to learn the other feed')
  await until(
    () => a.feeds().every((f) => f.length > 0) && b.feeds().every((f) => f.length > 0),
    'the entries',
  )
  await a.ready('sum')
  await b.ready('sum')
  assert.deepEqual(sums, [16, 16])
  assert.throws(
    () => joinLive(a, Buffer.alloc(31)),
    (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
})

test('no bootstrap node answers: bootstrapState goes unreachable and join emits offline; a testnet is reachable', async (t) => {
  const unreachable = join('offline-test', {
    replicate: nameExchange('x', new Set()),
    bootstrap: '127.0.0.1:1',
  })
  t.after(() => unreachable.leave())
  assert.equal(unreachable.bootstrapState, 'probing')
  await once(unreachable, 'offline')
  assert.equal(unreachable.bootstrapState, 'unreachable')
  await unreachable.leave()

  const testnet = await createTestnet(3)
  const online = join('online-test', { replicate: nameExchange('y', new Set()), dht: testnet.createNode() })
  t.after(async () => {
    await online.leave()
    await testnet.destroy()
  })
  await once(online, 'online')
  assert.equal(online.bootstrapState, 'reachable')
})
