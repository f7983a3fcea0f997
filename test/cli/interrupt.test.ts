// A long sync between two real processes, stopped: Ctrl-C (SIGINT) or SIGTERM on both sides is an
// interruption (exit 130 / 143, "interrupted", never "done", no stack trace) that loses nothing;
// a peer killed mid-sync is one coded line on the other side.
import { before, after, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { hyperkv } from '../../src/index.js'
import {
  CliProcess,
  crossConnect,
  errorCode,
  removeDir,
  runMain,
  tempDir,
  type CliResult,
} from '../helpers/cli.js'

const NODES = 20_000
/** The link from the source is this slow: its ~2 MB take seconds, so the stop comes mid-sync. */
const SLOW_LINK = 400_000
let source = ''

before(async () => {
  source = await tempDir()
  const kv = hyperkv(source)
  for (let i = 0; i < NODES; i += 5000) {
    const rows = []
    for (let j = i; j < i + 5000; j++) rows.push({ type: 'put' as const, key: `k${j}`, value: { n: j } })
    await kv.batch(rows)
  }
  await kv.close()
})
after(() => removeDir(source))

function sync(a: string[], b: string[], slow = true): [CliProcess, CliProcess] {
  const pa = new CliProcess(a)
  const pb = new CliProcess(b)
  crossConnect(pa, pb, slow ? { bytesPerSecond: SLOW_LINK } : {})
  return [pa, pb]
}

const PROGRESS = /hyperkv: sync \[[^\]]+\]: received \d/

function assertInterrupted(r: CliResult, signal: 'SIGINT' | 'SIGTERM'): void {
  assert.equal(r.code, signal === 'SIGINT' ? 130 : 143, r.stderr)
  assert.match(r.stderr, new RegExp(`sync \\[[^\\]]+\\] interrupted \\(${signal}\\)`))
  assert.doesNotMatch(r.stderr, /done/)
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace')
}

async function list(dir: string): Promise<string> {
  const r = await runMain(['-d', dir, 'list'])
  assert.equal(r.code, 0, r.stderr)
  return r.stdout
}

/** A sync from the source into `dir`, stopped with `signal` on both sides once `dir` receives. */
async function interruptBoth(t: TestContext, dir: string, signal: 'SIGINT' | 'SIGTERM'): Promise<void> {
  const [pa, pb] = sync(['-d', source, 'sync'], ['-d', dir, 'sync'])
  t.after(() => Promise.all([pa.stop(), pb.stop()]))
  await pb.waitForStderr(PROGRESS, 120_000)
  // A terminal's Ctrl-C reaches every process of the pipeline.
  pa.child.kill(signal)
  pb.child.kill(signal)
  const [ra, rb] = await Promise.all([pa.exit(), pb.exit()])
  assertInterrupted(ra, signal)
  assertInterrupted(rb, signal)
}

test('Ctrl-C on both sides of a large sync: 130, "interrupted" on both; the receiver is intact and finishes later', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  await interruptBoth(t, dir, 'SIGINT')

  // Intact: it opens and reads what arrived, and the next sync goes on to the end.
  const partial = await runMain(['-d', dir, 'list', '--values=false'])
  assert.equal(partial.code, 0, partial.stderr)
  assert.ok(partial.stdout.split('\n').length - 1 < NODES, 'interrupted before the end')
  const [qa, qb] = sync(['-d', source, 'sync'], ['-d', dir, 'sync'], false)
  const [fa, fb] = await Promise.all([qa.exit(), qb.exit()])
  assert.equal(fa.code, 0, fa.stderr)
  assert.equal(fb.code, 0, fb.stderr)
  assert.match(fb.stderr, /sync \[[^\]]+\] done: received [\d,]+ nodes? in/)
  assert.match(fa.stderr, /sync \[[^\]]+\] done: received nothing, sent/)
  assert.equal(await list(dir), await list(source))
})

test('SIGTERM on both sides of a large sync: 143 and "interrupted" on both', async (t) => {
  const dir = await tempDir()
  t.after(() => removeDir(dir))
  await interruptBoth(t, dir, 'SIGTERM')
})

test('a peer killed mid-sync: the other side prints one coded line and exits 1, never "done"', async (t) => {
  for (const killed of ['receiver', 'sender'] as const) {
    const dir = await tempDir()
    t.after(() => removeDir(dir))
    // -q: only the failure is left on stderr.
    const [pa, pb] = sync(['-d', source, '-q', 'sync'], ['-d', dir, 'sync'])
    t.after(() => Promise.all([pa.stop(), pb.stop()]))
    await pb.waitForStderr(PROGRESS, 120_000)
    const [victim, survivor] = killed === 'receiver' ? [pb, pa] : [pa, pb]
    victim.child.kill('SIGKILL')
    // The pipe into the dead process has no reader any more (this test relays it: close it).
    survivor.child.stdout.destroy()
    const r = await survivor.exit()
    const lines = r.stderr.split('\n').filter((l) => l !== '' && !PROGRESS.test(l))
    assert.equal(r.code, 1, `${killed} killed: ${r.stderr}`)
    assert.equal(lines.length, 1, `${killed} killed: ${r.stderr}`)
    assert.equal(errorCode(lines[0]!), 'ERR_PROTOCOL', r.stderr)
    assert.doesNotMatch(r.stderr, /done|Unhandled|^\s+at /m)
  }
})
