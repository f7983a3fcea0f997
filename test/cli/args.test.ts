// The command line in process: help, and every usage mistake refused before the directory exists.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { BIN, ROOT, errorCode, removeDir, runCli, runMain, tempDir } from '../helpers/cli.js'
import { COMMANDS } from '../../src/cli/args.js'

test('--help, help and COMMAND --help print help on stdout and exit 0', async () => {
  for (const args of [['--help'], ['-h'], ['help']]) {
    const r = await runMain(args)
    assert.equal(r.code, 0, args.join(' '))
    assert.match(r.stdout, /^usage: hyperkv/)
    for (const command of Object.keys(COMMANDS)) assert.ok(r.stdout.includes(command), `${command} listed`)
    assert.equal(r.stderr, '')
  }
  for (const command of Object.keys(COMMANDS)) {
    for (const args of [
      [command, '--help'],
      ['help', command],
      ['-d', '/nonexistent/x', command, '-h'],
    ]) {
      const r = await runMain(args)
      assert.equal(r.code, 0, args.join(' '))
      assert.match(r.stdout, new RegExp(`^usage: hyperkv .*${command}`), args.join(' '))
    }
  }
})

test('every usage mistake: one ERR_USAGE line on stderr, exit 2, nothing on stdout, no directory created', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const dir = join(parent, 'db')
  const hash = 'a'.repeat(64)
  const mistakes = [
    ['frob'],
    ['put'],
    ['put', 'k'],
    ['put', 'k', 'v', 'extra'],
    ['put', 'k', 'v', '--links', 'nothex'],
    ['put', 'k', 'v', '--links', `${hash},abc`],
    ['put', 'k', 'v', '--links'],
    ['put', 'k', 'v', '--frob'],
    ['get'],
    ['get', 'a', 'b'],
    ['del'],
    ['del', 'k', '--links', 'zz'],
    ['history'],
    ['list', 'x'],
    ['list', '--limit', 'x'],
    ['list', '--limit', '-1'],
    ['list', '--values=maybe'],
    ['list', '--gt'],
    ['list', '--frob'],
    ['sync', 'x'],
    ['push', '--mode', 'x'],
    ['pull', '--frob'],
    ['join', 'a', 'b'],
    ['join', ''],
    ['join', '--bootstrap', 'nohost'],
    ['join', '--bootstrap', '127.0.0.1:99999'],
    ['help', 'frob'],
    ['status', 'x'],
    ['status', '--frob'],
    ['get', 'k', '--version'],
    ['-d'],
    ['-d', '', 'get', 'k'],
    ['--frob', 'get', 'k'],
  ]
  for (const args of mistakes) {
    const r = await runMain(['-d', dir, ...args])
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(errorCode(r.stderr), 'ERR_USAGE', `${args.join(' ')}: ${r.stderr}`)
    assert.equal(r.stdout, '', args.join(' '))
    assert.equal(existsSync(dir), false, `${args.join(' ')} created the directory`)
  }
  // A bad $HYPERKV_BOOTSTRAP is a usage mistake of `join` too, found before opening.
  const r = await runMain(['-d', dir, 'join'], { env: { HYPERKV_BOOTSTRAP: 'a:b' } })
  assert.equal(r.code, 2)
  assert.equal(errorCode(r.stderr), 'ERR_USAGE')
  assert.equal(existsSync(dir), false)
})

test('bare hyperkv prints the usage (on stderr, exit 2); --version prints the version', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const dir = join(parent, 'db')
  const bare = await runMain(['-d', dir])
  assert.equal(bare.code, 2)
  assert.match(bare.stderr, /^usage: hyperkv/)
  for (const command of Object.keys(COMMANDS)) assert.ok(bare.stderr.includes(command), `${command} listed`)
  assert.equal(bare.stdout, '')
  const version = await runMain(['--version'])
  assert.equal(version.code, 0)
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf-8')) as {
    version: string
  }
  assert.equal(version.stdout, `hyperkv ${pkg.version}\n`)
  assert.equal(version.stderr, '')
  // The same from the real executable, and neither touched the directory.
  const child = await runCli(['-d', dir, '--version'])
  assert.deepEqual([child.code, child.stdout, child.stderr], [0, `hyperkv ${pkg.version}\n`, ''])
  assert.equal(existsSync(dir), false)
})

test('a command that only reads never creates a database: ERR_NOT_FOUND "no database in DIR"', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const dir = join(parent, 'typo')
  for (const args of [['get', 'x'], ['list'], ['list', '--live'], ['history', 'x'], ['status'], ['push']]) {
    const r = await runMain(['-d', dir, ...args], { input: '' })
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
    assert.equal(errorCode(r.stderr), 'ERR_NOT_FOUND', r.stderr)
    assert.ok(r.stderr.includes(`no database in ${dir}`), r.stderr)
    assert.equal(r.stdout, '')
    assert.equal(existsSync(dir), false, `${args.join(' ')} created the directory`)
  }
  // An empty directory that exists is no database either, and stays empty.
  await mkdir(dir)
  const r = await runCli(['-d', dir, 'get', 'x'])
  assert.equal(errorCode(r.stderr), 'ERR_NOT_FOUND', r.stderr)
  assert.deepEqual(await readdir(dir), [])
  // A command that writes creates it.
  assert.equal((await runMain(['-d', dir, 'put', 'x', '1'])).code, 0)
  assert.equal((await runMain(['-d', dir, 'get', 'x'])).code, 0)
})

test('push, pull, sync with a terminal on stdin or stdout: ERR_USAGE, nothing created', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const dir = join(parent, 'db')
  for (const command of ['push', 'pull', 'sync']) {
    for (const which of ['stdin', 'stdout'] as const) {
      const r = await runMain(['-d', dir, command], { tty: which })
      assert.equal(r.code, 2, r.stderr)
      assert.equal(errorCode(r.stderr), 'ERR_USAGE', r.stderr)
      assert.ok(r.stderr.includes(`${which} is a terminal`), r.stderr)
      assert.equal(existsSync(dir), false)
    }
  }
  // A real terminal, from script(1) where it exists: the child's stdin and stdout are a pty.
  const script = spawnSync('script', ['--version'])
  if (script.status === 0) {
    const line = [process.execPath, '--import', 'tsx', BIN, '-d', dir, 'sync'].map(quote).join(' ')
    const r = spawnSync('script', ['-qec', line, '/dev/null'], {
      cwd: ROOT,
      encoding: 'utf-8',
      timeout: 60_000,
    })
    assert.equal(r.status, 2, r.stdout)
    assert.match(r.stdout, /hyperkv: ERR_USAGE: sync: stdin is a terminal/)
    assert.equal(existsSync(dir), false)
  }
})

function quote(arg: string): string {
  return `'${arg.replace(/'/g, `'\\''`)}'`
}
