/**
 * The scale row's first sync on its own, for A/B runs in fresh processes (one checkout against
 * another, alternating):
 *   node --import tsx bench/scenarios/first-sync.ts build DIR N   # N writers × 10 entries in DIR/a
 *   node --import tsx bench/scenarios/first-sync.ts sync DIR       # DIR/a → an empty DIR/b
 * `sync` opens DIR/a until its count view is ready, then syncs it to an empty store (DIR/b, made
 * anew each run) over a unix socket until b's view is ready, as `scale-measure` does, and prints
 * `{ firstSyncSeconds }`. Time the whole process from outside (e.g. `/usr/bin/time -v`) to compare
 * CPU time, which a loaded machine disturbs less than the wall time.
 */
import { rmSync } from 'node:fs'
import net from 'node:net'
import { join } from 'node:path'
import { close, open } from './count-store.js'

async function build(dir: string, n: number): Promise<void> {
  const a = open(join(dir, 'a'))
  for (let i = 0; i < n; i++) {
    await (await a.core.writer(`w${i}`)).append(Array.from({ length: 10 }, (_, k) => k))
  }
  await a.core.ready('count')
  await close(a)
}

async function sync(dir: string): Promise<void> {
  const a = open(join(dir, 'a'))
  await a.core.ready('count')
  const total = await a.core.api.count.count()
  rmSync(join(dir, 'b'), { recursive: true, force: true })
  const b = open(join(dir, 'b'))
  const path = join(dir, 'first-sync.sock')
  rmSync(path, { force: true })
  const server = net.createServer((socket) => a.core.replicate(socket))
  await new Promise<void>((resolve) => server.listen(path, resolve))
  const t0 = performance.now()
  const stream = b.core.replicate(net.connect(path))
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject)
    stream.on('close', () => resolve())
  })
  await b.core.ready('count')
  const firstSyncSeconds = (performance.now() - t0) / 1000
  if ((await b.core.api.count.count()) !== total) throw new Error('the first sync is incomplete')
  console.log(JSON.stringify({ firstSyncSeconds }))
  await new Promise<void>((resolve) => server.close(() => resolve()))
  await Promise.all([close(a), close(b)])
}

const [mode, dir, n] = process.argv.slice(2)
if (mode === 'build' && dir && n) await build(dir, Number(n))
else if (mode === 'sync' && dir) await sync(dir)
else throw new Error('usage: first-sync.ts build DIR N | sync DIR')
