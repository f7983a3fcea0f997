// push | pull | sync over stdin/stdout between real child processes, cross-connected.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CliProcess, crossConnect, errorCode, removeDir, runMain, tempDir } from '../helpers/cli.js'

async function put(dir: string, key: string, value: string): Promise<string> {
  const r = await runMain(['-d', dir, 'put', key, value])
  assert.equal(r.code, 0, r.stderr)
  return r.stdout.trim()
}

async function list(dir: string): Promise<string> {
  const r = await runMain(['-d', dir, 'list'])
  assert.equal(r.code, 0, r.stderr)
  return r.stdout
}

async function get(dir: string, key: string): Promise<unknown> {
  const r = await runMain(['-d', dir, 'get', key])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as unknown
}

/** Two processes wired stdout→stdin both ways; resolves with both exit results. */
async function pair(a: string[], b: string[]): Promise<[CliProcess, CliProcess]> {
  const pa = new CliProcess(a)
  const pb = new CliProcess(b)
  crossConnect(pa, pb)
  await Promise.all([pa.exit(), pb.exit()])
  return [pa, pb]
}

test('sync ⇄ sync: both exit 0 and leave the two directories identical, conflicts included', async (t) => {
  const [A, B] = [await tempDir(), await tempDir()]
  t.after(() => Promise.all([removeDir(A), removeDir(B)]))
  await put(A, 'a', '1')
  const fromA = await put(A, 'shared', '"from a"')
  await put(B, 'b', '2')
  const fromB = await put(B, 'shared', '"from b"')

  const [pa, pb] = await pair(['-d', A, 'sync'], ['-d', B, 'sync'])
  const [ra, rb] = [await pa.exit(), await pb.exit()]
  assert.equal(ra.code, 0, ra.stderr)
  assert.equal(rb.code, 0, rb.stderr)

  const listA = await list(A)
  assert.equal(listA, await list(B))
  assert.deepEqual(
    listA
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { key: string }).key),
    ['a', 'b', 'shared'],
  )
  assert.deepEqual(await get(A, 'shared'), { [fromA]: { value: 'from a' }, [fromB]: { value: 'from b' } })

  // Syncing again changes nothing and still ends cleanly.
  const [again1, again2] = await pair(['-d', A, '-q', 'sync'], ['-d', B, '-q', 'sync'])
  assert.deepEqual([(await again1.exit()).code, (await again2.exit()).code], [0, 0])
  assert.equal(await list(B), listA)
})

test('push → pull copies one way only; push + push and pull + pull are refused on both sides', async (t) => {
  const [A, B] = [await tempDir(), await tempDir()]
  t.after(() => Promise.all([removeDir(A), removeDir(B)]))
  await put(A, 'a', '1')
  await put(B, 'b', '2')
  const beforeA = await list(A)

  const [push, pull] = await pair(['-d', A, 'push'], ['-d', B, 'pull'])
  assert.equal((await push.exit()).code, 0, push.stderr)
  assert.equal((await pull.exit()).code, 0, pull.stderr)
  assert.deepEqual(await get(B, 'a'), await get(A, 'a'))
  assert.equal(await list(A), beforeA, 'the pushing side received nothing')

  for (const mode of ['push', 'pull']) {
    const beforeB = await list(B)
    const [x, y] = await pair(['-d', A, mode], ['-d', B, mode])
    for (const p of [x, y]) {
      const r = await p.exit()
      assert.equal(r.code, 1, `${mode}+${mode} must fail: ${r.stderr}`)
      assert.equal(errorCode(r.stderr), 'ERR_MODE_CONFLICT', r.stderr)
    }
    assert.equal(await list(A), beforeA)
    assert.equal(await list(B), beforeB)
  }
})

test('sync --live streams new entries until stopped, then both exit 0', async (t) => {
  const [A, B] = [await tempDir(), await tempDir()]
  t.after(() => Promise.all([removeDir(A), removeDir(B)]))
  await put(A, 'a', '1')
  await put(A, 'a2', '1')
  await put(B, 'b', '2')
  const pa = new CliProcess(['-d', A, 'sync', '--live'])
  const pb = new CliProcess(['-d', B, 'sync', '--live'])
  crossConnect(pa, pb)
  t.after(() => Promise.all([pa.stop(), pb.stop()]))
  // Each side reports what it received; the live streams stay open after that.
  await pa.waitForStderr(/; 3 nodes in total/)
  await pb.waitForStderr(/; 3 nodes in total/)
  assert.equal(pa.child.exitCode, null)
  assert.equal(pb.child.exitCode, null)
  const [ra, rb] = await Promise.all([pa.stop(), pb.stop()])
  assert.equal(ra.code, 0, ra.stderr)
  assert.equal(rb.code, 0, rb.stderr)
  assert.equal(await list(A), await list(B))
})

test('a peer that is not hyperkv, or no peer at all: ERR_PROTOCOL, exit 1, nothing written', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  await put(dir, 'a', '1')
  const before = await list(dir)
  for (const input of ['', 'garbage '.repeat(20), '\u0000'.repeat(5000)]) {
    const r = await runMain(['-d', dir, 'sync'], { input })
    assert.equal(r.code, 1, r.stderr)
    assert.equal(errorCode(r.stderr), 'ERR_PROTOCOL', r.stderr)
  }
  assert.equal(await list(dir), before)
})
