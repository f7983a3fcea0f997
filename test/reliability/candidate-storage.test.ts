/**
 * Random feed keys a hostile peer offers cost the honest store no storage (docs/DESIGN.md,
 * "Threat model"): a feed not held yet is opened in Corestore only once the peer proved its
 * writer's signature of the offered tree, so a key nobody can sign for never gets a core record.
 * The store runs in a child process (test/helpers/honest-process.ts); its directory is measured
 * while it is closed, so only what it persisted counts. `EXTENSIVE=1` offers 10,000 keys.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Proof } from 'hypercore'
import { encodedManifest, verifyDetachedTree } from '../../src/feeds/dependency-internals.js'
import type { TreeMessage, TreeRequestMessage } from '../../src/feeds/messages.js'
import { MAX_TREE_REQUESTS } from '../../src/feeds/replication/exchange.js'
import { create, errorOf, serveReplication } from '../helpers/feeds.js'
import { startHonest } from '../helpers/honest-process.js'
import { HostilePeer, cannotTree, keyPair, randomOffers } from '../helpers/hostile-peer.js'
import { tempDir } from '../helpers/temp.js'
import { deadline } from '../helpers/until.js'

const KEYS = process.env.EXTENSIVE === '1' ? 10_000 : 2_000
/** Offers per hostile connection: each connection fails (ERR_PROTOCOL) on its first unprovable one. */
const PER_SESSION = 16
/**
 * What the attack may add to the store's directory, whatever the number of keys: what one more
 * open and close of the store writes (its database's logs and manifest) and the honest sync's
 * records — about 66 KB with no attack at all. Without the proof first every key left a core
 * record: 2,000 keys grew it by 460,117 bytes.
 */
const MAX_GROWTH = 128 * 1024

/** Bytes of every file under `dir`. */
async function sizeOf(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    total += entry.isDirectory() ? await sizeOf(path) : (await stat(path)).size
  }
  return total
}

test(`${KEYS} random keys offered over many connections leave no storage behind; honest feeds are still earned`, async (t) => {
  const dir = await tempDir(t)
  // The baseline: the store as a first open and close left it.
  const first = await startHonest(t, { dir, entries: ['mine'] })
  assert.equal(await first.close(), 0)
  const before = await sizeOf(dir)

  const honest = await startHonest(t, { dir })
  const evil = await HostilePeer.open(t)
  const offered = new Set<string>()
  for (let sent = 0; sent < KEYS; sent += PER_SESSION) {
    const offers = randomOffers(Math.min(PER_SESSION, KEYS - sent))
    for (const offer of offers) offered.add(offer.key.toString('hex'))
    const session = await evil.connect(honest.port)
    session.hello(offers)
    session.done()
    assert.equal((await honest.next('stream', 30_000)).code, 'ERR_PROTOCOL')
    session.destroy()
  }
  const listed = (await honest.status()).feeds.map((f) => f.id)
  assert.deepEqual(
    listed.filter((id) => offered.has(id)),
    [],
    'no key of the flood is listed',
  )

  // An honest peer's feed is earned and replicates, over the same server.
  const peer = await create<unknown>(t)
  const writer = await peer.writer()
  await writer.append(['theirs 0', 'theirs 1'])
  const stream = peer.replicate(net.connect(honest.plainPort, '127.0.0.1'))
  const [mine, theirs] = await Promise.all([
    deadline(errorOf(stream), 20_000, 'an honest sync'),
    honest.next('stream'),
  ])
  assert.equal(mine, null)
  assert.equal(theirs.code, 'END')
  const read = await honest.command<{ values: unknown[] | null }>('read', { feed: writer.id })
  assert.deepEqual(read.values, ['theirs 0', 'theirs 1'], 'the honest feed replicated')
  assert.equal(honest.stdout, '')
  assert.equal(await honest.close(), 0)

  const growth = (await sizeOf(dir)) - before
  t.diagnostic(`${KEYS} random keys: the store's directory grew by ${growth} bytes`)
  assert.ok(growth < MAX_GROWTH, `the directory grew by ${growth} bytes`)
  const reopened = await startHonest(t, { dir })
  const ids = (await reopened.status()).feeds.map((f) => f.id)
  assert.equal(ids.filter((id) => offered.has(id)).length, 0, 'a reopen lists none of the keys')
  assert.ok(ids.includes(writer.id), 'a reopen holds the honest feed')
})

test("answers that do not prove the writer's signature: ERR_PROTOCOL and nothing stored; a true one earns the feed", async (t) => {
  const honest = await startHonest(t, { dir: await tempDir(t), entries: ['mine'] })
  const evil = await HostilePeer.open(t)
  const core = await evil.signedCore(keyPair(), ['a', 'b'])
  const other = await evil.signedCore(keyPair(), ['x'])
  const otherManifest = encodedManifest(other)!
  const id = core.key.toString('hex')
  type Forge = (m: TreeRequestMessage, truth: TreeMessage) => TreeMessage
  const forgeries: Array<[string, Forge]> = [
    ["another feed's manifest", (_m, truth) => ({ ...truth, manifest: otherManifest })],
    ['no manifest', (_m, truth) => ({ ...truth, manifest: Buffer.alloc(0) })],
    [
      'a signature that does not verify',
      (_m, truth) => ({ ...truth, signature: Buffer.alloc(truth.signature.byteLength) }),
    ],
    [
      'a node its writer did not sign',
      (_m, truth) => ({ ...truth, nodes: truth.nodes.map((n) => ({ ...n, hash: randomBytes(32) })) }),
    ],
    ['a tree of another length', (_m, truth) => ({ ...truth, length: truth.length + 1 })],
    ['"I cannot"', (m) => cannotTree(m.key)],
  ]
  for (const [what, forge] of forgeries) {
    const session = await evil.connect(honest.port, { forgeTree: (m, truth) => forge(m, truth!) })
    session.hello([await evil.offer(core)])
    session.done()
    assert.equal((await honest.next('stream')).code, 'ERR_PROTOCOL', what)
    assert.equal(session.received.treeRequests[0]?.manifest, true, `${what}: the manifest was asked for`)
    session.destroy()
    const { feeds } = await honest.status()
    assert.ok(!feeds.some((f) => f.id === id), `${what}: the feed is not listed`)
  }
  const session = await evil.connect(honest.port)
  session.hello([await evil.offer(core)])
  session.done()
  assert.equal((await honest.next('stream')).code, 'END')
  const read = await honest.command<{ values: unknown[] | null }>('read', { feed: id })
  assert.deepEqual(read.values, ['a', 'b'])
  assert.equal(honest.stdout, '')
})

function proofOf(tree: TreeMessage): Proof {
  const { fork, length, nodes, additionalNodes, signature } = tree
  const upgrade = { start: 0, length, nodes, additionalNodes, signature }
  return { fork, block: null, hash: null, seek: null, upgrade, manifest: null }
}

test('a tree request with the manifest: answered once per feed offered, "I cannot" for the rest', async (t) => {
  const m = await create(t)
  const shared = await m.writer('shared')
  const hidden = await m.writer('hidden')
  // Two appends: two blocks.
  await shared.append('s0')
  await shared.append('s1')
  await hidden.append(['h0'])
  const empty = await m.writer('empty')
  const { port, ends } = await serveReplication(t, m, { share: (feed) => feed.key !== hidden.id })
  const evil = await HostilePeer.open(t)
  const session = await evil.connect(port)
  session.hello([])
  session.requestTrees([
    { key: shared.key, length: 2, manifest: true },
    { key: hidden.key, length: 1, manifest: true },
    { key: empty.key, length: 1, manifest: true },
    { key: randomBytes(32), length: 1, manifest: true },
  ])
  const [proof, ...cannot] = await session.trees(4)
  // Answers leave in the order they are ready: the one proof is the one with a length.
  const answers = [proof!, ...cannot].sort((a, b) => b.length - a.length)
  assert.equal(answers[0]!.length, 2)
  assert.ok(answers[0]!.key.equals(shared.key))
  assert.deepEqual(verifyDetachedTree(shared.key, answers[0]!.manifest, proofOf(answers[0]!)), {
    signedLength: 2,
  })
  assert.deepEqual(
    answers.slice(1).map((a) => [a.length, a.manifest.byteLength]),
    [
      [0, 0],
      [0, 0],
      [0, 0],
    ],
  )
  // Proven once, asked again: the peer is not following the protocol.
  session.requestTrees([{ key: shared.key, length: 1, manifest: true }])
  const err = await ends[0]
  assert.equal(err?.code, 'ERR_PROTOCOL')
  assert.match(err!.message, /asked twice/)
})

test(`more than ${MAX_TREE_REQUESTS} tree requests unanswered at once fail the stream with ERR_PROTOCOL`, async (t) => {
  const m = await create(t)
  const feeds = []
  for (let i = 0; i <= MAX_TREE_REQUESTS; i++) {
    const feed = await m.writer(`w${i}`)
    await feed.append([i])
    feeds.push(feed)
  }
  const { port, ends } = await serveReplication(t, m)
  const evil = await HostilePeer.open(t)
  const session = await evil.connect(port)
  session.hello([])
  // One batch: decoded at once, before any answer (each needs the feed's core) is ready.
  session.requestTrees(feeds.map((feed) => ({ key: feed.key, length: 1, manifest: true })))
  const err = await ends[0]
  assert.equal(err?.code, 'ERR_PROTOCOL')
  assert.match(err!.message, new RegExp(`more than ${MAX_TREE_REQUESTS} tree requests`))
})

test('a peer that never answers the tree request of its feed: ERR_PROTOCOL, nothing stored', async (t) => {
  const honest = await startHonest(t, { dir: await tempDir(t), entries: ['mine'] })
  const evil = await HostilePeer.open(t)
  const core = await evil.signedCore(keyPair(), ['a'])
  const session = await evil.connect(honest.port, { answerTrees: false })
  session.hello([await evil.offer(core)])
  session.done()
  // After TREE_ANSWER_TIMEOUT, the offer is one it cannot prove.
  const outcome = await honest.next('stream', 30_000)
  assert.equal(outcome.code, 'ERR_PROTOCOL')
  assert.match(outcome.message!, /cannot prove/)
  const { feeds } = await honest.status()
  assert.ok(!feeds.some((f) => f.id === core.key.toString('hex')))
})
