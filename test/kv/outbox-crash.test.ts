/**
 * Crash safety of the outbox: a put is acknowledged once its level batch (index,
 * register and outbox record) is committed, and reaches the Hypercore a few ms later. A child
 * doing awaited puts is killed with SIGKILL at random points — mostly between those two steps.
 * Reopened, every acknowledged put is in the register and in the log, the outbox replay put it in
 * the writer's feed, and a fresh peer that syncs gets it (its index, rebuilt from the logs alone,
 * equals ours).
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { HyperKV } from '../../src/kv/index.js'
import { Prng, seedFromEnv } from '../helpers/prng.js'
import { collect, openKv, replicate, tempDir } from '../helpers/kv.js'

const CHILD = fileURLToPath(new URL('../helpers/kv-outbox-child.ts', import.meta.url))
const TSX = import.meta.resolve('tsx/esm')
const KILLS = 5

interface Acked {
  key: string
  value: number
  hash: string
}

test(`acknowledged puts survive SIGKILL between the level commit and the feed append (${KILLS} kills)`, async (t) => {
  const seed = seedFromEnv('OUTBOX_CRASH_SEED') ?? 0x0b0c5
  const prng = new Prng(seed)
  const dir = await tempDir(t, 'kappadb-outbox-crash-')
  const acked: Acked[] = []
  for (let kill = 0; kill < KILLS; kill++) {
    const lines = await runAndKill(dir, acked.length, prng.int(50, 600))
    acked.push(...lines)
  }
  assert.ok(acked.length > 0, 'the child acknowledged puts')

  const kv = new HyperKV(dir)
  t.after(() => kv.close())
  await kv.ready()
  // Every acknowledged node is in the log, and in the writer's feed once the open replayed the outbox.
  const writer = kv.log.kappa.feeds().find((feed) => feed.writable)!
  for (const put of acked) {
    const node = await kv.log.get(put.hash)
    assert.deepEqual(node.value, { k: put.key, v: put.value }, `seed ${seed}`)
    assert.equal(node.log, writer.id)
    assert.ok(
      node.seq <= writer.length,
      `node ${put.value} (seq ${node.seq}) is in the feed of ${writer.length}`,
    )
  }
  // Un-linked puts to a key chain: its value is the last acknowledged one or a later (unacknowledged) one.
  const last = new Map<string, number>()
  for (const put of acked) last.set(put.key, put.value)
  for (const [key, value] of last) {
    const values = Object.values(await kv.get(key)) as { value: number }[]
    assert.equal(values.length, 1, `${key} has one head`)
    assert.ok(values[0]!.value >= value, `${key}: ${values[0]!.value} ≥ ${value}`)
  }
  // A fresh peer gets everything from the logs alone, and indexes it to the same register.
  const fresh = await openKv(t)
  await replicate(kv, fresh)
  for (const put of acked) assert.ok((await fresh.log.get(put.hash)).key === put.hash)
  assert.deepEqual(await collect(fresh.createReadStream()), await collect(kv.createReadStream()))
  assert.equal(fresh.log.changes, kv.log.changes)
})

/** Runs the child, kills it `delay` ms after it is ready, returns what it acknowledged. */
async function runAndKill(dir: string, start: number, delay: number): Promise<Acked[]> {
  const child = spawn(process.execPath, ['--import', TSX, CHILD, dir, String(start)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const acked: Acked[] = []
  let buffered = ''
  let stderr = ''
  let killed = false
  let timer: NodeJS.Timeout | undefined
  child.stderr.setEncoding('utf-8').on('data', (d: string) => (stderr += d))
  child.stdout.setEncoding('utf-8').on('data', (data: string) => {
    buffered += data
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as Acked | { event: 'ready' }
      buffered = buffered.slice(nl + 1)
      if ('event' in line) {
        timer = setTimeout(() => {
          killed = true
          child.kill('SIGKILL')
        }, delay)
      } else acked.push(line)
    }
  })
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve))
  clearTimeout(timer)
  if (!killed) throw new Error(`the child exited by itself (code ${code}): ${stderr}`)
  // A partial last line is a put the parent never heard of: it may or may not have been kept.
  return acked
}
