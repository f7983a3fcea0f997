/**
 * The replication policy through hyperkv(dir, { policy }) and hyperlog(dir, { policy }): the
 * defaults of every `kv.log.replicate`, a hook given to replicate wins, a bad policy is refused.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { finished } from 'node:stream/promises'
import { HyperKV } from '../../src/kv/index.js'
import { Hyperlog } from '../../src/hyperlog/index.js'
import type { HyperKVDirOptions } from '../../src/kv/types.js'
import { replicate } from '../helpers/kv.js'

async function open(t: TestContext, opts: HyperKVDirOptions = {}): Promise<HyperKV> {
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-kv-policy-'))
  const kv = new HyperKV(dir, opts)
  t.after(async () => {
    await kv.close()
    await rm(dir, { recursive: true, force: true })
  })
  await kv.ready()
  return kv
}

test('hyperkv policy: accept false takes nothing; a hook given to replicate wins', async (t) => {
  const a = await open(t)
  await a.put('k', 'v')
  const b = await open(t, { policy: { accept: () => false } })
  await replicate(a, b)
  assert.deepEqual(await b.get('k'), {})
  const left = a.log.replicate(true)
  const right = b.log.replicate(false, { accept: () => true })
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  await b.ready()
  assert.deepEqual(
    Object.values(await b.get('k')).map((v) => (v as { value: unknown }).value),
    ['v'],
  )
})

test('a sparse accept ({ start } past 0), as a policy or given to replicate, takes nothing: a kv needs whole logs', async (t) => {
  const a = await open(t)
  await a.put('k', 'v1')
  await a.put('k', 'v2')
  const b = await open(t, { policy: { accept: () => ({ start: 1 }) } })
  await replicate(a, b)
  assert.deepEqual(await b.get('k'), {})
  assert.deepEqual(b.log.kappa.feeds().length, 1, 'only its own writer')
  const c = await open(t)
  const left = a.log.replicate(true)
  const right = c.log.replicate(false, { accept: () => ({ start: 1 }) })
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  await c.ready()
  assert.deepEqual(await c.get('k'), {})
  assert.equal(c.log.kappa.feed(a.log.kappa.feeds()[0]!.key), undefined, 'nothing of A stored')
})

test('a bad policy is refused; a policy beside a given kappa belongs to it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-kv-policy-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  assert.throws(() => new HyperKV(dir, { policy: { share: 5 } as never }), { code: 'ERR_INVALID_ARGUMENT' })
  const kv = await open(t)
  assert.throws(() => new Hyperlog({ kappa: kv.log.kappa, db: kv.log.db } as never, { policy: {} }), {
    code: 'ERR_INVALID_ARGUMENT',
  })
})
