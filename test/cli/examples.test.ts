// The examples and the command use one directory layout: what examples/put.ts writes, `hyperkv
// get` reads (and creates nothing beside it); what `hyperkv put` writes, examples/get.ts reads.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir } from 'node:fs/promises'
import { promisify } from 'node:util'
import { ROOT, removeDir, runCli, tempDir } from '../helpers/cli.js'

const run = promisify(execFile)

async function example(name: string, args: string[], dir: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], {
    cwd: ROOT,
    env: { ...process.env, KV_DB: dir },
  })
  return stdout
}

test('examples/put.ts and the hyperkv command read and write the same directory', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  const hash = (await example('put', ['greeting', 'hello'], dir)).trim()
  const layout = (await readdir(dir)).sort()
  const get = await runCli(['-d', dir, 'get', 'greeting'])
  assert.equal(get.code, 0, get.stderr)
  assert.deepEqual(JSON.parse(get.stdout), { [hash]: { value: 'hello' } })
  assert.deepEqual(
    (await readdir(dir)).sort(),
    layout,
    'hyperkv created nothing beside what the example made',
  )
  assert.deepEqual(layout, ['index', 'logs'])

  const put = await runCli(['-d', dir, 'put', 'greeting', 'beep boop'])
  assert.equal(put.code, 0, put.stderr)
  assert.equal(
    await example('get', ['greeting'], dir),
    `{\n  ${put.stdout.trim()}: { value: 'beep boop' }\n}\n`,
  )
})
