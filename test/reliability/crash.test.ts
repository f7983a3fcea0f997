/**
 * Crash safety of HyperKV: a child process (fixtures/crash-kv.ts) writes to two
 * stores and replicates them with each other until it is killed with SIGKILL at a random point —
 * while opening, writing, indexing or replicating. Reopened, each store must hold every write whose
 * callback fired, its register must equal both the reference model of its log and a fresh rebuild
 * of the register from the log, and the two stores must still sync to identical registers.
 *
 * `npm test` runs 20 kill points, `npm run test:extensive` 200; `CRASH_SEED=<n>` replays a run.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { inspect } from 'node:util'
import { MemoryLevel } from 'memory-level'
import { HyperKV } from '../../src/kv/index.js'
import { EXTENSIVE, Prng, seedFromEnv } from '../helpers/prng.js'
import { ReplicaModel, assertKvEquals, logNodes } from '../helpers/reliability-model.js'
import { connect, deadline } from '../helpers/reliability-sync.js'

const KILL_POINTS = Number(process.env.CRASH_POINTS ?? (EXTENSIVE ? 200 : 20))
/** Independent directory pairs killed side by side: a child spends much of its life starting. */
const CHAINS = 2
/** Fresh directories after this many kill points, so checking stays cheap as data accumulates. */
const POINTS_PER_DIR = 10
const KEYS = ['x', 'y', 'z', 'w']
const CHILD = fileURLToPath(new URL('./fixtures/crash-kv.ts', import.meta.url))
const TSX = import.meta.resolve('tsx/esm')

test(`HyperKV survives SIGKILL at ${KILL_POINTS} random points`, async (t) => {
  const seed = seedFromEnv('CRASH_SEED') ?? 0x0c4a54
  const root = await mkdtemp(join(tmpdir(), 'kappadb-crash-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  const chains = Array.from({ length: CHAINS }, (_, chain) =>
    killChain(join(root, `chain-${chain}`), new Prng(seed).fork(chain), Math.ceil(KILL_POINTS / CHAINS)),
  )
  const acked = await Promise.all(chains).catch((err: unknown) => {
    // node:test prints neither `cause` nor a nested stack: the kill point and what broke go in
    // the message itself.
    throw new Error(`crash test failed — replay with CRASH_SEED=${seed}\n${inspect(err, { depth: 8 })}`, {
      cause: err,
    })
  })
  assert.ok(
    acked.every((n) => n > 0),
    'the children acknowledged writes before being killed',
  )
})

/** `points` kill/reopen rounds on one chain's directories; returns how many writes were acknowledged. */
async function killChain(root: string, rng: Prng, points: number): Promise<number> {
  let total = 0
  let acked = { a: new Set<string>(), b: new Set<string>() }
  let dirs: [string, string] = ['', '']
  for (let point = 0; point < points; point++) {
    if (point % POINTS_PER_DIR === 0) {
      dirs = [join(root, `${point}-a`), join(root, `${point}-b`)]
      acked = { a: new Set(), b: new Set() }
    }
    const beforeReady = rng.chance(0.15)
    const delay = beforeReady ? rng.int(0, 1500) : rng.int(0, 400)
    const lines = await runAndKill(dirs, rng.int(0, 2 ** 31), delay, beforeReady)
    for (const line of lines) {
      if (line.ack === 'a' || line.ack === 'b') acked[line.ack].add(line.hash!)
    }
    total += lines.filter((line) => line.ack).length
    try {
      await verify(dirs, acked)
    } catch (err) {
      throw new Error(
        `kill point ${point} (${beforeReady ? 'before ready' : 'after ready'}, ${delay} ms, ${lines.length} lines)`,
        { cause: err },
      )
    }
  }
  return total
}

interface ChildLine {
  event?: string
  ack?: 'a' | 'b'
  hash?: string
}

/** Runs the child and SIGKILLs it `delay` ms after it started (or after it printed ready). */
async function runAndKill(
  dirs: [string, string],
  seed: number,
  delay: number,
  fromStart: boolean,
): Promise<ChildLine[]> {
  const child = spawn(process.execPath, ['--import', TSX, CHILD, ...dirs, String(seed)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: ChildLine[] = []
  let buffered = ''
  let stderr = ''
  let killed = false
  const kill = () => {
    killed = true
    child.kill('SIGKILL')
  }
  let timer: NodeJS.Timeout | undefined = fromStart ? setTimeout(kill, delay) : undefined
  child.stderr.setEncoding('utf-8').on('data', (d: string) => (stderr += d))
  child.stdout.setEncoding('utf-8').on('data', (data: string) => {
    buffered += data
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, nl)) as ChildLine
      buffered = buffered.slice(nl + 1)
      lines.push(line)
      if (line.event === 'ready' && !timer) timer = setTimeout(kill, delay)
    }
  })
  const [code] = await new Promise<[number | null]>((resolve) => child.once('close', (c) => resolve([c])))
  clearTimeout(timer)
  if (!killed) throw new Error(`the child exited by itself (code ${code}): ${stderr}`)
  // A partial last line is a write the parent never heard of: it may or may not have been kept.
  return lines
}

/**
 * Reopens both stores: acknowledged writes kept, register = model of the log = a fresh rebuild
 * in memory, then they sync with each other and both equal the model of everything they hold.
 */
async function verify(dirs: [string, string], acked: { a: Set<string>; b: Set<string> }): Promise<void> {
  const kvs = dirs.map((dir) => new HyperKV(dir)) as [HyperKV, HyperKV]
  try {
    const union = new ReplicaModel()
    for (const [i, kv] of kvs.entries()) {
      const name = i === 0 ? 'a' : 'b'
      await kv.ready()
      const held = new ReplicaModel()
      for (const node of await logNodes(kv)) {
        held.add(node)
        union.add(node)
      }
      const lost = [...acked[name]].filter((hash) => !held.has(hash))
      assert.deepEqual(lost, [], `store ${name} lost acknowledged writes`)
      await assertKvEquals(kv, held, `store ${name} reopened`, KEYS)
      const rebuilt = new HyperKV({ log: kv.log, db: new MemoryLevel() })
      try {
        await assertKvEquals(rebuilt, held, `store ${name} rebuilt from its log`, KEYS)
      } finally {
        await rebuilt.close()
      }
    }
    const conn = await connect(kvs, {
      modes: ['sync', 'sync'],
      live: false,
      transport: 'pipe',
      cutAfter: null,
      cutSide: 0,
    })
    assert.deepEqual(await deadline(conn.closed, 30_000, 'sync after a crash'), [null, null])
    for (const [i, kv] of kvs.entries())
      await assertKvEquals(kv, union, `store ${i} synced after the crash`, KEYS)
  } finally {
    await Promise.allSettled(kvs.map((kv) => kv.close()))
  }
}
