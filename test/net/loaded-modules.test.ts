/**
 * Only `join` needs Hyperswarm: importing a store layer (or the command's entry) loads neither
 * Hyperswarm nor HyperDHT, so an app that never joins a swarm never pays for one. Each import runs
 * in a fresh child process, which then lists the CommonJS modules loaded.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

const PROBE = `
import { createRequire } from 'node:module'
await import(process.argv[1])
const loaded = Object.keys(createRequire(import.meta.url).cache)
console.log(JSON.stringify(loaded.filter((p) => /node_modules[\\\\/](hyperswarm|hyperdht)[\\\\/]/.test(p)).length))
`

async function swarmModulesLoadedBy(module: string): Promise<number> {
  const path = fileURLToPath(new URL(`../../src/${module}`, import.meta.url))
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', PROBE, path],
    {
      timeout: 60_000,
    },
  )
  return JSON.parse(stdout.trim()) as number
}

for (const module of [
  'feeds/index.ts',
  'kappa/index.ts',
  'hyperlog/index.ts',
  'kv/index.ts',
  'cli/index.ts',
]) {
  test(`importing ${module} loads no Hyperswarm module`, async () => {
    assert.equal(await swarmModulesLoadedBy(module), 0)
  })
}

test('importing net/index.ts does load Hyperswarm (the probe sees it)', async () => {
  assert.ok((await swarmModulesLoadedBy('net/index.ts')) > 0)
})
