/**
 * The scale row: N local writers × 10 entries each with a count view (levelView on classic-level),
 * and what it costs to reopen and replicate them:
 *   node --import tsx bench/scenarios/scale.ts scale disk <N>
 * Builds the store, then a fresh process (`scale-measure`) measures: reopen until the view is
 * ready (seconds, RSS growth per feed, open files), the first sync to an empty peer over a unix
 * socket until its view is ready, a reconnect of the two (both reopened) with nothing new, and a
 * reconnect after one new entry in one feed (seconds, bytes each way).
 */
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { close, open, type CountCore } from './count-store.js'
import { now, runScenarios, tmpdir, type Scenario } from './common.js'

const ENTRIES = 10

function openFiles(): number {
  try {
    return readdirSync('/proc/self/fd').length
  } catch {
    return -1
  }
}

/** One non-live sync of a and b over a unix socket: seconds, and bytes each way. */
async function sync(
  a: CountCore,
  b: CountCore,
  path: string,
): Promise<{ seconds: number; ab: number; ba: number }> {
  let serverSocket: net.Socket | null = null
  const server = net.createServer((socket) => {
    serverSocket = socket
    a.replicate(socket)
  })
  await new Promise<void>((resolve) => server.listen(path, resolve))
  const t0 = now()
  const client = net.connect(path)
  const stream = b.replicate(client)
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject)
    stream.on('close', () => resolve())
  })
  await new Promise<void>((resolve) => (client.closed ? resolve() : client.once('close', () => resolve())))
  const seconds = now() - t0
  await new Promise<void>((resolve) => server.close(() => resolve()))
  const s = serverSocket as net.Socket | null
  return { seconds, ab: s?.bytesWritten ?? 0, ba: client.bytesWritten }
}

const scenarios: Record<string, Scenario> = {
  async scale(backend, n) {
    const dir = tmpdir('scale')
    const built = open(join(dir, 'a'))
    const t0 = now()
    for (let i = 0; i < n; i++) {
      const writer = await built.core.writer(`w${i}`)
      await writer.append(Array.from({ length: ENTRIES }, (_, k) => k))
    }
    await built.core.ready('count')
    const buildSeconds = now() - t0
    await close(built)
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), 'scale-measure', backend, String(n), dir],
      { encoding: 'utf8', maxBuffer: 1 << 24 },
    )
    const line = out.split('\n').find((l) => l.startsWith('RESULT ')) ?? ''
    return { ...(JSON.parse(line.slice(7)) as { seconds: number }), buildSeconds }
  },

  async 'scale-measure'(_backend, n) {
    const dir = process.argv[5] ?? ''
    const total = n * ENTRIES
    const socket = (label: string) => join(dir, `${label}.sock`)
    const rssBefore = process.memoryUsage().rss
    const t0 = now()
    let a = open(join(dir, 'a'))
    await a.core.ready('count')
    const reopenSeconds = now() - t0
    const reopenRssKBPerFeed = (process.memoryUsage().rss - rssBefore) / 1024 / n
    const reopenOpenFiles = openFiles()
    if ((await a.core.api.count.count()) !== total) throw new Error('the reopened view is wrong')

    let b = open(join(dir, 'b'))
    const t1 = now()
    await sync(a.core, b.core, socket('first'))
    await b.core.ready('count')
    const firstSyncSeconds = now() - t1
    if ((await b.core.api.count.count()) !== total) throw new Error('the first sync is incomplete')

    // Reconnect of two processes: both reopened.
    await Promise.all([close(a), close(b)])
    a = open(join(dir, 'a'))
    b = open(join(dir, 'b'))
    await Promise.all([a.core.ready('count'), b.core.ready('count')])
    const same = await sync(a.core, b.core, socket('same'))

    await Promise.all([close(a), close(b)])
    a = open(join(dir, 'a'))
    b = open(join(dir, 'b'))
    await Promise.all([a.core.ready('count'), b.core.ready('count')])
    await (await a.core.writer('w0')).append(1)
    const t2 = now()
    const one = await sync(a.core, b.core, socket('one'))
    await b.core.ready('count')
    const oneSeconds = now() - t2
    if ((await b.core.api.count.count()) !== total + 1) throw new Error('the new entry did not arrive')
    await Promise.all([close(a), close(b)])
    return {
      seconds: reopenSeconds,
      reopenSeconds,
      reopenRssKBPerFeed,
      reopenOpenFiles,
      firstSyncSeconds,
      sameMs: same.seconds * 1000,
      sameBytesAB: same.ab,
      sameBytesBA: same.ba,
      oneMs: oneSeconds * 1000,
      oneBytesAB: one.ab,
      oneBytesBA: one.ba,
    }
  },
}

runScenarios(scenarios, (name) => name === 'scale-measure')
