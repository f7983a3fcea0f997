/**
 * Waiting nodes cost O(1) memory at open and bounded memory while waiting: 300,000 replicated
 * nodes whose links never arrive (a real hostile Kappa of the database writing them) are indexed
 * by an honest HyperKV; reopened, it is ready within 1 s more than the same store without them,
 * with at most 50 MB more RSS, and a node that does arrive still releases the one waiting for it.
 * Every step runs in a child process (test/reliability/fixtures/waiting-nodes.ts) under a
 * deadline, so a hang or a blow-up fails the test instead of the runner.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import test from 'node:test'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from '../helpers/temp.js'
import { deadline } from '../helpers/until.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/waiting-nodes.ts', import.meta.url))
const WAITING = 300_000
const MB = 1024 * 1024

/** Runs one step of the fixture; resolves with its JSON lines merged. */
async function step(args: string[], ms: number): Promise<Record<string, any>> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', FIXTURE, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf-8').on('data', (s: string) => (stdout += s))
  child.stderr.setEncoding('utf-8').on('data', (s: string) => (stderr += s))
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve))
  try {
    const code = await deadline(exited, ms, `waiting-nodes ${args.join(' ')}`)
    assert.equal(code, 0, stderr)
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL')
  }
  return Object.assign(
    {},
    ...stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as object),
  )
}

test(`${WAITING} waiting nodes: reopening costs under 1 s and 50 MB more than without them, and a link that arrives still releases its node`, async (t) => {
  const root = await tempDir(t, 'kappadb-waiting-')
  const plain = join(root, 'plain')
  const attacked = join(root, 'attacked')
  const built = await step(['build', plain, '0'], 60_000)
  const flooded = await step(['build', attacked, String(WAITING)], 600_000)
  assert.equal(flooded.changes, built.changes, 'none of the waiting nodes is visible')
  assert.ok(
    flooded.heap - built.heap <= 50 * MB,
    `while they wait, the store holds ${Math.round((flooded.heap - built.heap) / MB)} MB more heap`,
  )

  const without = await step(['open', plain], 60_000)
  const withThem = await step(['open', attacked], 60_000)
  t.diagnostic(
    `heap while waiting +${Math.round((flooded.heap - built.heap) / MB)} MB; open ` +
      `${Math.round(without.openMs)} → ${Math.round(withThem.openMs)} ms, RSS ` +
      `${Math.round(without.rss / MB)} → ${Math.round(withThem.rss / MB)} MB`,
  )
  assert.ok(
    withThem.rss - without.rss <= 50 * MB,
    `open with them: +${Math.round((withThem.rss - without.rss) / MB)} MB RSS`,
  )
  assert.ok(
    withThem.openMs - without.openMs <= 1000,
    `open with them: ready ${Math.round(withThem.openMs)} ms vs ${Math.round(without.openMs)} ms`,
  )
  assert.deepEqual([withThem.released, withThem.child], [2, 1], 'the arriving root released its child')
  assert.deepEqual([without.released, without.child], [1, 0])
  assert.deepEqual(withThem.get, [{ value: 7 }], 'the store answers')
})
