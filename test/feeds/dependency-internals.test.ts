/**
 * Pins every undocumented dependency internal src/feeds/dependency-internals.ts reads: if an
 * upgrade of Hypercore, hypercore-storage, protomux or the secret stream moves one, this fails.
 */
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import Corestore from 'corestore'
import type Hypercore from 'hypercore'
import crypto from 'hypercore-crypto'
import {
  closeChannel,
  conflictChecking,
  corkedMessages,
  encodedManifest,
  gateChannels,
  heldTree,
  reattachCore,
  internalConflictChecking,
  internalCoreKey,
  peerContiguousLength,
  peerSignedLength,
  storageDirectory,
  storageReadBatch,
  streamOfPeer,
  userDataEntries,
  verifyDetachedTree,
  writeUserData,
} from '../../src/feeds/dependency-internals.js'
import { tempDir } from '../helpers/temp.js'
import { until } from '../helpers/until.js'

async function store(t: TestContext): Promise<Corestore> {
  const s = new Corestore(await tempDir(t, 'kappadb-internals-'))
  t.after(() => s.close())
  await s.ready()
  return s
}

test('storage: a read batch, the directory, and the list of user data', async (t) => {
  const s = await store(t)
  const core: Hypercore = s.get({ name: 'a' })
  await core.ready()
  await core.append([Buffer.from('x'), Buffer.from('y')])
  const rx = storageReadBatch(core)
  assert.ok(rx)
  const read = rx.getBlock(1)
  rx.tryFlush()
  assert.equal((await read)?.toString(), 'y')
  const dir = storageDirectory(core)
  assert.ok(dir !== null && existsSync(dir))
  await writeUserData(core, [
    ['feed/00000001', Buffer.from('one')],
    ['feed/00000000', Buffer.from('zero')],
    ['feed/00000002', Buffer.from('two')],
  ])
  await writeUserData(core, [['feed/00000002', null]])
  const entries = await userDataEntries(core)
  assert.deepEqual(
    entries.filter((e) => e.key.startsWith('feed/')).map((e) => [e.key, e.value.toString()]),
    [
      ['feed/00000000', 'zero'],
      ['feed/00000001', 'one'],
    ],
  )
  // The internal core every session shares answers Hypercore's fork check.
  const checking = conflictChecking(core)
  assert.ok(checking && typeof checking.checkConflict === 'function')
})

test("Corestore's watch hands out the internal core: its fork check, and its key once open", async (t) => {
  const s = await store(t)
  const seen: unknown[] = []
  s.watch((internal) => seen.push(internal))
  const core: Hypercore = s.get({ name: 'watched' })
  await core.ready()
  assert.equal(seen.length, 1)
  const internal = internalConflictChecking(seen[0])
  assert.ok(internal, 'what watch gives has checkConflict')
  assert.equal(internal, conflictChecking(core), "it is the session's internal core")
  assert.ok(internalCoreKey(internal)?.equals(core.key))
  assert.equal(internalConflictChecking({}), null)
})

test("replication: the muxer's corked count, a peer's lengths, an upload's peer stream", async (t) => {
  const a = await store(t)
  const b = await store(t)
  const source: Hypercore = a.get({ name: 'a' })
  await source.ready()
  await source.append([Buffer.from('1'), Buffer.from('2'), Buffer.from('3')])
  const copy: Hypercore = b.get({ key: source.key })
  await copy.ready()
  const sa = a.replicate(true)
  const sb = b.replicate(false)
  sa.pipe(sb).pipe(sa)
  t.after(() => {
    sa.destroy()
    sb.destroy()
  })
  const uploads: unknown[] = []
  source.on('upload', (_i: number, _bytes: number, from: unknown) => uploads.push(streamOfPeer(from)))
  await copy.update({ wait: true })
  await copy.download({ start: 0, end: 3 }).done()
  assert.ok(uploads.length > 0 && uploads.every((stream) => stream === sa.noiseStream))
  assert.equal(peerSignedLength(copy, sb.noiseStream), 3)
  assert.equal(peerContiguousLength(copy, sb.noiseStream), 3)
  assert.equal(peerContiguousLength(copy, {}), null)
  const mux = sa.noiseStream.userData as { cork(): void; uncork(): void }
  assert.equal(corkedMessages(sa.noiseStream), 0)
  mux.cork()
  assert.equal(corkedMessages(sa.noiseStream), 1)
  mux.uncork()
  assert.equal(corkedMessages(sa.noiseStream), 0)
})

test("gating a muxer's core channels, closing one, and attaching the core again", async (t) => {
  const a = await store(t)
  const b = await store(t)
  const source: Hypercore = a.get({ name: 'a' })
  await source.ready()
  await source.append([Buffer.from('1'), Buffer.from('2')])
  const copy: Hypercore = b.get({ key: source.key })
  await copy.ready()
  const sa = a.replicate(true)
  const sb = b.replicate(false)
  t.after(() => {
    sa.destroy()
    sb.destroy()
  })
  const mux = sa.noiseStream.userData as object
  let allowed = false
  const asked: string[] = []
  assert.equal(
    gateChannels(mux, 'hypercore/alpha', (id) => {
      asked.push(id.toString('hex'))
      return allowed
    }),
    true,
  )
  let uploads = 0
  source.on('upload', () => uploads++)
  sa.pipe(sb).pipe(sa)
  // The core was attached when the stream was made; its channel waits for the connection and is refused.
  await until(() => asked.length > 0, 'the gate was asked')
  assert.deepEqual(new Set(asked), new Set([source.discoveryKey.toString('hex')]))
  assert.equal(source.peers.length, 0)
  assert.equal(uploads, 0)
  allowed = true
  const added = new Promise<void>((resolve) => source.once('peer-add', () => resolve()))
  assert.equal(reattachCore(source, mux), true)
  await added
  await copy.download({ start: 0, end: 1 }).done()
  const removed = new Promise<void>((resolve) => source.once('peer-remove', () => resolve()))
  assert.equal(closeChannel(mux, 'hypercore/alpha', source.discoveryKey), true)
  await removed
  assert.equal(closeChannel(mux, 'hypercore/alpha', source.discoveryKey), false)
  assert.equal(closeChannel({}, 'hypercore/alpha', source.discoveryKey), false)
  assert.equal(
    gateChannels({}, 'x', () => true),
    false,
  )
  assert.equal(reattachCore({} as Hypercore, {}), false)
})

test("a tree proof checked with no core: Hypercore's manifest encoding, its verifier and its fully remote batch", async (t) => {
  const s = await store(t)
  const named: Hypercore = s.get({ name: 'a' })
  const pair = crypto.keyPair()
  // A version-0 manifest: the key is the signer's public key (what the hostile-peer helper writes).
  const compat: Hypercore = s.get({
    key: pair.publicKey,
    keyPair: pair,
    manifest: { version: 0, signers: [{ publicKey: pair.publicKey }] },
  })
  for (const core of [named, compat]) {
    await core.ready()
    await core.append([Buffer.from('x'), Buffer.from('y'), Buffer.from('z')])
    const manifest = encodedManifest(core)
    assert.ok(manifest !== null && manifest.byteLength > 0 && manifest.byteLength < 100)
    const proof = await core.proof({ upgrade: { start: 0, length: 2 } })
    // The proof at 2 carries what reaches the signed length 3, which the signature is for.
    assert.deepEqual(verifyDetachedTree(core.key, manifest, proof), { signedLength: 3 })
    assert.equal(verifyDetachedTree(crypto.randomBytes(32), manifest, proof), false, 'another key')
    const forged = await core.proof({ upgrade: { start: 0, length: 2 } })
    forged.upgrade!.nodes[0]!.hash = Buffer.alloc(32)
    assert.equal(verifyDetachedTree(core.key, manifest, forged), false, 'a node the writer did not sign')
    const unsigned = await core.proof({ upgrade: { start: 0, length: 2 } })
    unsigned.upgrade!.signature = Buffer.alloc(unsigned.upgrade!.signature!.byteLength)
    assert.equal(verifyDetachedTree(core.key, manifest, unsigned), false, 'a signature that does not verify')
    assert.equal(verifyDetachedTree(core.key, Buffer.from('not a manifest'), proof), false)
  }
  const other = await named.proof({ upgrade: { start: 0, length: 3 } })
  assert.equal(
    verifyDetachedTree(named.key, encodedManifest(compat)!, other),
    false,
    "another core's manifest",
  )
})

test('the signed tree a session holds in memory: what its proof at its own length reads', async (t) => {
  const s = await store(t)
  const core: Hypercore = s.get({ name: 'a' })
  await core.ready()
  assert.equal(heldTree(core), null, 'an empty core has no signed tree')
  for (const length of [1, 2, 3, 7, 8, 13]) {
    while (core.length < length) await core.append(Buffer.from(`block ${core.length}`))
    const held = heldTree(core)
    assert.ok(held !== null)
    const { upgrade, fork } = await core.proof({ upgrade: { start: 0, length } })
    assert.deepEqual(held, { length, fork, roots: upgrade!.nodes, signature: upgrade!.signature })
    assert.equal(upgrade!.additionalNodes.length, 0)
  }
  await core.truncate(5)
  const truncated = heldTree(core)
  assert.equal(truncated?.fork, 1)
  assert.deepEqual(truncated?.roots, (await core.proof({ upgrade: { start: 0, length: 5 } })).upgrade!.nodes)
  // A snapshot holds its own state, at its own length.
  const snapshot = core.snapshot()
  await snapshot.ready()
  await core.append(Buffer.from('more'))
  assert.equal(heldTree(snapshot)?.length, 5)
  assert.equal(heldTree(core)?.length, 6)
  await snapshot.close()
})
