// `hyperkv block FEED [--drop]`, `unblock FEED` and the `blocked` column of `feeds`, in child
// processes: a blocked writer's puts stop showing; bad input is a coded error and changes nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { errorCode, removeDir, runCli, runMain, syncDirs, tempDir, type CliResult } from '../helpers/cli.js'

/** `hyperkv ARGS` in a child process, killed after `ms` (a stalled command fails the test). */
function run(args: string[], ms = 60_000): Promise<CliResult> {
  return runCli(args, { timeout: ms })
}

async function twoSynced(parent: string): Promise<{ A: string; B: string; a: string }> {
  const [A, B] = [join(parent, 'a'), join(parent, 'b')]
  assert.equal((await runMain(['-d', A, 'put', 'x', '"from a"'])).code, 0)
  assert.equal((await runMain(['-d', B, 'put', 'y', '"from b"'])).code, 0)
  const [ra, rb] = await syncDirs(A, B)
  assert.deepEqual([ra.code, rb.code], [0, 0], ra.stderr + rb.stderr)
  const a = (await runMain(['-d', A, 'whoami'])).stdout.trim()
  return { A, B, a }
}

test('block FEED prints its row; bad input is ERR_USAGE or ERR_INVALID_ARGUMENT and changes nothing', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const { B, a } = await twoSynced(parent)
  const self = (await runMain(['-d', B, 'whoami'])).stdout.trim()
  const before = await runMain(['-d', B, 'feeds'])
  for (const line of before.stdout.split('\n').filter(Boolean))
    assert.equal((JSON.parse(line) as { blocked: boolean }).blocked, false)
  for (const argv of [
    ['block'],
    ['block', 'zz'],
    ['block', a.slice(2)],
    ['block', a, 'extra'],
    ['unblock'],
    ['unblock', 'nothex'],
    ['block', a, '--up-to', '1'],
  ]) {
    const r = await runMain(['-d', B, ...argv])
    assert.deepEqual([r.code, errorCode(r.stderr), r.stdout], [2, 'ERR_USAGE', ''], argv.join(' '))
  }
  for (const argv of [
    ['block', self], // its own writer
    ['block', a, '--drop'], // a hyperkv feed resolves links: its blocks stay
  ]) {
    const r = await run(['-d', B, ...argv])
    assert.deepEqual([r.code, errorCode(r.stderr), r.stdout], [1, 'ERR_INVALID_ARGUMENT', ''], argv.join(' '))
  }
  assert.equal((await runMain(['-d', B, 'feeds'])).stdout, before.stdout, 'nothing changed')
  const none = join(parent, 'none')
  const r = await runMain(['-d', none, 'block', a])
  assert.deepEqual([r.code, errorCode(r.stderr)], [1, 'ERR_NOT_FOUND'])
  assert.equal(existsSync(none), false, 'block on an empty DIR creates nothing')

  const blocked = await run(['-d', B, 'block', a.toUpperCase()])
  assert.equal(blocked.code, 0, blocked.stderr)
  assert.deepEqual(JSON.parse(blocked.stdout), { key: a, blocked: true })
})

test('a block lasts: feeds marks the feed blocked, its puts show nowhere, unblock brings them back', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const { B, a } = await twoSynced(parent)
  assert.equal((await run(['-d', B, 'block', a])).code, 0)
  const feeds = await run(['-d', B, 'feeds'], 20_000)
  assert.equal(feeds.code, 0, feeds.stderr)
  const row = feeds.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { key: string; blocked: boolean })
    .find((r) => r.key === a)
  assert.equal(row?.blocked, true)
  assert.equal((await run(['-d', B, 'get', 'x'], 20_000)).stdout.trim(), '{}')
  assert.equal((await run(['-d', B, 'unblock', a], 20_000)).code, 0)
  assert.match((await run(['-d', B, 'get', 'x'], 20_000)).stdout, /from a/)
})
