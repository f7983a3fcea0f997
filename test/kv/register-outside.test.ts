/**
 * The kv suite once more with the register in a database of its own (`hyperkv({ log, db })`):
 * the second write regime (the register index follows the log; writes take their heads from the
 * store's predictions), through every test that opens its stores with the shared helpers.
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))

test(
  'the kv suite passes with the register outside the log',
  { skip: process.env.KAPPADB_KV_REGISTER === 'outside' },
  () => {
    const files = readdirSync(here)
      .filter((f) => f.endsWith('.test.ts') && f !== 'register-outside.test.ts')
      .map((f) => join(here, f))
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...files], {
      // Without the parent's test-runner context, the child reports as a runner of its own.
      env: { ...withoutTestContext(process.env), KAPPADB_KV_REGISTER: 'outside' },
      encoding: 'utf8',
      timeout: 600_000,
    })
    const failures = (run.stdout ?? '').split('\n').filter((line) => line.startsWith('not ok'))
    assert.equal(
      run.status,
      0,
      `${failures.join('\n')}\n${(run.stdout ?? '').slice(-4000)}${run.stderr ?? ''}`,
    )
  },
)

function withoutTestContext(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const copy = { ...env }
  delete copy.NODE_TEST_CONTEXT
  return copy
}
