// `hyperkv init`, `key`, `feeds` and the database key's part in sync and join: a directory made by
// init replicates only with directories of its key; one never initialised keeps the open key.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import createTestnet from 'hyperdht/testnet.js'
import { OPEN_DATABASE_KEY } from '../../src/feeds/index.js'
import { topicFromKey } from '../../src/net/index.js'
import { CliProcess, errorCode, removeDir, runCli, runMain, syncDirs, tempDir } from '../helpers/cli.js'

const OPEN_HEX = OPEN_DATABASE_KEY.toString('hex')
const HEX = /^[0-9a-f]{64}$/

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

async function sync(a: string, b: string): Promise<[number | null, number | null, string]> {
  const [ra, rb] = await syncDirs(a, b)
  return [ra.code, rb.code, ra.stderr + rb.stderr]
}

test('init makes a database with a new key, kept in DIR/db.key (0600); key and status print it; a second init is refused', async (t) => {
  const dir = join(await tempDir(), 'db')
  t.after(() => removeDir(join(dir, '..')))
  const init = await runCli(['-d', dir, 'init'])
  assert.deepEqual([init.code, init.stderr], [0, ''])
  const key = init.stdout.trim()
  assert.match(key, HEX)
  assert.notEqual(key, OPEN_HEX)
  assert.equal((await stat(join(dir, 'db.key'))).mode & 0o777, 0o600)

  const printed = await runMain(['-d', dir, 'key'])
  assert.deepEqual([printed.code, printed.stdout, printed.stderr], [0, `${key}\n`, ''])
  const status = await runMain(['-d', dir, 'status', '--json'])
  assert.equal((JSON.parse(status.stdout) as { databaseKey: string }).databaseKey, key)
  // The directory is a database now: a read-only command works on it.
  assert.deepEqual((await runMain(['-d', dir, 'list'])).code, 0)

  const before = await readFile(join(dir, 'db.key'))
  const again = await runMain(['-d', dir, 'init'])
  assert.equal(again.code, 1)
  assert.equal(errorCode(again.stderr), 'ERR_INVALID_ARGUMENT')
  assert.deepEqual(await readFile(join(dir, 'db.key')), before)
  const withKey = await runMain(['-d', dir, 'init', '--key', 'ab'.repeat(32)])
  assert.equal(errorCode(withKey.stderr), 'ERR_INVALID_ARGUMENT')
  assert.deepEqual(await readFile(join(dir, 'db.key')), before)
})

test('init refuses a directory that holds an open-key database, and bad --key values, changing nothing', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  assert.equal((await runMain(['-d', dir, 'put', 'a', '1'])).code, 0)
  const refused = await runMain(['-d', dir, 'init'])
  assert.equal(errorCode(refused.stderr), 'ERR_INVALID_ARGUMENT')
  assert.equal(await exists(join(dir, 'db.key')), false)
  assert.equal((await runMain(['-d', dir, 'key'])).stdout, `${OPEN_HEX}\n`)
  assert.equal(JSON.parse((await runMain(['-d', dir, 'get', 'a'])).stdout) !== null, true)

  const fresh = join(dir, 'fresh')
  for (const bad of ['abc', 'zz'.repeat(32), 'ab'.repeat(33), '']) {
    const r = await runMain(['-d', fresh, 'init', '--key', bad])
    assert.deepEqual([r.code, errorCode(r.stderr)], [2, 'ERR_USAGE'], bad)
  }
  assert.equal(await exists(fresh), false, 'a refused init creates nothing')
})

test('key on a directory never initialised prints the open key, says so on stderr, and creates nothing', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const dir = join(parent, 'none')
  const r = await runMain(['-d', dir, 'key'])
  assert.equal(r.code, 0)
  assert.equal(r.stdout, `${OPEN_HEX}\n`)
  assert.match(r.stderr, /open key/)
  assert.match(r.stderr, /init/)
  assert.equal(await exists(dir), false)
})

test('a damaged DIR/db.key is ERR_STORAGE naming the file, for every command that opens the store', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  assert.equal((await runMain(['-d', dir, 'init'])).code, 0)
  await writeFile(join(dir, 'db.key'), Buffer.from([1, 2, 3]))
  for (const argv of [['key'], ['get', 'a'], ['put', 'a', '1']]) {
    const r = await runMain(['-d', dir, ...argv])
    assert.equal(errorCode(r.stderr), 'ERR_STORAGE', argv.join(' '))
    assert.match(r.stderr, /db\.key is damaged/)
  }
})

test('init --key: directories of one key sync; a directory of another key, or the open key, is refused', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const [A, B, C, O] = ['a', 'b', 'c', 'o'].map((n) => join(parent, n)) as [string, string, string, string]
  const key = (await runCli(['-d', A, 'init'])).stdout.trim()
  const sameKey = await runMain(['-d', B, 'init', '--key', key])
  assert.deepEqual([sameKey.code, sameKey.stdout], [0, `${key}\n`])
  assert.equal((await runMain(['-d', C, 'init'])).code, 0)
  for (const dir of [A, C, O])
    assert.equal((await runMain(['-d', dir, 'put', 'from', JSON.stringify(dir)])).code, 0)

  const [a, b, stderr] = await sync(A, B)
  assert.deepEqual([a, b], [0, 0], stderr)
  assert.equal((await runMain(['-d', B, 'list'])).stdout, (await runMain(['-d', A, 'list'])).stdout)

  for (const other of [C, O]) {
    const [x, y, why] = await sync(A, other)
    assert.deepEqual([x, y], [1, 1], why)
    assert.match(why, /ERR_KEY_MISMATCH: the peer uses a different database key/)
  }
  const fromC = JSON.parse((await runMain(['-d', C, 'get', 'from'])).stdout) as Record<string, unknown>
  assert.equal(Object.keys(fromC).length, 1, 'C took nothing from A')
})

test('feeds prints one JSON row per feed: this writer (named) and the writers synced in', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const [A, B] = [join(parent, 'a'), join(parent, 'b')]
  assert.equal((await runMain(['-d', A, 'put', 'x', '1'])).code, 0)
  assert.equal((await runMain(['-d', A, 'put', 'y', '2'])).code, 0)
  assert.equal((await runMain(['-d', B, 'put', 'z', '3'])).code, 0)
  const rows = async (dir: string) =>
    (await runMain(['-d', dir, 'feeds'])).stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { key: string; name?: string; length: number })
  const own = await rows(A)
  assert.equal(own.length, 1)
  assert.match(own[0]!.key, HEX)
  assert.equal(typeof own[0]!.name, 'string')
  assert.ok(own[0]!.length >= 2)

  const [a, b, stderr] = await sync(A, B)
  assert.deepEqual([a, b], [0, 0], stderr)
  const both = await rows(B)
  assert.equal(both.length, 2)
  const fromA = both.find((r) => r.key === own[0]!.key)
  assert.ok(fromA, "A's feed is listed on B")
  assert.equal(fromA.name, undefined, 'a remote feed has no local name')
  assert.equal(fromA.length, own[0]!.length)
  assert.equal((await runMain(['-d', join(parent, 'none'), 'feeds'])).code, 1, 'feeds only reads')
})

test('join without TOPIC: refused on an open-key database (ERR_USAGE, says how to make a key); with a key, meets on its topic', async (t) => {
  const testnet = await createTestnet(3)
  const parent = await tempDir()
  const env = { HYPERKV_BOOTSTRAP: testnet.bootstrap.map((n) => `${n.host}:${n.port}`).join(',') }
  const running: CliProcess[] = []
  t.after(async () => {
    await Promise.all(running.map((p) => p.stop()))
    await testnet.destroy()
    await removeDir(parent)
  })
  const open = join(parent, 'open')
  assert.equal((await runMain(['-d', open, 'put', 'a', '1'])).code, 0)
  const refused = await runCli(['-d', open, 'join'], { env })
  assert.deepEqual([refused.code, errorCode(refused.stderr)], [2, 'ERR_USAGE'])
  assert.match(refused.stderr, /open key/)
  assert.match(refused.stderr, /hyperkv -d NEWDIR init/)

  const [A, B] = [join(parent, 'a'), join(parent, 'b')]
  const key = (await runMain(['-d', A, 'init'])).stdout.trim()
  assert.equal((await runMain(['-d', B, 'init', '--key', key])).code, 0)
  assert.equal((await runMain(['-d', A, 'put', 'k', '"from a"'])).code, 0)
  const topic = topicFromKey(Buffer.from(key, 'hex')).toString('hex')
  for (const dir of [A, B]) running.push(new CliProcess(['-d', dir, 'join'], { env }))
  for (const p of running)
    await p.waitForStderr(new RegExp(`joined topic ${topic} \\(from the database key\\)`), 30000)
  await running[1]!.waitForStderr(/\(1 node in total\)/, 30000)
  const got = JSON.parse((await runMain(['-d', B, 'get', 'k'])).stdout) as Record<string, { value: unknown }>
  assert.deepEqual(Object.values(got), [{ value: 'from a' }])
})
