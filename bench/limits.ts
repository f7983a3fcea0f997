/**
 * The machine's own limits, measured with the building blocks kappadb stands on, so every figure of
 * the bench can be read against what the hardware and libraries allow:
 *   node --import tsx bench/limits.ts <limit>
 * Prints `RESULT {"rate": …, "unit": …}` like the scenarios.
 */
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { ClassicLevel } from 'classic-level'
import Corestore from 'corestore'
import crypto from 'hypercore-crypto'
import { now, runScenarios, tmpdir, type Scenario } from './scenarios/common.js'

/** A 57-byte JSON entry, the size of a small kv document. */
const entry = (i: number): Buffer =>
  Buffer.from(JSON.stringify({ id: i, t: 1700000000000, k: 'key', v: 'value' }).padEnd(57))

/** Calls `fn` in a loop for about `seconds`, returns calls per second. */
function loopFor(seconds: number, fn: (i: number) => void): { count: number; seconds: number } {
  const t0 = now()
  let count = 0
  while (now() - t0 < seconds) {
    for (let i = 0; i < 100; i++) fn(count++)
  }
  return { count, seconds: now() - t0 }
}

const limits: Record<string, Scenario> = {
  /** Hypercore 11 appends of arrays of 1000 entries, one entry per block. */
  async 'hypercore-batched-append'(_backend, n) {
    const store = new Corestore(tmpdir('limit-core'))
    const core = store.get({ name: 'limit' })
    await core.ready()
    const batch = Array.from({ length: 1000 }, (_, i) => entry(i))
    const t0 = now()
    for (let i = 0; i < n; i += 1000) await core.append(batch)
    const seconds = now() - t0
    await store.close()
    return { count: n, seconds, unit: 'entries' }
  },

  /** Hypercore 11 single appends, each awaited. */
  async 'hypercore-append'(_backend, n) {
    const store = new Corestore(tmpdir('limit-core'))
    const core = store.get({ name: 'limit' })
    await core.ready()
    const t0 = now()
    for (let i = 0; i < n; i++) await core.append(entry(i))
    const seconds = now() - t0
    await store.close()
    return { count: n, seconds, unit: 'appends' }
  },

  /** One Hypercore of n one-entry blocks replicated in-process to an empty store. */
  async 'hypercore-replicate'(_backend, n) {
    const a = new Corestore(tmpdir('limit-repl-a'))
    const b = new Corestore(tmpdir('limit-repl-b'))
    const source = a.get({ name: 'limit' })
    await source.ready()
    for (let i = 0; i < n; i += 1000) {
      await source.append(Array.from({ length: Math.min(1000, n - i) }, (_, j) => entry(i + j)))
    }
    const t0 = now()
    const sa = a.replicate(true)
    const sb = b.replicate(false)
    sa.pipe(sb).pipe(sa)
    const copy = b.get({ key: source.key })
    await copy.ready()
    await copy.download({ start: 0, end: n }).done()
    const seconds = now() - t0
    if (copy.contiguousLength !== n) throw new Error(`copied ${copy.contiguousLength} of ${n} blocks`)
    sa.noiseStream.end()
    await once(sb, 'close')
    await Promise.all([a.close(), b.close()])
    return { count: n, seconds, unit: 'blocks' }
  },

  /** classic-level batches of 1000 puts. */
  async 'classic-level-batch'(_backend, n) {
    const db = new ClassicLevel<string, Buffer>(tmpdir('limit-level'), { valueEncoding: 'buffer' })
    await db.open()
    const value = entry(0)
    const t0 = now()
    for (let i = 0; i < n; i += 1000) {
      const ops = []
      for (let j = i; j < i + 1000; j++)
        ops.push({ type: 'put' as const, key: `key-${String(j).padStart(10, '0')}`, value })
      await db.batch(ops)
    }
    const seconds = now() - t0
    await db.close()
    return { count: n, seconds, unit: 'writes' }
  },

  /** ed25519 signatures of 32-byte messages (what Hypercore signs per append) through sodium. */
  async 'ed25519-sign'() {
    const { secretKey } = crypto.keyPair()
    const message = Buffer.alloc(32, 7)
    return { ...loopFor(1, () => crypto.sign(message, secretKey)), unit: 'signs' }
  },

  /** hyperlog's framed sha256 of one link and a 40-byte value. */
  async 'framed-sha256'() {
    const link = 'c44296d0fbdcaf1dca0082886a8913d961b04a2a85029e7e2d0420025af10192'
    const value = Buffer.from('{"k":"key-00000001","v":{"n":1,"t":"x"}}')
    return {
      ...loopFor(1, () => {
        const h = createHash('sha256')
        h.update(`${link.length}\n`)
        h.update(link)
        h.update(`${value.length}\n`)
        h.update(value)
        h.digest('hex')
      }),
      unit: 'hashes',
    }
  },
}

runScenarios(limits)
