// `hyperkv join` between three real processes on a local testnet: no address given, they converge.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import createTestnet from 'hyperdht/testnet.js'
import { CliProcess, removeDir, runMain, tempDir } from '../helpers/cli.js'

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
