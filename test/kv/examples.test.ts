import test from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/kv.js'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../..', import.meta.url))

async function example(name: string, args: string[], dir: string): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], {
    cwd: root,
    env: { ...process.env, KV_DB: dir },
  })
  return stdout
}

test("the seed README's put.js / get.js print the README's hashes and values", async (t) => {
  const dir = await tempDir(t)
  assert.equal(
    await example('put', ['greeting', 'hello'], dir),
    '1f1b819cd3f7d379914037b473a855b7867f71c76126e379c91cbb31df2a859b\n',
  )
  assert.equal(
    await example('put', ['greeting', 'beep boop'], dir),
    'eadb22a224313d5fb5b811e50915f16491e7714dd32b83503c1e1a1db2bd9e9b\n',
  )
  assert.equal(
    await example('get', ['greeting'], dir),
    "{\n  eadb22a224313d5fb5b811e50915f16491e7714dd32b83503c1e1a1db2bd9e9b: { value: 'beep boop' }\n}\n",
  )
})
