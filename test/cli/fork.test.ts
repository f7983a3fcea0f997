// A writer that signed two histories, met by `hyperkv sync`: one coded line on stderr names the
// feed, nothing but the protocol reaches stdout, the sync still ends 0 and takes the other feeds.
import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { encodeEntry } from '../../src/hyperlog/messages.js'
import { CliProcess, removeDir, runMain, tempDir } from '../helpers/cli.js'
import { HostilePeer, keyPair } from '../helpers/hostile-peer.js'

const node = (v: string): Buffer =>
  encodeEntry({
    links: [],
    value: Buffer.from(JSON.stringify({ k: 'key', v })),
    identity: null,
    signature: null,
  })

/** `hyperkv -d DIR sync` on each connection to 127.0.0.1:port, its stdio the connection. */
async function syncServer(t: TestContext, dir: string) {
  const runs: CliProcess[] = []
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined)
    const p = new CliProcess(['-d', dir, 'sync'])
    p.child.stdin.on('error', () => undefined)
    runs.push(p)
    socket.pipe(p.child.stdin)
    p.child.stdout.pipe(socket)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(async () => {
    await Promise.all(runs.map((p) => p.stop()))
    await new Promise((resolve) => server.close(resolve))
  })
  const port = (server.address() as net.AddressInfo).port
  return { port, run: (i: number) => runs[i]! }
}

test('hyperkv sync meeting a forked writer: "hyperkv: ERR_FORK: feed … forked" on stderr, exit 0, the other feed taken', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  assert.equal((await runMain(['-d', dir, 'put', 'mine', '1'])).code, 0)
  const writer = keyPair()
  const one = await HostilePeer.open(t)
  const two = await HostilePeer.open(t)
  const a = await one.signedCore(writer, [node('a0')])
  const b = await two.signedCore(writer, [node('b0'), node('b1'), node('b2')])
  const other = await two.signedCore(keyPair(), [node('other')])
  const { port, run } = await syncServer(t, dir)

  const first = await one.connect(port)
  first.hello([await one.offer(a)])
  first.done()
  const took = await run(0).exit()
  assert.equal(took.code, 0, took.stderr)
  assert.doesNotMatch(took.stderr, /ERR_FORK/)

  const second = await two.connect(port)
  second.hello([await two.offer(b), await two.offer(other)])
  second.done()
  const met = await run(1).exit()
  assert.equal(met.code, 0, met.stderr)
  const id = a.key.toString('hex')
  assert.match(met.stderr, new RegExp(`^hyperkv: ERR_FORK: feed ${id} forked`, 'm'))
  assert.equal(met.stderr.match(/ERR_FORK/g)?.length, 1, 'reported once')

  const feeds = (await runMain(['-d', dir, 'feeds'])).stdout
  const lengths = Object.fromEntries(
    feeds
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { key: string; length: number })
      .map((r) => [r.key, r.length]),
  )
  assert.equal(lengths[id], 1, 'the history it held')
  assert.equal(lengths[other.key.toString('hex')], 1, 'the other feed, taken in the same sync')
})
