// The README's local-testnet recipe prints what --bootstrap and $HYPERKV_BOOTSTRAP take, and a join
// given it finds its DHT bootstrap node.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseBootstrap } from '../../src/net/index.js'
import { CliProcess, ROOT, removeDir, runCli, tempDir } from '../helpers/cli.js'

test("the README's testnet recipe prints a bootstrap list that join takes", async (t) => {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf-8')
  const recipe = /`node -e "(require\('hyperdht\/testnet'\)[^"]*)"`/.exec(readme)?.[1]
  assert.ok(recipe, 'the README has the recipe')
  const testnet = spawn(process.execPath, ['-e', recipe], { cwd: ROOT })
  const exited = once(testnet, 'close')
  t.after(async () => {
    testnet.kill('SIGTERM')
    await exited
  })
  const [first] = (await once(testnet.stdout, 'data')) as [Buffer]
  const line = first.toString().trim()
  assert.match(line, /^127\.0\.0\.1:\d+(,127\.0\.0\.1:\d+)*$/)
  assert.ok(parseBootstrap(line).length >= 1)

  const dir = await tempDir()
  t.after(() => removeDir(dir))
  const p = new CliProcess(['-d', dir, 'join', 'kappadb-recipe-test', '--bootstrap', line])
  t.after(() => p.stop())
  await p.waitForStderr(/joined topic/)
  for (let tries = 0; ; tries++) {
    const status = await runCli(['-d', dir, 'status', '--json'])
    assert.equal(status.code, 0, status.stderr)
    const state = (JSON.parse(status.stdout) as { swarm: { bootstrap: string } }).swarm.bootstrap
    if (state === 'reachable') break
    assert.notEqual(state, 'unreachable', p.stderr)
    assert.ok(tries < 100, 'the bootstrap node answers')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  assert.equal((await p.stop()).code, 0)
})
