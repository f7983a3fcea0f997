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
import { create, errorOf } from '../helpers/feeds.js'
import { startHonest } from '../helpers/honest-process.js'
import { HostilePeer, randomOffers } from '../helpers/hostile-peer.js'
import { tempDir } from '../helpers/temp.js'
import { deadline } from '../helpers/until.js'

const KEYS = process.env.EXTENSIVE === '1' ? 10_000 : 2_000
/** Offers per hostile connection: each connection fails (ERR_PROTOCOL) on its first unprovable one. */
const PER_SESSION = 16
/**
 * What the attack may add to the store's directory, whatever the number of keys: what one more
 * open and close of the store writes (its database's logs and manifest) and the honest sync's
 * records — about 66 KB with no attack at all. Without the proof first every key left a core
 * record: 2,000 keys grew it by 460,118 bytes.
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
