/**
 * Shared fixtures of the kv tests: HyperKVs in temp dirs (removed in teardown), replication of two
 * stores through their hyperlogs, the DAG9 fixture of hyperkv's own tests, stream collection.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { finished } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import type { TestContext } from 'node:test'
import { ClassicLevel } from 'classic-level'
import { hyperlog } from '../../src/hyperlog/index.js'
import type { LevelLike } from '../../src/kappa/index.js'
import { HyperKV, type KvNode } from '../../src/kv/index.js'
import type { MembershipOption } from '../../src/kappa/index.js'

/** A fresh directory, removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'kappadb-kv-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** `count` HyperKVs, each in its own temp dir, closed (then removed) when the test ends. */
export async function openKvs(t: TestContext, count: number): Promise<HyperKV[]> {
  const kvs: HyperKV[] = []
  for (let i = 0; i < count; i++) {
    const dir = await mkdtemp(join(tmpdir(), 'kappadb-kv-'))
    const { kv, close } = openInRegime(dir)
    t.after(async () => {
      await kv.close()
      await close()
      await rm(dir, { recursive: true, force: true })
    })
    kvs.push(kv)
  }
  return kvs
}

/**
 * The two places a store's register can live, and the write regimes they make: inside the log's
 * own database (`hyperkv(dir)`: the register index runs in-line with the DAG's commits), or in a
 * database of its own (`hyperkv({ log, db })`: the index follows the log, and writes take their
 * heads from LocalWrites' predictions). The kv suite runs once per regime:
 * KAPPADB_KV_REGISTER=outside selects the second (test/kv/register-outside.test.ts runs it).
 */
export const KV_REGISTER: 'inside' | 'outside' =
  process.env.KAPPADB_KV_REGISTER === 'outside' ? 'outside' : 'inside'

function openInRegime(dir: string): { kv: HyperKV; close: () => Promise<void> } {
  if (KV_REGISTER === 'inside') return { kv: new HyperKV(dir), close: async () => {} }
  const log = hyperlog<unknown>(join(dir, 'log'), { valueEncoding: 'json' })
  const db = new ClassicLevel(join(dir, 'register'))
  return {
    kv: new HyperKV({ log, db: db as unknown as LevelLike }),
    close: async () => {
      await log.close()
      await db.close()
    },
  }
}

/** A HyperKV of an owned database (`hyperkv(dir, { membership })`), ready; closed and removed at the end. */
export async function openOwned(t: TestContext, membership: MembershipOption): Promise<HyperKV> {
  const dir = await mkdtemp(join(tmpdir(), 'kappadb-kv-owned-'))
  const kv = new HyperKV(dir, { membership })
  t.after(async () => {
    await kv.close()
    await rm(dir, { recursive: true, force: true })
  })
  await kv.ready()
  return kv
}

export async function openKv(t: TestContext): Promise<HyperKV> {
  return (await openKvs(t, 1))[0]!
}

/** One non-live sync of two stores' logs (both directions), then both registers caught up. */
export async function replicate(a: HyperKV, b: HyperKV): Promise<void> {
  const left = a.log.replicate(true)
  const right = b.log.replicate(false)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
  await Promise.all([a.ready(), b.ready()])
}

export async function collect<T>(stream: Readable): Promise<T[]> {
  const rows: T[] = []
  for await (const row of stream) rows.push(row as T)
  return rows
}

export type Dag9 = Record<'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I', KvNode>

/**
 * hyperkv's shared fixture: A(X=555), B(X=333,→A), C(Z=1000), D(X=222,→B), E(X=400,→B), F(Y=999),
 * G(Z=2000,→C), H(Z=2500,→C), I(Z=3000,→G,H), in letter order with explicit links.
 */
export async function insertDag9(kv: HyperKV): Promise<Dag9> {
  const n = {} as Dag9
  n.A = await kv.put('X', 555, { links: [] })
  n.B = await kv.put('X', 333, { links: [n.A.key] })
  n.C = await kv.put('Z', 1000, { links: [] })
  n.D = await kv.put('X', 222, { links: [n.B.key] })
  n.E = await kv.put('X', 400, { links: [n.B.key] })
  n.F = await kv.put('Y', 999, { links: [] })
  n.G = await kv.put('Z', 2000, { links: [n.C.key] })
  n.H = await kv.put('Z', 2500, { links: [n.C.key] })
  n.I = await kv.put('Z', 3000, { links: [n.G.key, n.H.key] })
  return n
}
