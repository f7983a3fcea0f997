/**
 * Lazy feeds: a store opens from its feed index without opening a feed's core; a core opens to
 * read, write or move blocks and closes once idle; the index survives SIGKILL at any point.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { HypercoreFeed } from '../../src/feeds/feed.js'
import { Multifeed } from '../../src/feeds/multifeed.js'
import type { Feed } from '../../src/feeds/types.js'
import { coreOf, create, replicate, tempDir } from '../helpers/feeds.js'
import { randomGenerator } from '../helpers/kv-random.js'
import { until } from '../helpers/until.js'

const CHILD = fileURLToPath(new URL('./fixtures/lazy-crash.ts', import.meta.url))
const TSX = import.meta.resolve('tsx/esm')
const KILL_POINTS = process.env.EXTENSIVE ? 60 : 12

function openCores(feeds: readonly Feed<unknown>[]): number {
  return feeds.filter((feed) => (feed as HypercoreFeed<unknown>).coreOpen).length
}

test('a store with many feeds reopens without opening a core; lengths come from the index', async (t) => {
  const dir = await tempDir(t, 'kappadb-lazy-')
  const N = 150
  const first = new Multifeed<string>(dir, { valueEncoding: 'utf-8' })
  for (let i = 0; i < N; i++) await (await first.writer(`w${i}`)).append([`a${i}`, `b${i}`])
  await first.close()

  const m = new Multifeed<string>(dir, { valueEncoding: 'utf-8', coreIdleTime: 20 })
  t.after(() => m.close())
  await m.ready()
  assert.equal(m.feeds().length, N)
  assert.equal(openCores(m.feeds()), 0, 'no core opened by ready()')
  assert.deepEqual(
    m.feeds().map((feed) => feed.length),
    Array.from({ length: N }, () => 2),
  )
  assert.ok(m.feeds().every((feed) => feed.upToDate))
  // Reading one feed opens its core only, which closes again once idle.
  const feed = m.feeds()[7]!
  assert.equal(await feed.get(1), 'b7')
  assert.equal(openCores(m.feeds()), 1)
  await until(() => openCores(m.feeds()) === 0)
  // And it opens again on demand, for reads and writes alike.
  const writer = await m.writer('w7')
  assert.equal(writer, feed)
  assert.equal(await writer.append('c7'), 2)
  await until(() => openCores(m.feeds()) === 0)
  assert.deepEqual(await writer.getBatch(0, 3), ['a7', 'b7', 'c7'])
})

test('a sync opens only the cores of feeds with blocks to move, on both sides', async (t) => {
  const a = await create<string>(t, { valueEncoding: 'utf-8', coreIdleTime: 20 })
  const b = await create<string>(t, { valueEncoding: 'utf-8', coreIdleTime: 20 })
  for (let i = 0; i < 20; i++) await (await a.writer(`w${i}`)).append(`x${i}`)
  await replicate(a, b)
  assert.equal(b.feeds().length, 20)
  await until(() => openCores(a.feeds()) === 0 && openCores(b.feeds()) === 0)
  // Nothing new: no core opens on either side.
  let opened = 0
  const count = (feeds: readonly Feed<unknown>[]) => {
    for (const feed of feeds) {
      const f = feed as HypercoreFeed<unknown>
      if (f.coreOpen) opened++
    }
  }
  const sampler = setInterval(() => {
    count(a.feeds())
    count(b.feeds())
  }, 1)
  await replicate(a, b)
  clearInterval(sampler)
  count(a.feeds())
  count(b.feeds())
  assert.equal(opened, 0, 'no core opened for a sync with nothing to move')
  // One new entry: only that feed's cores open.
  await (await a.writer('w3')).append('y3')
  await until(() => openCores(a.feeds()) === 0)
  await replicate(a, b)
  const w3 = b.feed(a.feeds()[3]!.key)!
  assert.equal(w3.length, 2)
  assert.equal(openCores(b.feeds().filter((feed) => feed !== w3)), 0)
})

test('a raw core lease keeps a core open until the store closes', async (t) => {
  const m = await create<string>(t, { valueEncoding: 'utf-8', coreIdleTime: 1 })
  const w = await m.writer()
  await w.append('a')
  const core = await coreOf(w)
  // Another feed used at the same time closes once idle; the leased one stays open.
  const other = await m.writer('other')
  await other.append('b')
  await until(() => !(other as HypercoreFeed<string>).coreOpen, "the other feed's core to close")
  assert.equal(core.closed, false)
  assert.equal(openCores(m.feeds()), 1)
})

test(`the feed index survives SIGKILL at ${KILL_POINTS} random points: every acknowledged entry is there, no length is behind`, async (t) => {
  const seed = Number(process.env.LAZY_CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31))
  const random = randomGenerator(seed)
  const dir = await tempDir(t, 'kappadb-lazy-crash-')
  const acked = new Map<string, number>()
  for (let point = 0; point < KILL_POINTS; point++) {
    const where = `seed ${seed}, kill point ${point}`
    await runAndKill(dir, Math.floor(random() * 2 ** 31), 20 + Math.floor(random() * 150), acked)
    const m = new Multifeed<string>(dir, { valueEncoding: 'utf-8' })
    try {
      await m.ready()
      for (const feed of m.feeds()) {
        const name = feed.name!
        const length = feed.length
        assert.ok(
          length >= (acked.get(name) ?? 0),
          `${name}: ${length} ≥ acknowledged ${acked.get(name)} (${where})`,
        )
        // The index is not behind the core: opening it finds nothing more.
        const core = await coreOf(feed)
        await feed.update()
        assert.equal(feed.length, length, `${name}: the index's length is the core's (${where})`)
        assert.ok(core.length > 0 || length === 0)
        const values = await feed.getBatch(0, length)
        assert.deepEqual(
          values,
          Array.from({ length }, (_, k) => `${name}:${k}`),
          `${name}: every entry in order (${where})`,
        )
        acked.set(name, length)
      }
    } finally {
      await m.close()
    }
  }
  assert.ok(
    [...acked.values()].some((n) => n > 0),
    `the child appended something (seed ${seed})`,
  )
})

async function runAndKill(
  dir: string,
  childSeed: number,
  delay: number,
  acked: Map<string, number>,
): Promise<void> {
  const child = spawn(process.execPath, ['--import', TSX, CHILD, dir, String(childSeed)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const exited = once(child, 'exit')
  let buffered = ''
  let ready = false
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop()!
      for (const line of lines) {
        if (line === 'ready' && !ready) {
          ready = true
          resolve()
        }
        const [word, name, length] = line.split(' ')
        if (word === 'ack' && name && length) acked.set(name, Math.max(acked.get(name) ?? 0, Number(length)))
      }
    })
    child.on('exit', (code) => {
      if (!ready) reject(new Error(`child exited early with code ${code}`))
    })
  })
  await new Promise((resolve) => setTimeout(resolve, delay))
  child.kill('SIGKILL')
  await exited
}

test('not live, the sender lets the cores it serves go once the peer has their blocks, before the session ends', async (t) => {
  const a = await create<string>(t, { valueEncoding: 'utf-8', coreIdleTime: 20 })
  const b = await create<string>(t, { valueEncoding: 'utf-8', coreIdleTime: 20 })
  const writers = []
  for (let i = 0; i < 3; i++) writers.push(await a.writer(`w${i}`))
  for (const writer of writers) await writer.append('first')
  await replicate(a, b)
  // b holds one block of each; a has more of them to serve.
  for (const writer of writers) await writer.append(['second', 'third'])
  await until(() => openCores(a.feeds()) === 0)
  let servedOpen = -1
  await replicate(a, b, {
    // On b, once it downloaded everything and before it says done: a's served cores go idle.
    beforeDone: async () => {
      if (b.feeds().every((feed) => feed.length === 3)) {
        await until(() => openCores(a.feeds()) === 0, "the sender's served cores to close")
        servedOpen = openCores(a.feeds())
      }
    },
  })
  assert.equal(servedOpen, 0)
  for (const writer of writers) assert.equal(b.feed(writer.key)?.length, 3)
})
