/**
 * Hostile values: a peer whose log uses another valueEncoding writes bytes that do
 * not decode as JSON. The honest side runs in this process: it must never throw an uncaught
 * exception, never show the bad entry, report it with a code, and stay usable (also after a
 * reopen). And values JSON cannot encode are refused with ERR_INVALID_ARGUMENT, nothing written.
 */
import assert from 'node:assert/strict'
import test from 'node:test'
import type { TestContext } from 'node:test'
import type { Duplex } from 'node:stream'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isKappaError, type ErrorCode } from '../../src/errors.js'
import { HyperKV } from '../../src/kv/index.js'
import { Kappa } from '../../src/kappa/index.js'
import type { View } from '../../src/kappa/index.js'
import { Hyperlog } from '../../src/hyperlog/index.js'
import { closedWith } from '../helpers/reliability-sync.js'

async function tempRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kappadb-hostile-values-'))
  t.after(() => rm(root, { recursive: true, force: true, maxRetries: 3 }))
  return root
}

/** Collects uncaught exceptions for the test's life (node:test would otherwise just fail the file). */
function watchUncaught(t: TestContext): Error[] {
  const seen: Error[] = []
  const onUncaught = (err: Error) => seen.push(err)
  process.on('uncaughtException', onUncaught)
  t.after(() => process.off('uncaughtException', onUncaught))
  return seen
}

/** Pipes two replication streams together; resolves with how each ended (null: cleanly). */
function pipe(a: Duplex, b: Duplex): Promise<[Error | null, Error | null]> {
  a.pipe(b).pipe(a)
  return Promise.all([closedWith(a), closedWith(b)])
}

const code = (err: Error | null) => (err ? ((err as { code?: string }).code ?? 'UNCODED') : 'END')
/** The values of a key's register (`kv.get` maps node keys to `{ value }`). */
const valuesOf = (row: Record<string, object>) => Object.values(row).map((v) => ('value' in v ? v.value : v))
const bad = (c: ErrorCode) => (e: unknown) => isKappaError(e, c)

test('a binary hyperlog peer writing non-JSON into a HyperKV: refused with ERR_PROTOCOL, never visible, the store stays usable', async (t) => {
  const uncaught = watchUncaught(t)
  const root = await tempRoot(t)
  let kv = new HyperKV(join(root, 'victim'))
  const evil = new Hyperlog(join(root, 'evil'), { valueEncoding: 'binary' })
  const friend = new HyperKV(join(root, 'friend'))
  t.after(async () => {
    await kv.close()
    await evil.close()
    await friend.close()
  })
  await kv.put('mine', 1)
  const badNode = await evil.add(null, Buffer.from('{bad'))
  const rejected: string[] = []
  kv.log.on('reject', (node) => rejected.push(String(node.key)))

  const [evilEnd, victimEnd] = await pipe(evil.replicate(true), kv.log.replicate(false))
  assert.equal(code(victimEnd), 'ERR_PROTOCOL', 'the replication that brought it fails with a code')
  assert.notEqual(code(evilEnd), 'UNCODED')
  assert.deepEqual(rejected, [badNode.key], "the node is refused ('reject')")

  const check = async (store: HyperKV) => {
    await store.ready()
    assert.deepEqual(valuesOf(await store.get('mine')), [1])
    await assert.rejects(store.log.get(badNode.key), bad('ERR_NOT_FOUND'))
    const nodes: unknown[] = []
    for await (const node of store.log.createReadStream()) nodes.push(node)
    assert.equal(nodes.length, store.log.changes, 'every visible node reads back, the bad one is not one')
    const heads = await store.log.heads()
    assert.ok(heads.length >= 1 && heads.every((h) => h.key !== badNode.key))
    const rows: unknown[] = []
    for await (const row of store.createReadStream()) rows.push(row)
    assert.ok(rows.length >= 1)
  }
  await check(kv)
  await kv.put('after', 2)
  assert.deepEqual(valuesOf(await kv.get('after')), [2])

  await friend.put('f', 'from friend')
  // The victim holds the evil writer's (validly signed) log and would pass it on in a full sync,
  // where the friend refuses the same node with ERR_PROTOCOL: receiving alone ends cleanly.
  const [a, b] = await pipe(
    friend.log.replicate(true, { mode: 'push' }),
    kv.log.replicate(false, { mode: 'pull' }),
  )
  assert.deepEqual([code(a), code(b)], ['END', 'END'], 'it still syncs with an honest peer')
  await kv.ready()
  assert.deepEqual(valuesOf(await kv.get('f')), ['from friend'])
  const [c, d] = await pipe(friend.log.replicate(true), kv.log.replicate(false))
  assert.ok(['END', 'ERR_PROTOCOL'].includes(code(c)) && ['END', 'ERR_PROTOCOL'].includes(code(d)))
  await friend.ready()
  assert.deepEqual(valuesOf(await friend.get('mine')), [1], 'a full sync carries the honest data both ways')
  await assert.rejects(friend.log.get(badNode.key), bad('ERR_NOT_FOUND'))

  await kv.close()
  kv = new HyperKV(join(root, 'victim'))
  await check(kv)
  assert.deepEqual(valuesOf(await kv.get('f')), ['from friend'], 'after a reopen too')
  await kv.put('reopened', 3)
  assert.deepEqual(valuesOf(await kv.get('reopened')), [3])
  assert.deepEqual(uncaught, [], 'no uncaught exception')
})

interface SumApi {
  get(core: unknown, cb: (err: Error | null, sum?: number) => void): void
}

/** An in-memory sum of `value.n` over every entry (kappa-core's README example). */
function sumView(): View<unknown, SumApi> {
  let sum = 0
  return {
    map(entries: { value: unknown }[], next: () => void) {
      for (const e of entries) {
        const n = (e.value as { n?: unknown } | null)?.n
        if (typeof n === 'number') sum += n
      }
      next()
    },
    api: {
      get(_core: unknown, cb: (err: Error | null, sum?: number) => void) {
        cb(null, sum)
      },
    },
  } as unknown as View<unknown, SumApi>
}

/** An honest json Kappa with a sum view, and a peer whose Multifeed is binary. */
async function kappas(t: TestContext) {
  const root = await tempRoot(t)
  const honest = new Kappa(join(root, 'honest')).use('sum', sumView())
  const evil = new Kappa<Buffer | string>(join(root, 'evil'), { valueEncoding: 'binary' })
  t.after(async () => {
    await honest.close()
    await evil.close()
  })
  const sumOf = async () => {
    await honest.ready('sum')
    const api = honest.api.sum as unknown as { get(cb: (err: Error | null, s?: number) => void): void }
    return new Promise<number | undefined>((resolve, reject) =>
      api.get((err, s) => (err ? reject(err) : resolve(s))),
    )
  }
  return { honest, evil, sumOf }
}

test('a binary Multifeed peer writing non-JSON into a json Kappa: the view skips it, ERR_PROTOCOL reported once', async (t) => {
  const uncaught = watchUncaught(t)
  const { honest, evil, sumOf } = await kappas(t)
  const errors: Error[] = []
  honest.on('error', (err) => errors.push(err))
  await (await honest.writer('local')).append({ n: 1 })
  const writer = await evil.writer('evil')
  await writer.append([
    Buffer.from(JSON.stringify({ n: 10 })),
    Buffer.from('{not json'),
    Buffer.from(JSON.stringify({ n: 100 })),
  ])
  const ends = await pipe(evil.replicate(true), honest.replicate(false))
  assert.deepEqual(ends.map(code), ['END', 'END'])

  assert.equal(await sumOf(), 111, 'the valid entries are counted, the undecodable one skipped')
  assert.deepEqual(
    errors.map((e) => code(e)),
    ['ERR_PROTOCOL'],
    "one 'error' event with ERR_PROTOCOL",
  )
  // The view keeps working: a new local entry is indexed.
  await (await honest.writer('local')).append({ n: 1000 })
  assert.equal(await sumOf(), 1111)
  assert.deepEqual(uncaught, [], 'no uncaught exception')
})

test('an undecodable remote entry with nobody listening for errors: no crash, the view goes on', async (t) => {
  const uncaught = watchUncaught(t)
  const { honest, evil, sumOf } = await kappas(t)
  await (await evil.writer('evil')).append([Buffer.from('\xff'), Buffer.from(JSON.stringify({ n: 5 }))])
  await pipe(evil.replicate(true), honest.replicate(false))
  assert.equal(await sumOf(), 5)
  assert.equal(honest.getState('sum').state, 'idle')
  assert.deepEqual(uncaught, [])
})

test('values JSON cannot encode (a cycle, a BigInt): ERR_INVALID_ARGUMENT, nothing written', async (t) => {
  const root = await tempRoot(t)
  const kv = new HyperKV(join(root, 'kv'))
  const kappa = new Kappa(join(root, 'kappa'))
  const log = new Hyperlog(join(root, 'log'), { valueEncoding: 'json' })
  t.after(async () => {
    await kv.close()
    await kappa.close()
    await log.close()
  })
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  for (const value of [cyclic, { a: 1n }]) {
    await assert.rejects(kv.put('c', value), bad('ERR_INVALID_ARGUMENT'))
    await assert.rejects(log.add(null, value), bad('ERR_INVALID_ARGUMENT'))
    const feed = await kappa.writer('w')
    await assert.rejects(feed.append(value), bad('ERR_INVALID_ARGUMENT'))
    assert.equal(feed.length, 0)
  }
  assert.deepEqual(await kv.get('c'), {})
  assert.equal(log.changes, 0)
  assert.equal(kv.log.changes, 0)
})
