// A hyperkv process holding DIR (sync --live, join, list --live) serves every other command on DIR
// over DIR/hyperkv.sock: same output, exit codes and errors as run directly, checked against a
// twin directory given the same writes, where the same commands run directly. (A copy of the
// directory would not open: Hypercore's storage refuses to be moved.) The twins' nodes have the
// same hashes; only the writer keys differ, and are swapped before comparing.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { existsSync, readdirSync } from 'node:fs'
import { chmod, mkdir, readdir, stat, symlink } from 'node:fs/promises'
import { join } from 'node:path'
import createTestnet from 'hyperdht/testnet.js'
import { CliProcess, crossConnect, errorCode, removeDir, runCli, runMain, tempDir } from '../helpers/cli.js'
import { until } from '../helpers/until.js'
import type { Status } from '../../src/cli/commands/status.js'

const SOCKET = 'hyperkv.sock'

async function put(dir: string, key: string, value: string): Promise<string> {
  const r = await runMain(['-d', dir, 'put', key, value])
  assert.equal(r.code, 0, r.stderr)
  return r.stdout.trim()
}

async function waitForSocket(dir: string): Promise<void> {
  await until(() => existsSync(join(dir, SOCKET)), `${dir}/${SOCKET} to appear`)
}

/** A directory given the same writes as another (same node hashes, another writer key). */
async function twinOf(writes: Array<[string, string]>, ...dirs: string[]): Promise<void> {
  for (const dir of dirs) for (const [key, value] of writes) await put(dir, key, value)
}

async function writerOf(dir: string): Promise<string> {
  return (await status(dir)).writer
}

/** Each command in a child process, through the holder of `held` and directly on its twin. */
async function compare(held: string, twin: string, heldWriter: string, commands: string[][]): Promise<void> {
  const twinWriter = await writerOf(twin)
  for (const command of commands) {
    const through = await runCli(['-d', held, ...command])
    const direct = await runCli(['-d', twin, ...command])
    const same = (text: string): string => text.replaceAll(heldWriter, twinWriter)
    assert.deepEqual(
      { code: through.code, stdout: same(through.stdout), stderr: through.stderr },
      { code: direct.code, stdout: direct.stdout, stderr: direct.stderr },
      command.join(' '),
    )
  }
}

async function status(dir: string): Promise<Status> {
  const r = await runCli(['-d', dir, 'status', '--json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as Status
}

/** Writes that every comparison starts from; `k` gets a conflict so history and links matter. */
const COMMANDS: string[][] = [
  ['put', 'k', 'one'],
  ['put', 'k', '{"two":2}', '--links='],
  ['get', 'k'],
  ['get', 'k', '--fields'],
  ['del', 'a'],
  ['list'],
  ['list', '--values=false', '--gt', 'a', '--limit', '1'],
  ['history', 'k'],
  ['get', 'missing'],
  ['put', 'z', '1', '--links', 'b'.repeat(64)],
  ['del', 'k', '--links', 'c'.repeat(64)],
]

test('while sync --live holds DIR, put/get/del/list/history/status from other processes run through it as directly', async (t) => {
  const [X, B] = [await tempDir(), await tempDir()]
  const twin = `${X}-twin`
  t.after(() => Promise.all([removeDir(X), removeDir(B), removeDir(twin)]))
  await twinOf(
    [
      ['a', '1'],
      ['b', '2'],
    ],
    X,
    twin,
  )
  const writer = await writerOf(X)

  const pa = new CliProcess(['-d', X, 'sync', '--live'])
  const pb = new CliProcess(['-d', B, 'sync', '--live'])
  crossConnect(pa, pb)
  t.after(() => Promise.all([pa.stop(), pb.stop()]))
  await waitForSocket(X)
  await pb.waitForStderr(/; 2 nodes in total/)

  await compare(X, twin, writer, COMMANDS)

  // status: the same database, and what the holder runs.
  const held = await status(X)
  const direct = await status(twin)
  assert.equal(held.writer, writer)
  for (const field of ['databaseKey', 'entries', 'nodes'] as const) {
    assert.equal(held[field], direct[field], field)
  }
  assert.equal(held.databaseKey, 'open')
  assert.equal(direct.holder, null)
  assert.deepEqual(held.holder, { pid: pa.child.pid, command: 'sync --live', since: held.holder?.since })
  assert.equal(held.peers.length, 1)
  assert.equal(held.peers[0]!.via, 'stdio')
  assert.equal(held.swarm, null)
  // The text form says the same.
  const text = await runCli(['-d', X, 'status'])
  assert.match(text.stdout, /^database key +open key$/m)
  assert.match(text.stdout, new RegExp(`^held by +hyperkv sync --live \\(pid ${pa.child.pid},`, 'm'))
  assert.match(text.stdout, /^ {2}stdin\/stdout: received \d+ blocks? .*sent \d+ blocks?/m)

  // The writes made through the holder went on to the live peer.
  const nodes = held.nodes
  await pb.waitForStderr(new RegExp(`; ${nodes} nodes in total`))
  const [ra, rb] = await Promise.all([pa.stop(), pb.stop()])
  assert.equal(ra.code, 0, ra.stderr)
  assert.equal(rb.code, 0, rb.stderr)
  assert.equal(existsSync(join(X, SOCKET)), false, 'the socket goes with its holder')
  const listX = await runMain(['-d', X, 'list'])
  const listB = await runMain(['-d', B, 'list'])
  assert.equal(listB.stdout, listX.stdout)
})

test('a join on a local testnet holds DIR: commands run through it; list --live through it sees a local put and a remote write', async (t) => {
  const testnet = await createTestnet(3)
  const [X, P] = [await tempDir(), await tempDir()]
  const twin = `${X}-twin`
  const env = { HYPERKV_BOOTSTRAP: testnet.bootstrap.map((n) => `${n.host}:${n.port}`).join(',') }
  const processes: CliProcess[] = []
  t.after(async () => {
    await Promise.all(processes.map((p) => p.stop()))
    await testnet.destroy()
    await Promise.all([removeDir(X), removeDir(P), removeDir(twin)])
  })
  await twinOf([['a', '1']], X, twin)
  const writer = await writerOf(X)
  await put(P, 'p', '"from p"')

  const joinX = new CliProcess(['-d', X, 'join', 'kappadb-holder-test'], { env })
  processes.push(joinX)
  await waitForSocket(X)
  await compare(X, twin, writer, COMMANDS.slice(0, 8))

  const joinP = new CliProcess(['-d', P, 'join', 'kappadb-holder-test'], { env })
  processes.push(joinP)
  await joinX.waitForStderr(/peer [0-9a-f]{8} connected \(1 peer\)/, 30_000)

  const live = new CliProcess(['-d', X, 'list', '--live']).collectStdout()
  processes.push(live)
  // The rows already there, including P's (it arrived over the swarm).
  await live.waitForStdout(/"key":"p"/, 30_000)
  // A put from another process on X, and a write on P (through P's own holder) that X receives.
  await put(X, 'local', '"from another terminal"')
  await live.waitForStdout(/"key":"local".*"from another terminal"/)
  const r = await runCli(['-d', P, 'put', 'remote', '"from the peer"'], { env })
  assert.equal(r.code, 0, r.stderr)
  await live.waitForStdout(/"key":"remote".*"from the peer"/, 30_000)

  // One swarm per directory: a second join through the holder is refused.
  const second = await runCli(['-d', X, 'join', 'another-topic'], { env })
  assert.equal(second.code, 1, second.stderr)
  assert.equal(errorCode(second.stderr), 'ERR_LOCKED', second.stderr)

  const s = await status(X)
  assert.equal(s.holder?.command, 'join kappadb-holder-test')
  assert.ok(s.swarm, 'the holder has joined a swarm')
  assert.match(s.swarm.peerId, /^[0-9a-f]{64}$/)
  assert.ok(s.peers.some((p) => p.via === 'swarm'))
  for (let tries = 0; (await status(X)).swarm?.bootstrap !== 'reachable'; tries++) {
    assert.ok(tries < 100, 'the bootstrap node answers')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }

  // Ctrl-C on list --live through the holder ends it as it would end a direct one.
  live.child.kill('SIGINT')
  const stopped = await live.exit()
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.equal(joinX.child.exitCode, null, 'the holder runs on')
  const [rx, rp] = await Promise.all([joinX.stop(), joinP.stop()])
  assert.equal(rx.code, 0, rx.stderr)
  assert.equal(rp.code, 0, rp.stderr)
})

test('a holder killed with SIGKILL leaves a stale socket: the next command removes it and works', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  await put(dir, 'k', '1')
  const holder = new CliProcess(['-d', dir, 'list', '--live']).collectStdout()
  await holder.waitForStdout(/"key":"k"/)
  await waitForSocket(dir)
  holder.child.kill('SIGKILL')
  await holder.exit()
  assert.ok((await stat(join(dir, SOCKET))).isSocket(), 'the socket is left behind')

  const r = await runCli(['-d', dir, 'put', 'k', '2'])
  assert.equal(r.code, 0, r.stderr)
  assert.equal(existsSync(join(dir, SOCKET)), false, 'the stale socket is gone')
  const get = await runCli(['-d', dir, 'get', 'k'])
  assert.equal(get.code, 0, get.stderr)
  assert.deepEqual(Object.values(JSON.parse(get.stdout) as object), [{ value: 2 }])

  // A new holder after a killed one: commands go through it again.
  const again = new CliProcess(['-d', dir, 'list', '--live']).collectStdout()
  t.after(() => again.stop())
  await again.waitForStdout(/"value":2/)
  await waitForSocket(dir)
  assert.equal((await runCli(['-d', dir, 'put', 'k', '3'])).code, 0)
  await again.waitForStdout(/"value":3/)
  assert.equal((await again.stop()).code, 0)
})

test('a sync run through a holder replicates over the client’s own stdin and stdout', async (t) => {
  const [X, Y] = [await tempDir(), await tempDir()]
  t.after(() => Promise.all([removeDir(X), removeDir(Y)]))
  await put(X, 'x', '"from x"')
  for (let i = 0; i < 300; i++) await put(Y, `y${i}`, `${i}`)
  const holder = new CliProcess(['-d', X, 'list', '--live']).collectStdout()
  t.after(() => holder.stop())
  await holder.waitForStdout(/"key":"x"/)
  await waitForSocket(X)

  const [px, py] = [new CliProcess(['-d', X, 'sync']), new CliProcess(['-d', Y, 'sync'])]
  crossConnect(px, py)
  const [rx, ry] = await Promise.all([px.exit(), py.exit()])
  assert.equal(rx.code, 0, rx.stderr)
  assert.equal(ry.code, 0, ry.stderr)
  assert.match(rx.stderr, new RegExp(`sync \\[${X}\\] done: received 300 nodes in`))
  assert.match(ry.stderr, /done: received 1 node in/)
  // The holder's live list saw what arrived through the served sync.
  await holder.waitForStdout(/"key":"y299"/)
  const stopped = await holder.stop()
  assert.equal(stopped.code, 0, stopped.stderr)
  const [listX, listY] = await Promise.all([runMain(['-d', X, 'list']), runMain(['-d', Y, 'list'])])
  assert.equal(listX.stdout, listY.stdout)
})

test('a holder that stops under a command it serves: the command ends with ERR_CLOSED, exit 1', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  await put(dir, 'k', '1')
  const holder = new CliProcess(['-d', dir, 'list', '--live']).collectStdout()
  t.after(() => holder.stop())
  await holder.waitForStdout(/"key":"k"/)
  await waitForSocket(dir)
  const served = new CliProcess(['-d', dir, 'list', '--live']).collectStdout()
  t.after(() => served.stop())
  await served.waitForStdout(/"key":"k"/)
  assert.equal((await holder.stop()).code, 0)
  const r = await served.exit()
  assert.equal(r.code, 1, r.stderr)
  assert.match(r.stderr, /^hyperkv: ERR_CLOSED: the hyperkv process holding .* stopped\n$/)
  // DIR is free again: a command opens it directly.
  assert.equal((await runCli(['-d', dir, 'get', 'k'])).code, 0)
})

test('a directory whose path is too long for a socket: the holder listens in TMPDIR/hyperkv-UID, and commands run through it by any spelling of DIR', async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const tmp = join(parent, 'tmp')
  await mkdir(tmp)
  const env = { TMPDIR: tmp }
  const dir = join(parent, 'd'.repeat(120))
  await put(dir, 'k', '1')
  const holder = new CliProcess(['-d', dir, 'list', '--live'], { env }).collectStdout()
  t.after(() => holder.stop())
  await holder.waitForStdout(/"key":"k"/)
  const sockets = join(tmp, `hyperkv-${process.getuid?.() ?? 0}`)
  await until(() => existsSync(sockets) && readdirSync(sockets).length === 1, 'the socket in TMPDIR')
  assert.equal((await stat(sockets)).mode & 0o777, 0o700)
  const r = await runCli(['-d', dir, 'put', 'k2', '2'], { env })
  assert.equal(r.code, 0, r.stderr)
  await holder.waitForStdout(/"key":"k2"/)
  // Another spelling of the same directory (through a symlink) finds the same holder.
  await symlink(dir, join(parent, 'link'))
  const viaLink = await runCli(['-d', join(parent, 'link', '.', '..', 'link'), 'get', 'k2'], { env })
  assert.equal(viaLink.code, 0, viaLink.stderr)
  assert.deepEqual(Object.values(JSON.parse(viaLink.stdout) as object), [{ value: 2 }])
  assert.equal(holder.stderr, '')
  assert.equal((await holder.stop()).code, 0)
  assert.deepEqual(await readdir(sockets), [], 'the socket is gone with its holder')
})

test("TMPDIR/hyperkv-UID that is not this user's alone is never used: the holder says so, other commands get ERR_LOCKED", async (t) => {
  const parent = await tempDir()
  t.after(() => removeDir(parent))
  const tmp = join(parent, 'tmp')
  await mkdir(join(tmp, `hyperkv-${process.getuid?.() ?? 0}`), { recursive: true, mode: 0o777 })
  await chmod(join(tmp, `hyperkv-${process.getuid?.() ?? 0}`), 0o777)
  const env = { TMPDIR: tmp }
  const dir = join(parent, 'd'.repeat(120))
  await put(dir, 'k', '1')
  const holder = new CliProcess(['-d', dir, 'list', '--live'], { env }).collectStdout()
  t.after(() => holder.stop())
  await holder.waitForStderr(
    /other hyperkv commands on .* cannot run while this one holds it: .*not a directory of this user's alone/,
  )
  await holder.waitForStdout(/"key":"k"/)
  const r = await runCli(['-d', dir, 'get', 'k'], { env })
  assert.equal(errorCode(r.stderr), 'ERR_LOCKED', r.stderr)
  assert.equal((await holder.stop()).code, 0)
})
