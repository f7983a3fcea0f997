// put/get/del/list/history through the real command in child processes (the seed README's session),
// and the finer points through main() in process.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { removeDir, runCli, runMain, tempDir } from '../helpers/cli.js'

const HELLO = '1f1b819cd3f7d379914037b473a855b7867f71c76126e379c91cbb31df2a859b'
const BEEP_BOOP = 'eadb22a224313d5fb5b811e50915f16491e7714dd32b83503c1e1a1db2bd9e9b'

test("the seed README's session in child processes: put, put, get print its hashes and value", async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  const first = await runCli(['-d', dir, 'put', 'greeting', 'hello'])
  assert.deepEqual([first.code, first.stdout, first.stderr], [0, `${HELLO}\n`, ''])
  // The directory from $HYPERKV_DIR works the same as -d.
  const second = await runCli(['put', 'greeting', 'beep boop'], { env: { HYPERKV_DIR: dir } })
  assert.deepEqual([second.code, second.stdout, second.stderr], [0, `${BEEP_BOOP}\n`, ''])
  const get = await runCli(['-d', dir, 'get', 'greeting'])
  assert.equal(get.code, 0, get.stderr)
  assert.deepEqual(JSON.parse(get.stdout), { [BEEP_BOOP]: { value: 'beep boop' } })
})

test('del, list and history in child processes', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  for (const [key, value] of [
    ['greeting', 'hello'],
    ['greeting', 'beep boop'],
    ['n', '5'],
  ]) {
    assert.equal((await runMain(['-d', dir, 'put', key!, value!])).code, 0)
  }
  const del = await runCli(['-d', dir, 'del', 'n'])
  assert.equal(del.code, 0, del.stderr)
  const tombstone = del.stdout.trim()
  assert.match(tombstone, /^[0-9a-f]{64}$/)

  const list = await runCli(['-d', dir, 'list'])
  assert.equal(list.code, 0, list.stderr)
  assert.deepEqual(
    list.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown),
    [
      { key: 'greeting', links: [BEEP_BOOP], values: { [BEEP_BOOP]: { value: 'beep boop' } } },
      { key: 'n', links: [tombstone], values: { [tombstone]: { deleted: true } } },
    ],
  )

  const history = await runCli(['-d', dir, 'history', 'greeting'])
  assert.equal(history.code, 0, history.stderr)
  const rows = history.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  // Each row names its writer: the identity (feed key) as hex.
  for (const row of rows) {
    assert.match(String(row.identity), /^[0-9a-f]{64}$/)
    delete row.identity
  }
  assert.deepEqual(rows, [
    { key: 'greeting', link: BEEP_BOOP, value: 'beep boop', links: [HELLO] },
    { key: 'greeting', link: HELLO, value: 'hello', links: [] },
  ])
})

test('VALUE is JSON when it parses, else a string; --fields, --values=false, ranges and --limit', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  const put = async (...args: string[]): Promise<string> => {
    const r = await runMain(['-d', dir, 'put', ...args])
    assert.equal(r.code, 0, r.stderr)
    return r.stdout.trim()
  }
  const a = await put('a', '5')
  const b = await put('b', '"5"')
  const c = await put('c', '{"x":[1,null]}')
  const d = await put('d', 'not json {')
  const e = await put('e', '--', '-5')
  const get = async (key: string, ...opts: string[]): Promise<unknown> =>
    JSON.parse((await runMain(['-d', dir, 'get', key, ...opts])).stdout) as unknown
  assert.deepEqual(await get('a'), { [a]: { value: 5 } })
  assert.deepEqual(await get('b'), { [b]: { value: '5' } })
  assert.deepEqual(await get('c'), { [c]: { value: { x: [1, null] } } })
  assert.deepEqual(await get('d'), { [d]: { value: 'not json {' } })
  assert.deepEqual(await get('e'), { [e]: { value: -5 } })
  assert.deepEqual(await get('a', '--fields'), { [a]: { k: 'a', v: 5 } })
  assert.deepEqual(await get('missing'), {})

  const list = async (...opts: string[]): Promise<unknown[]> => {
    const r = await runMain(['-d', dir, 'list', ...opts])
    assert.equal(r.code, 0, r.stderr)
    return r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown)
  }
  assert.deepEqual(await list('--values=false', '--gt', 'a', '--lte', 'c'), [
    { key: 'b', links: [b] },
    { key: 'c', links: [c] },
  ])
  assert.deepEqual(await list('--gte', 'd', '--fields'), [
    { key: 'd', links: [d], values: { [d]: { k: 'd', v: 'not json {' } } },
    { key: 'e', links: [e], values: { [e]: { k: 'e', v: -5 } } },
  ])
  assert.deepEqual(await list('--limit', '2', '--lt', 'c', '--values', 'false'), [
    { key: 'a', links: [a] },
    { key: 'b', links: [b] },
  ])
})

test('--links: a fork shows two values (a conflict); a put linking both heads resolves it', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  const run = async (...args: string[]): Promise<string> => {
    const r = await runMain(['-d', dir, ...args])
    assert.equal(r.code, 0, r.stderr)
    return r.stdout
  }
  const first = (await run('put', 'k', 'one')).trim()
  const fork = (await run('put', 'k', 'two', '--links=')).trim()
  assert.deepEqual(JSON.parse(await run('get', 'k')), { [first]: { value: 'one' }, [fork]: { value: 'two' } })
  const merged = (await run('put', 'k', 'three', '--links', `${first},${fork.toUpperCase()}`)).trim()
  assert.deepEqual(JSON.parse(await run('get', 'k')), { [merged]: { value: 'three' } })
  const removed = (await run('del', 'k', '--links', merged)).trim()
  assert.deepEqual(JSON.parse(await run('get', 'k')), { [removed]: { deleted: true } })
})
