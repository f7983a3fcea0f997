/**
 * The key filter (src/kv/key-filter.ts) and what rests on it: a key that has a register is never
 * taken for a new one — whether it was written before a reopen, or arrived by replication before
 * the store's first own write — so writes keep linking its heads.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { HyperKV } from '../../src/kv/index.js'
import { KeyFilter } from '../../src/kv/key-filter.js'
import { encodeRegister } from '../../src/kv/messages.js'
import { RegisterStore } from '../../src/kv/register-store.js'
import type { KvDatabase } from '../../src/kv/types.js'
import { Prng } from '../helpers/prng.js'
import { openKvs, replicate, tempDir } from '../helpers/kv.js'

test('key filter: no key added is ever missed, across growth; few keys never added pass', () => {
  const prng = new Prng(7)
  const filter = new KeyFilter(1024)
  assert.equal(filter.mightHave('anything'), false)
  const added: string[] = []
  for (let i = 0; i < 50_000; i++) {
    const key = `k${prng.int(0, 1e9)}/${'é'.repeat(i % 3)}${i}`
    filter.add(key)
    added.push(key)
  }
  for (const key of added) assert.equal(filter.mightHave(key), true, key)
  let passed = 0
  for (let i = 0; i < 20_000; i++) if (filter.mightHave(`absent-${i}`)) passed++
  // ~1% per filter, and the filter grew six times: well under 10% in all.
  assert.ok(passed < 2_000, `${passed} of 20,000 absent keys passed`)
})

test('a reopened store: writes to keys written before link their heads (no fork), early and late', async (t) => {
  const dir = await tempDir(t)
  const first = new HyperKV(dir)
  const rows = Array.from({ length: 3000 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: 1 }))
  await first.batch(rows)
  await first.close()

  const kv = new HyperKV(dir)
  t.after(() => kv.close())
  // The first write starts the scan of the stored keys; the writes link the heads wherever the
  // scan is (the register store tests below pin each state of the filter: before and after it).
  const early = await kv.put('k0', 2)
  const late = await kv.batch(rows.map((row) => ({ ...row, value: 3 })))
  const last = await kv.put('k2999', 4)
  for (const node of [early, ...late, last]) assert.equal(node.links.length, 1, 'linked the key head')
  assert.deepEqual(Object.values(await kv.get('k0')), [{ value: 3 }])
  assert.deepEqual(Object.values(await kv.get('k2999')), [{ value: 4 }])
  // A replica rebuilding the registers from the log sees one value per key too.
  const [fresh] = await openKvs(t, 1)
  await replicate(kv, fresh!)
  assert.deepEqual(Object.values(await fresh!.get('k1500')), [{ value: 3 }])
})

test('a key that arrived by replication before any own write is linked by the first one', async (t) => {
  const [a, b] = await openKvs(t, 2)
  await a!.put('shared', 'from a')
  await replicate(a!, b!)
  const node = await b!.put('shared', 'from b')
  assert.equal(node.links.length, 1, 'linked the replicated head')
  assert.deepEqual(Object.values(await b!.get('shared')), [{ value: 'from b' }])
})

test('register store: keys stored before the scan, staged before or during it are read, others not', async () => {
  const db = new MemoryLevel<string, unknown>()
  const registers = db.sublevel<string, Uint8Array>('x', { valueEncoding: 'view' })
  const head = (key: string): Uint8Array => encodeRegister([{ key: key.padEnd(64, '0'), type: 'put' }])
  await registers.put('stored', head('a'))
  const store = new RegisterStore(db as unknown as KvDatabase)
  await store.db.open() // so the scan's snapshot is taken now, before the next write
  store.willWrite('early') // staged (a replicated node indexed) before the first own write…
  const scanned = store.learnKeys()
  await registers.put('early', head('c')) // …and committed after the scan's snapshot
  store.willWrite('staged') // a batch staging it while the scan runs…
  await registers.put('staged', head('b')) // …commits
  await scanned
  assert.ok(store.knowsKeys, 'the scan ended')
  store.clearCache()
  const got = await store.getMany(['stored', 'early', 'staged', 'never'])
  assert.equal(got.get('stored')!.length, 1)
  assert.equal(got.get('early')!.length, 1)
  assert.equal(got.get('staged')!.length, 1)
  assert.deepEqual(got.get('never'), [])
  await db.close()
})

test('register store: too many keys staged before the first own write, and it never learns', async () => {
  const db = new MemoryLevel<string, unknown>()
  const store = new RegisterStore(db as unknown as KvDatabase)
  for (let i = 0; i <= 65_536; i++) store.willWrite(`k${i}`)
  await store.learnKeys()
  assert.equal(store.knowsKeys, false)
  await db.close()
})
