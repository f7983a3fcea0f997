// Owned databases through the command, in child processes: `init --owned`, `init --key --owner`,
// `whoami`, `members`, `members add|remove`; every later command (and a holder) opens DIR owned;
// a non-admin's change is ERR_NOT_WRITABLE; bad input is a coded error and changes nothing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CliProcess, errorCode, removeDir, runCli, runMain, syncDirs, tempDir } from '../helpers/cli.js'
import { until } from '../helpers/until.js'

const HEX = /^[0-9a-f]{64}$/

interface Row {
  key: string
  role?: string
  status: string
  upTo?: number
}

function rows(stdout: string): Row[] {
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Row)
}

async function ok(args: string[]): Promise<string> {
  const r = await runCli(args)
  assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
  return r.stdout
}

/** Two `hyperkv sync` processes cross-connected, both exiting 0 (killed after `ms`: a stall fails). */
async function sync(a: string, b: string, ms = 60_000): Promise<void> {
  const [ra, rb] = await syncDirs(a, b, ms)
  assert.deepEqual([ra.code, rb.code], [0, 0], ra.stderr + rb.stderr)
}

function values(stdout: string): unknown[] {
  return Object.values(JSON.parse(stdout) as Record<string, { value: unknown }>).map((v) => v.value)
}

/** An owner directory and a directory that joined it (not yet added). */
async function ownedPair(parent: string): Promise<{ O: string; B: string; owner: string; b: string }> {
  const [O, B] = [join(parent, 'o'), join(parent, 'b')]
  const key = (await ok(['-d', O, 'init', '--owned'])).trim()
  const owner = (await ok(['-d', O, 'whoami'])).trim()
  const joined = await runCli(['-d', B, 'init', '--key', key, '--owner', owner])
  assert.equal(joined.code, 0, joined.stderr)
  assert.equal(joined.stdout, `${key}\n`)
  const b = (await ok(['-d', B, 'whoami'])).trim()
  assert.match(joined.stderr, new RegExp(`members add ${b}`), 'says what the admin runs')
  return { O, B, owner, b }
}

test('init --owned: DIR/db.key says owned (version 2), whoami prints the owner, members lists it as admin', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const O = join(parent, 'o')
  const init = await runCli(['-d', O, 'init', '--owned'])
  assert.deepEqual([init.code, init.stderr], [0, ''])
  const key = init.stdout.trim()
  assert.match(key, HEX)
  const file = await readFile(join(O, 'db.key'))
  assert.equal(file.toString('hex'), '02' + key + '01')
  assert.equal((await stat(join(O, 'db.key'))).mode & 0o777, 0o600)
  assert.equal(await ok(['-d', O, 'key']), `${key}\n`)

  const whoami = await runCli(['-d', O, 'whoami'])
  assert.deepEqual([whoami.code, whoami.stderr], [0, ''])
  const self = whoami.stdout.trim()
  assert.match(self, HEX)
  assert.deepEqual(rows(await ok(['-d', O, 'members'])), [{ key: self, role: 'admin', status: 'member' }])
  const status = JSON.parse(await ok(['-d', O, 'status', '--json'])) as { writer: string }
  assert.equal(status.writer, self, 'whoami is the writer status shows')
  // The owner's puts count in its own database.
  assert.equal((await runCli(['-d', O, 'put', 'k', 'v'])).code, 0)
  assert.deepEqual(values(await ok(['-d', O, 'get', 'k'])), ['v'])
  const feeds = rows(await ok(['-d', O, 'feeds']))
  assert.deepEqual(
    feeds.map(({ key, role, status }) => ({ key, role, status })),
    [{ key: self, role: 'admin', status: 'member' }],
  )

  const again = await runCli(['-d', O, 'init', '--owned'])
  assert.deepEqual([again.code, errorCode(again.stderr)], [1, 'ERR_INVALID_ARGUMENT'])
  assert.deepEqual(await readFile(join(O, 'db.key')), file)
})

test('join an owned database: a non-member’s puts do not count until an admin adds it; a removal stops them at upTo', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const { O, B, owner, b } = await ownedPair(parent)
  const file = await readFile(join(B, 'db.key'))
  assert.equal(file.toString('hex').slice(66), '02' + owner, 'B keeps the owner key')

  // B is no admin: it cannot change the members, and nothing changes.
  for (const argv of [
    ['members', 'add', b],
    ['members', 'add', 'ab'.repeat(32), '--admin'],
    ['members', 'remove', 'ab'.repeat(32)],
  ]) {
    const r = await runCli(['-d', B, ...argv])
    assert.equal(r.code, 1, argv.join(' '))
    assert.equal(errorCode(r.stderr), 'ERR_NOT_WRITABLE', `${argv.join(' ')}: ${r.stderr}`)
    assert.equal(r.stdout, '')
  }
  assert.deepEqual(rows(await ok(['-d', B, 'members'])), [{ key: owner, role: 'admin', status: 'member' }])

  const early = await runCli(['-d', B, 'put', 'k', 'from b'])
  assert.equal(early.code, 0, early.stderr)
  assert.match(early.stdout, /^[0-9a-f]{64}\n$/, 'the node’s hash')
  assert.match(early.stderr, new RegExp(`shows nowhere until an admin adds .*members add ${b}`))
  assert.deepEqual(values(await ok(['-d', B, 'get', 'k'])), [], 'not even in its own directory')
  await sync(O, B)
  assert.deepEqual(values(await ok(['-d', O, 'get', 'k'])), [], 'not a member yet')
  assert.equal(
    rows(await ok(['-d', O, 'feeds'])).find((r) => r.key === b),
    undefined,
    'a non-member’s feed is not taken',
  )

  const added = await runCli(['-d', O, 'members', 'add', b])
  assert.equal(added.code, 0, added.stderr)
  assert.deepEqual(rows(added.stdout), [{ key: b, role: 'writer', status: 'member' }])
  // A non-member's feed is not taken: the next sync brings it, all of it.
  await sync(O, B)
  assert.deepEqual(values(await ok(['-d', O, 'get', 'k'])), ['from b'], 'its whole feed counts')

  const removed = await runCli(['-d', O, 'members', 'remove', b])
  assert.equal(removed.code, 0, removed.stderr)
  const [row] = rows(removed.stdout)
  assert.equal(row?.status, 'removed')
  assert.ok(row?.upTo !== undefined && row.upTo >= 1, 'upTo defaults to what the owner holds')
  await ok(['-d', B, 'put', 'k', 'later'])
  await ok(['-d', B, 'put', 'other', 'later'])
  await sync(O, B)
  assert.deepEqual(values(await ok(['-d', O, 'get', 'k'])), ['from b'])
  assert.deepEqual(values(await ok(['-d', O, 'get', 'other'])), [])
  const feedRow = rows(await ok(['-d', O, 'feeds'])).find((r) => r.key === b)
  assert.deepEqual(feedRow && { role: feedRow.role, status: feedRow.status, upTo: feedRow.upTo }, {
    role: 'writer',
    status: 'removed',
    upTo: row.upTo,
  })
  assert.deepEqual(
    rows(await ok(['-d', O, 'members'])),
    [
      { key: owner, role: 'admin', status: 'member' },
      { key: b, role: 'writer', status: 'removed', upTo: row.upTo },
    ].sort((x, y) => (x.key < y.key ? -1 : 1)),
  )
})

test('members add --admin and remove --up-to N; the owner cannot be removed; bad input changes nothing', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const O = join(parent, 'o')
  await ok(['-d', O, 'init', '--owned'])
  const owner = (await ok(['-d', O, 'whoami'])).trim()
  const x = 'ab'.repeat(32)
  const y = 'CD'.repeat(32)
  assert.deepEqual(rows(await ok(['-d', O, 'members', 'add', x, '--admin'])), [
    { key: x, role: 'admin', status: 'member' },
  ])
  await ok(['-d', O, 'members', 'add', y])
  assert.deepEqual(rows(await ok(['-d', O, 'members', 'remove', y, '--up-to', '0'])), [
    { key: y.toLowerCase(), role: 'writer', status: 'removed', upTo: 0 },
  ])
  const before = await ok(['-d', O, 'members'])
  const dbKey = await readFile(join(O, 'db.key'))

  const usage: string[][] = [
    ['members', 'frob'],
    ['members', 'add'],
    ['members', 'add', 'zz'],
    ['members', 'add', x.slice(2)],
    ['members', 'add', x, '--up-to', '1'],
    ['members', 'remove', x, '--admin'],
    ['members', 'remove', x, '--up-to', '-1'],
    ['members', 'remove', x, '--up-to', '1.5'],
    ['members', 'remove', x, '--up-to', 'many'],
    ['members', 'remove', x, '--up-to'],
    ['members', '--admin'],
    ['members', 'add', x, 'extra'],
    ['members', 'add', x, '--role', 'admin'],
    ['whoami', 'extra'],
    ['init', '--owned', '--owner', owner],
    ['init', '--owner', owner],
    ['init', '--owned', '--key', 'ab'.repeat(32)],
    ['init', '--key', 'ab'.repeat(32), '--owner', 'nothex'],
  ]
  for (const argv of usage) {
    const r = await runMain(['-d', O, ...argv])
    assert.deepEqual([r.code, errorCode(r.stderr), r.stdout], [2, 'ERR_USAGE', ''], argv.join(' '))
  }
  for (const argv of [
    ['members', 'remove', owner],
    ['members', 'remove', owner, '--up-to', '0'],
    ['members', 'remove', 'ee'.repeat(32), '--up-to', '1'],
  ]) {
    const r = await runCli(['-d', O, ...argv])
    assert.deepEqual([r.code, errorCode(r.stderr), r.stdout], [1, 'ERR_INVALID_ARGUMENT', ''], argv.join(' '))
  }
  assert.equal(await ok(['-d', O, 'members']), before)
  assert.deepEqual(await readFile(join(O, 'db.key')), dbKey)
  // A refused init on a fresh directory creates nothing.
  const fresh = join(parent, 'fresh')
  assert.equal((await runMain(['-d', fresh, 'init', '--owner', owner])).code, 2)
  assert.equal(existsSync(fresh), false)
})

test('whoami and members need a database: on an empty DIR they fail and create nothing; on an open one members is refused', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const none = join(parent, 'none')
  for (const argv of [['whoami'], ['members'], ['members', 'add', 'ab'.repeat(32)]]) {
    const r = await runCli(['-d', none, ...argv])
    assert.deepEqual([r.code, errorCode(r.stderr)], [1, 'ERR_NOT_FOUND'], argv.join(' '))
    assert.equal(existsSync(none), false, `${argv.join(' ')} created nothing`)
  }
  const open = join(parent, 'open')
  await ok(['-d', open, 'put', 'a', '1'])
  const self = (await ok(['-d', open, 'whoami'])).trim()
  assert.match(self, HEX, 'an open database has a writer too')
  for (const argv of [['members'], ['members', 'add', 'ab'.repeat(32)], ['members', 'remove', self]]) {
    const r = await runCli(['-d', open, ...argv])
    assert.deepEqual([r.code, errorCode(r.stderr)], [1, 'ERR_INVALID_ARGUMENT'], argv.join(' '))
    assert.match(r.stderr, /open database/)
    assert.match(r.stderr, /init --owned/)
  }
  // Open databases' feeds rows carry no member status.
  const [feed] = rows(await ok(['-d', open, 'feeds']))
  assert.equal(feed?.status, undefined)
})

test('through a holder: whoami, members and members add run in the holding process, with the same output and errors', async (t) => {
  const parent = await tempDir()
  const holders: CliProcess[] = []
  t.after(async () => {
    await Promise.all(holders.map((p) => p.stop()))
    await removeDir(parent)
  })
  const { O, B, owner, b } = await ownedPair(parent)
  for (const dir of [O, B]) {
    const p = new CliProcess(['-d', dir, 'list', '--live']).collectStdout()
    holders.push(p)
    await until(() => existsSync(join(dir, 'hyperkv.sock')), `${dir}/hyperkv.sock to appear`)
  }
  const [holdsO] = holders
  assert.equal((await runCli(['-d', O, 'whoami'])).stdout, `${owner}\n`)
  assert.equal((await runCli(['-d', B, 'whoami'])).stdout, `${b}\n`)
  const refused = await runCli(['-d', B, 'members', 'add', b])
  assert.deepEqual([refused.code, errorCode(refused.stderr)], [1, 'ERR_NOT_WRITABLE'])
  const added = await runCli(['-d', O, 'members', 'add', b])
  assert.equal(added.code, 0, added.stderr)
  assert.deepEqual(rows(added.stdout), [{ key: b, role: 'writer', status: 'member' }])
  const status = JSON.parse(await ok(['-d', O, 'status', '--json'])) as { holder: { pid: number } | null }
  assert.equal(status.holder?.pid, holdsO!.child.pid, 'the holder ran it')
  const listed = rows(await ok(['-d', O, 'members']))
  assert.deepEqual(
    listed.map((r) => r.key),
    [owner, b].sort(),
  )
  // The holder keeps the store owned: its own view of the members is the same once it stops.
  await Promise.all(holders.map((p) => p.stop()))
  assert.deepEqual(rows(await ok(['-d', O, 'members'])), listed)
})
