/**
 * Hostile peers: an honest HyperKV serves replication on 127.0.0.1 in this
 * process; attackers built from real parts — raw sockets after a real preamble, a relay that
 * corrupts or silences a real peer's traffic, a real Kappa writing nodes that link to nothing, a
 * real Hypercore signing a known feed's blocks with the wrong key. Each connection must end
 * cleanly or with a KappaError code; the honest store answers exactly as before, and afterwards
 * still syncs with an honest peer. A silent peer ends with ERR_TIMEOUT, never a hang.
 */
import assert from 'node:assert/strict'
import net from 'node:net'
import test from 'node:test'
import type { TestContext } from 'node:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import crypto from 'hypercore-crypto'
import { HyperKV } from '../../src/kv/index.js'
import { Kappa } from '../../src/kappa/index.js'
import { HYPERLOG_NAME } from '../../src/hyperlog/index.js'
import { encodeEntry } from '../../src/hyperlog/messages.js'
import type { NodeHash } from '../../src/hyperlog/index.js'
import { EXTENSIVE, Prng } from '../helpers/prng.js'
import { closedWith, deadline } from '../helpers/reliability-sync.js'
import {
  outcomeOf,
  preamble,
  rawPeer,
  relay,
  serve,
  snapshot,
  type HonestServer,
} from '../helpers/reliability-hostile.js'

async function tempRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kappadb-hostile-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  return root
}

interface World {
  root: string
  /** The victim: the honest store under attack. */
  victim: HyperKV
  /** An honest peer the victim has synced with (the victim holds its log). */
  friend: HyperKV
  /** Serves the victim with default options, and with a 1.5 s progress timeout. */
  plain: HonestServer
  timed: HonestServer
}

async function world(t: TestContext): Promise<World> {
  const root = await tempRoot(t)
  const victim = new HyperKV(join(root, 'victim'))
  const friend = new HyperKV(join(root, 'friend'))
  await victim.put('shared', 'from victim')
  await victim.batch([
    { type: 'put', key: 'a', value: 1 },
    { type: 'del', key: 'b' },
  ])
  await friend.put('shared', 'from friend')
  await friend.put('f', { nested: [1, 2] })
  const plain = await serve(victim)
  const timed = await serve(victim, { timeout: 1500 })
  t.after(async () => {
    await plain.close()
    await timed.close()
    await victim.close()
    await friend.close()
  })
  await syncWithFriend({ root, victim, friend, plain, timed })
  return { root, victim, friend, plain, timed }
}

/** The friend writes, then syncs with the victim over TCP: a clean end, the write arrives. */
async function syncWithFriend(w: World): Promise<void> {
  const node = await w.friend.put('after', Date.now())
  const stream = w.friend.log.replicate(net.connect(w.plain.port, '127.0.0.1'))
  const [mine, theirs] = await deadline(
    Promise.all([closedWith(stream), w.plain.next()]),
    20_000,
    'honest sync',
  )
  assert.equal(outcomeOf(mine).code, 'END', 'the honest peer ends cleanly')
  assert.equal(theirs.code, 'END', 'the victim ends cleanly')
  await w.victim.ready()
  assert.ok(node.key in (await w.victim.get('after')), 'the honest write reached the victim')
  assert.deepEqual((await snapshot(w.victim)).rows, (await snapshot(w.friend)).rows)
}

/** Runs an attack: the victim's connection ends with one of `codes`, answers as before, still syncs. */
async function attack(
  w: World,
  server: HonestServer,
  codes: string[],
  run: () => Promise<(() => void) | void>,
): Promise<void> {
  const before = await snapshot(w.victim)
  const cleanup = await run()
  const outcome = await deadline(server.next(), 30_000, 'the victim ending a hostile connection')
  cleanup?.()
  assert.ok(codes.includes(outcome.code), `ended with ${outcome.code}, expected one of ${codes.join(', ')}`)
  assert.deepEqual(await snapshot(w.victim), before, 'the victim answers exactly as before')
  await syncWithFriend(w)
}

test('random bytes, truncated and oversized frames: ERR_PROTOCOL, the victim unchanged and still syncing', async (t) => {
  const w = await world(t)
  const rng = new Prng(0x5eed)
  const random = (n: number) => Buffer.from(Array.from({ length: n }, () => rng.int(0, 255)))
  const cases: Array<{ name: string; bytes: Buffer; keepOpen?: boolean }> = [
    { name: 'random bytes', bytes: random(4096) },
    { name: 'random bytes after a valid preamble', bytes: Buffer.concat([preamble(), random(4096)]) },
    { name: 'the preamble cut short', bytes: preamble().subarray(0, 20) },
    { name: 'a truncated frame', bytes: Buffer.concat([preamble(), Buffer.from([200, 0, 0]), random(50)]) },
    {
      name: 'an oversized frame, connection left open',
      bytes: Buffer.concat([preamble(), Buffer.from([0xff, 0xff, 0xff]), random(64)]),
      keepOpen: true,
    },
    {
      name: 'a handshake frame just over the limit',
      bytes: Buffer.concat([preamble(1), Buffer.from([0x01, 0x10, 0x00]), random(4097)]),
    },
  ]
  for (const c of cases) {
    await t.test(c.name, () =>
      attack(w, w.plain, ['ERR_PROTOCOL'], async () => {
        const socket = rawPeer(w.plain.port, c.bytes, c.keepOpen)
        return () => socket.destroy()
      }),
    )
  }
})

test('valid frames with a corrupted byte (wrong MAC) after a real handshake: ERR_PROTOCOL', async (t) => {
  const w = await world(t)
  const peer = new HyperKV(join(w.root, 'mitm'))
  t.after(() => peer.close())
  await peer.put('evil', 'never arrives')
  const rng = new Prng(7)
  // Past the preamble and the first Noise message, flip one byte of every chunk.
  for (const from of [120, 300, 600]) {
    await attack(w, w.plain, ['ERR_PROTOCOL'], async () => {
      const r = relay(w.plain.port, peer.log.replicate(), (chunk, offset) => {
        if (offset + chunk.byteLength <= from) return chunk
        const out = Buffer.from(chunk)
        const at =
          Math.max(0, from - offset) +
          rng.int(0, Math.max(0, chunk.byteLength - Math.max(0, from - offset) - 1))
        out[at] = out[at]! ^ 0x20
        return out
      })
      return () => r.close()
    })
  }
  assert.deepEqual(await w.victim.get('evil'), {}, 'nothing of the tampered stream was taken')
})

test('nodes that link to nothing stay invisible; the sync ends cleanly or with a code', async (t) => {
  const w = await world(t)
  const evil = new Kappa<Buffer>(join(w.root, 'evil'), { valueEncoding: 'binary' })
  t.after(() => evil.close())
  const writer = await evil.writer(HYPERLOG_NAME)
  const nowhere = 'ab'.repeat(32) as NodeHash
  const doc = (k: string) => Buffer.from(JSON.stringify({ k, v: 'dangling' }))
  await writer.append([
    encodeEntry({ links: [nowhere], value: doc('shared'), identity: null, signature: null }),
    encodeEntry({ links: ['not-a-hash' as NodeHash], value: doc('a'), identity: null, signature: null }),
  ])
  await attack(w, w.plain, ['END', 'ERR_PROTOCOL', 'ERR_NOT_FOUND'], async () => {
    const stream = evil.replicate(net.connect(w.plain.port, '127.0.0.1'))
    stream.on('error', () => undefined)
  })
})

test('blocks of a known log signed by the wrong key are refused with a code', async (t) => {
  const w = await world(t)
  const friendKey = (await w.friend.log.kappa.writer(HYPERLOG_NAME)).key
  const held = w.victim.log.kappa.feed(friendKey)!.length
  const forger = new Kappa<Buffer>(join(w.root, 'forger'), { valueEncoding: 'binary' })
  t.after(() => forger.close())
  // A real Hypercore claiming the friend's public key, signing with someone else's secret key.
  const wrong = crypto.keyPair()
  const forged = await forger.writer('forged', {
    keyPair: { publicKey: friendKey, secretKey: wrong.secretKey },
  })
  // One append per entry: one block each, so the forged log is longer (in blocks) than the real one.
  for (let i = 0; i < held + 3; i++) {
    const value = Buffer.from(JSON.stringify({ k: 'shared', v: `forged ${i}` }))
    await forged.append(encodeEntry({ links: [], value, identity: null, signature: null }))
  }
  await attack(w, w.timed, ['ERR_PROTOCOL', 'ERR_TIMEOUT', 'ERR_INVALID_SIGNATURE'], async () => {
    const stream = forger.replicate(net.connect(w.timed.port, '127.0.0.1'))
    stream.on('error', () => undefined)
  })
  assert.equal(w.victim.log.kappa.feed(friendKey)!.length, held + 1, 'only the honest write after the attack')
})

test('a peer that goes silent mid-stream: ERR_TIMEOUT with a timeout; a slow peer still completes', async (t) => {
  const w = await world(t)
  const peer = new HyperKV(join(w.root, 'silent'))
  t.after(() => peer.close())
  await peer.put('quiet', 1)
  for (const after of [40, 200, 400]) {
    await attack(w, w.timed, ['ERR_TIMEOUT'], async () => {
      const r = relay(w.timed.port, peer.log.replicate(), (chunk, offset) => {
        if (offset + chunk.byteLength >= after) r.stop()
        return chunk
      })
      return () => r.close()
    })
  }
  await slowSync(w, peer, 60)
  assert.deepEqual(Object.values(await w.victim.get('quiet')), [{ value: 1 }])
})

/** The peer replicates with the victim's timed server through a link that delays every chunk. */
async function slowSync(w: World, peer: HyperKV, delay: number): Promise<void> {
  const slow = peer.log.replicate()
  const socket = net.connect(w.timed.port, '127.0.0.1')
  socket.on('error', () => undefined)
  slow.on('data', (chunk: Buffer) => setTimeout(() => socket.write(chunk), delay))
  socket.on('data', (chunk: Buffer) => setTimeout(() => slow.write(chunk), delay))
  socket.on('end', () => setTimeout(() => slow.end(), delay))
  slow.on('end', () => setTimeout(() => socket.end(), delay))
  const [mine, theirs] = await Promise.all([closedWith(slow), w.timed.next()])
  socket.destroy()
  assert.deepEqual(
    [outcomeOf(mine).code, theirs.code],
    ['END', 'END'],
    'a slow peer that keeps moving completes',
  )
}

test('a slow peer that is downloading from us is not timed out (uploads are progress)', async (t) => {
  const w = await world(t)
  const peer = new HyperKV(join(w.root, 'slow'))
  t.after(() => peer.close())
  // 300 ms each way: the victim's uploads take several 1.5 s-timeout windows with no message.
  await slowSync(w, peer, 300)
})

test('a peer that connects and never speaks: ERR_TIMEOUT from the handshake deadline, no option needed', async (t) => {
  const w = await world(t)
  await attack(w, w.plain, ['ERR_TIMEOUT'], async () => {
    const socket = net.connect(w.plain.port, '127.0.0.1')
    socket.on('error', () => undefined)
    return () => socket.destroy()
  })
})

// Without `timeout`, a non-live sync fails after the feeds layer's default 30 s without progress.
test('a peer silent after the handshake never hangs a non-live sync without a timeout option', async (t) => {
  if (!EXTENSIVE) return t.skip('waits 30 s (the default progress timeout): runs under EXTENSIVE only')
  const w = await world(t)
  const peer = new HyperKV(join(w.root, 'silent'))
  t.after(() => peer.close())
  const r = relay(w.plain.port, peer.log.replicate(), (chunk, offset) => {
    if (offset + chunk.byteLength >= 200) r.stop()
    return chunk
  })
  t.after(() => r.close())
  const outcome = await deadline(w.plain.next(), 60_000, 'a silent peer without a timeout option')
  assert.equal(outcome.code, 'ERR_TIMEOUT')
})
