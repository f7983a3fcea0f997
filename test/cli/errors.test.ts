// Bad input that gets past the command line: one line on stderr, exit 1, nothing written.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { hyperkv } from '../../src/index.js'
import { CliProcess, ROOT, errorCode, removeDir, runCli, runMain, tempDir } from '../helpers/cli.js'

async function snapshot(dir: string): Promise<string> {
  const r = await runMain(['-d', dir, 'list', '--fields'])
  assert.equal(r.code, 0, r.stderr)
  return r.stdout
}

test('a link to an unknown node: ERR_NOT_FOUND, exit 1, nothing written', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  const first = await runMain(['-d', dir, 'put', 'k', 'v'])
  assert.equal(first.code, 0, first.stderr)
  const before = await snapshot(dir)
  for (const command of [
    ['put', 'k', 'w', '--links', 'b'.repeat(64)],
    ['put', 'other', 'w', '--links', `${first.stdout.trim()},${'c'.repeat(64)}`],
    ['del', 'k', '--links', 'd'.repeat(64)],
  ]) {
    const r = await runMain(['-d', dir, ...command])
    assert.equal(r.code, 1, r.stderr)
    assert.equal(errorCode(r.stderr), 'ERR_NOT_FOUND', r.stderr)
    assert.equal(r.stdout, '')
  }
  assert.equal(await snapshot(dir), before)
  const history = await runMain(['-d', dir, 'history', 'other'])
  assert.equal(history.stdout, '')
})

test('a directory that cannot be created or written: ERR_STORAGE, exit 1, in a child process', async (t) => {
  const parent = await tempDir()
  t.after(async () => {
    await chmod(join(parent, 'readonly'), 0o755).catch(() => undefined)
    await removeDir(parent)
  })
  const file = join(parent, 'file')
  await writeFile(file, 'not a directory')
  const r = await runCli(['-d', join(file, 'db'), 'put', 'k', 'v'])
  assert.equal(r.code, 1, r.stderr)
  assert.equal(errorCode(r.stderr), 'ERR_STORAGE', r.stderr)
  assert.equal(r.stdout, '')

  // Permissions do not bind root, so this half only runs as an ordinary user.
  if (process.getuid?.() !== 0) {
    const readonly = join(parent, 'readonly')
    await mkdir(readonly)
    await chmod(readonly, 0o555)
    const denied = await runMain(['-d', join(readonly, 'db'), 'put', 'k', 'v'])
    assert.equal(denied.code, 1, denied.stderr)
    assert.equal(errorCode(denied.stderr), 'ERR_STORAGE', denied.stderr)
  }
})

test('a directory another program holds (no hyperkv, no socket): ERR_LOCKED, exit 1, nothing written', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  assert.equal((await runMain(['-d', dir, 'put', 'k', 'v'])).code, 0)
  const before = await snapshot(dir)
  const holder = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test/helpers/kv-holder-child.ts'), dir],
    {
      cwd: ROOT,
    },
  )
  const exited = once(holder, 'close')
  t.after(async () => {
    holder.stdin.end()
    await exited
  })
  await once(holder.stdout, 'data')

  const inChild = await runCli(['-d', dir, 'put', 'k', 'w'])
  assert.equal(inChild.code, 1, inChild.stderr)
  assert.equal(errorCode(inChild.stderr), 'ERR_LOCKED', inChild.stderr)
  assert.equal(inChild.stdout, '')
  const inProcess = await runMain(['-d', dir, 'get', 'k'])
  assert.equal(inProcess.code, 1)
  assert.equal(errorCode(inProcess.stderr), 'ERR_LOCKED', inProcess.stderr)

  holder.stdin.end()
  await exited
  assert.equal(await snapshot(dir), before)
})

test('stdout closed by its reader (hyperkv list | head -1): a quiet end, exit 141, no error line', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  const kv = hyperkv(dir)
  await kv.batch(Array.from({ length: 20_000 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: i })))
  await kv.close()
  const p = new CliProcess(['-d', dir, 'list'])
  await once(p.child.stdout, 'data')
  p.child.stdout.destroy()
  const r = await p.exit()
  assert.equal(r.code, 141, r.stderr)
  assert.equal(r.stderr, '')
})
