// The command line in process: help, and every usage mistake refused before the directory exists.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { errorCode, removeDir, runMain, tempDir } from '../helpers/cli.js'
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
    [],
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
