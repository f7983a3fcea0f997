// A node whose links are not visible yet waits (persisted) and becomes visible, in topological
// change order, in the same batch as its last missing link.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type TestContext } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { Kappa, type LevelDb } from '../../src/kappa/index.js'
import { Hyperlog, defaultHash, type HyperlogNode, type NodeHash } from '../../src/hyperlog/index.js'
import { encodeEntry } from '../../src/hyperlog/messages.js'
import { collect } from '../helpers/hyperlog.js'

async function open(t: TestContext, dir: string) {
  const kappa = new Kappa(join(dir, 'logs'), { valueEncoding: 'binary' })
  const db = new ClassicLevel(join(dir, 'index')) as unknown as LevelDb
  const log = new Hyperlog<string>({ kappa, db }, { valueEncoding: 'utf-8' })
  const close = async () => {
    await log.close()
    await kappa.close()
    await db.close()
  }
  t.after(close)
  await log.ready()
  return { kappa, log, close }
}

const entry = (links: string[], value: string) =>
  encodeEntry({ links: links as NodeHash[], value: Buffer.from(value), identity: null, signature: null })

test('nodes wait for their links, across a restart, then become visible in topological order', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-hyperlog-'))
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }))
  const root = defaultHash([], Buffer.from('root'))
  const child = defaultHash([root], Buffer.from('child'))
  const grandchild = defaultHash([child], Buffer.from('grandchild'))

  const first = await open(t, dir)
  // A log indexed before the hyperlog's own: its nodes link to a node nobody has yet.
  const early = await first.kappa.writer('early')
  await early.append([entry([child], 'grandchild'), entry([root], 'child')])
  await first.log.ready()
  assert.equal(first.log.changes, 0)
  await assert.rejects(first.log.get(child), (err: any) => err.notFound === true)
  await first.close()

  const second = await open(t, dir)
  assert.equal(second.log.changes, 0, 'still waiting after a restart')
  const added: string[] = []
  second.log.on('add', (node) => added.push(node.value))
  const rootNode = await second.log.add(null, 'root')
  assert.equal(rootNode.key, root)
  assert.equal(rootNode.change, 1)
  assert.deepEqual(added, ['root', 'child', 'grandchild'])
  const nodes = await collect<HyperlogNode<string>>(second.log.createReadStream())
  assert.deepEqual(
    nodes.map((n) => [n.value, n.change]),
    [
      ['root', 1],
      ['child', 2],
      ['grandchild', 3],
    ],
  )
  assert.deepEqual(
    (await second.log.heads()).map((n) => n.key),
    [grandchild],
  )
  assert.equal((await second.log.get(child)).seq, 2, 'child is the second entry of the early log')
})

test('a node waiting for two links is released by the last one; links of custom hashes that extend each other are told apart', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-hyperlog-'))
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 3 }))
  // A custom hash: the value itself, so hashes "x" and "x!y" share the prefix of the index keys.
  const openWithHash = async () => {
    const kappa = new Kappa(join(dir, 'logs'), { valueEncoding: 'binary' })
    const db = new ClassicLevel(join(dir, 'index')) as unknown as LevelDb
    const log = new Hyperlog<string>(
      { kappa, db },
      { valueEncoding: 'utf-8', hash: (_links, value) => value.toString() },
    )
    await log.ready()
    const close = async () => {
      await log.close()
      await kappa.close()
      await db.close()
    }
    return { kappa, log, close }
  }
  const first = await openWithHash()
  const early = await first.kappa.writer('early')
  await early.append([entry(['x'], 'w1'), entry(['x!y'], 'w2'), entry(['x', 'x!y'], 'w3')])
  await first.log.ready()
  assert.equal(first.log.changes, 0)
  const added: string[] = []
  first.log.on('add', (node) => added.push(node.value))
  await first.log.add(null, 'x')
  assert.deepEqual(added, ['x', 'w1'], 'x releases w1 only: w3 still waits for x!y, w2 never waited for x')
  await first.close()

  const second = await openWithHash()
  t.after(() => second.close())
  const later: string[] = []
  second.log.on('add', (node) => later.push(node.value))
  await second.log.add(null, 'x!y')
  assert.deepEqual(later.sort(), ['w2', 'w3', 'x!y'])
  const nodes = await collect<HyperlogNode<string>>(second.log.createReadStream())
  assert.deepEqual(
    nodes.map((n) => n.value),
    ['x', 'w1', 'x!y', 'w2', 'w3'],
    'change order is topological',
  )
})
