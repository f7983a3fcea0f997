// `hyperkv join` between three real processes on a local testnet: no address given, they converge.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import createTestnet from 'hyperdht/testnet.js'
import { CliProcess, removeDir, runCli, runMain, tempDir } from '../helpers/cli.js'

test('three `hyperkv join` processes on a local testnet converge without any address given', async (t) => {
  const testnet = await createTestnet(3)
  const dirs = [await tempDir(), await tempDir(), await tempDir()]
  const env = { HYPERKV_BOOTSTRAP: testnet.bootstrap.map((n) => `${n.host}:${n.port}`).join(',') }
  const peers: CliProcess[] = []
  t.after(async () => {
    await Promise.all(peers.map((p) => p.stop()))
    await testnet.destroy()
    await Promise.all(dirs.map(removeDir))
  })
  // Each writes its own key and one shared key while apart.
  for (const [i, dir] of dirs.entries()) {
    assert.equal((await runMain(['-d', dir, 'put', `own${i}`, `${i}`])).code, 0)
    assert.equal((await runMain(['-d', dir, 'put', 'shared', `"from ${i}"`])).code, 0)
  }
  for (const dir of dirs) peers.push(new CliProcess(['-d', dir, 'join', 'kappadb-test-room'], { env }))
  for (const p of peers) await p.waitForStderr(/\(6 nodes in total\)/, 30000)
  for (const p of peers) assert.match(p.stderr, /peer [0-9a-f]{8} connected/)
  const results = await Promise.all(peers.map((p) => p.stop()))
  for (const r of results) assert.equal(r.code, 0, r.stderr)

  const lists = await Promise.all(dirs.map((dir) => runMain(['-d', dir, 'list'])))
  assert.equal(lists[1]!.stdout, lists[0]!.stdout)
  assert.equal(lists[2]!.stdout, lists[0]!.stdout)
  const shared = JSON.parse((await runMain(['-d', dirs[0]!, 'get', 'shared'])).stdout) as Record<
    string,
    unknown
  >
  assert.equal(Object.keys(shared).length, 3, 'three concurrent values of the shared key')
})

test('join with no DHT bootstrap node answering says so on stderr, keeps trying, and stops cleanly', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  // Nothing listens on UDP port 1 of the loopback: no bootstrap node can answer.
  const p = new CliProcess(['-d', dir, 'join', 'kappadb-offline-test', '--bootstrap', '127.0.0.1:1'])
  t.after(() => p.stop())
  await p.waitForStderr(/no DHT bootstrap node answers \(127\.0\.0\.1:1\)/, 20_000)
  assert.equal(p.child.exitCode, null, 'join keeps running')
  // -q keeps the warning (it is no progress line).
  const quiet = new CliProcess([
    '-d',
    `${dir}-q`,
    '-q',
    'join',
    'kappadb-offline-test',
    '--bootstrap',
    '127.0.0.1:1',
  ])
  t.after(async () => {
    await quiet.stop()
    await removeDir(`${dir}-q`)
  })
  await quiet.waitForStderr(/no DHT bootstrap node answers/, 20_000)
  // status through the holder reports it.
  const status = await runCli(['-d', dir, 'status', '--json'])
  assert.equal(status.code, 0, status.stderr)
  assert.equal((JSON.parse(status.stdout) as { swarm: { bootstrap: string } }).swarm.bootstrap, 'unreachable')
  const r = await p.stop()
  assert.equal(r.code, 0, r.stderr)
  assert.match(r.stderr, /left the topic/)
})

test('a directory keeps its peer identity across runs of join (DIR/peer.key, 0600); a clean leave is seen as one', async (t) => {
  const testnet = await createTestnet(3)
  const [dir, other] = [await tempDir(), await tempDir()]
  const env = { HYPERKV_BOOTSTRAP: testnet.bootstrap.map((n) => `${n.host}:${n.port}`).join(',') }
  const running: CliProcess[] = []
  t.after(async () => {
    await Promise.all(running.map((p) => p.stop()))
    await testnet.destroy()
    await Promise.all([removeDir(dir), removeDir(other)])
  })
  const seen: string[] = []
  for (let run = 0; run < 2; run++) {
    // A watcher of its own each run (its directory, so its identity, stays): a swarm that lost a
    // peer retries it with backoff, which is Hyperswarm's business, not this test's.
    const watcher = new CliProcess(['-d', other, 'join', 'kappadb-identity-test'], { env })
    const p = new CliProcess(['-d', dir, 'join', 'kappadb-identity-test'], { env })
    running.push(watcher, p)
    const [, id] = (await p.waitForStderr(
      /joined topic [0-9a-f]{64} as peer ([0-9a-f]{8})/,
      30_000,
    )) as string[]
    await watcher.waitForStderr(new RegExp(`peer ${id} connected`), 30_000)
    seen.push(id!)
    // Stopped with Ctrl-C: the watcher sees it leave cleanly (an end, not a timeout).
    p.child.kill('SIGINT')
    assert.equal((await p.exit()).code, 0)
    const [, code] = (await watcher.waitForStderr(new RegExp(`peer ${id} left(: [A-Z_]+)? \\(`))) as string[]
    assert.equal(code, undefined, `left without an error: ${watcher.stderr}`)
    assert.equal((await watcher.stop()).code, 0)
  }
  assert.equal(seen[1], seen[0], 'the same peer id on both runs')
  const key = await stat(join(dir, 'peer.key'))
  assert.equal(key.mode & 0o777, 0o600)
  assert.equal(key.size, 65)
})
