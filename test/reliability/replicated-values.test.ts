/**
 * Replicated values pass the validation local ones do (size, nesting depth, encoding). The hostile
 * writer is a real Kappa with the database's key writing crafted entries straight into its
 * `hyperlog` feed (or, for the oversized entry, a crafted block straight into its Hypercore); the
 * honest store is a HyperKV. A refused node never becomes visible: `get`, read streams, the
 * log's read stream and the `hyperkv` command (`list`, `get`) answer as if it never came, the
 * replication that brought it fails with ERR_PROTOCOL, and the store syncs and reopens after.
 */
import assert from 'node:assert/strict'
import test from 'node:test'
import type { TestContext } from 'node:test'
import type { Duplex } from 'node:stream'
import { join } from 'node:path'
import { MAX_ENTRY_BYTES, MAX_VALUE_DEPTH } from '../../src/index.js'
import { isKappaError } from '../../src/errors.js'
import { HyperKV } from '../../src/kv/index.js'
import { Kappa, type View } from '../../src/kappa/index.js'
import { HYPERLOG_NAME, type NodeHash } from '../../src/hyperlog/index.js'
import { encodeEntry } from '../../src/hyperlog/messages.js'
import { encodeBlocks } from '../../src/feeds/messages.js'
import { coreOf } from '../helpers/feeds.js'
import { closedWith } from '../helpers/reliability-sync.js'
import { tempDir } from '../helpers/temp.js'
import { runCli } from '../helpers/cli.js'

const code = (err: Error | null) => (err ? ((err as { code?: string }).code ?? 'UNCODED') : 'END')
const valuesOf = (row: Record<string, object>) => Object.values(row).map((v) => ('value' in v ? v.value : v))
/** JSON text of arrays nested `depth` deep. */
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth)
const doc = (key: string, valueJson: string) => Buffer.from(`{"k":${JSON.stringify(key)},"v":${valueJson}}`)
const nodeEntry = (value: Buffer, links: string[] = []) =>
  encodeEntry({ links: links as NodeHash[], value, identity: null, signature: null })

function pipe(a: Duplex, b: Duplex): Promise<[Error | null, Error | null]> {
  a.pipe(b).pipe(a)
  return Promise.all([closedWith(a), closedWith(b)])
}

/** The honest store (with one key of its own) and an attacker: a real Kappa of the same database. */
async function world(t: TestContext) {
  const root = await tempDir(t, 'kappadb-replicated-values-')
  const dir = join(root, 'honest')
  const kv = new HyperKV(dir)
  const evil = new Kappa<Buffer>(join(root, 'evil'), {
    valueEncoding: 'binary',
    key: kv.key,
  })
  let closed = false
  const close = async () => {
    if (closed) return
    closed = true
    await kv.close()
    await evil.close()
  }
  t.after(close)
  await kv.put('mine', 1)
  const writer = await evil.writer(HYPERLOG_NAME)
  const rejected: string[] = []
  kv.log.on('reject', (node) => rejected.push(String(node.key)))
  const errors: Error[] = []
  kv.on('error', (err) => errors.push(err))
  return { root, dir, kv, evil, writer, rejected, errors, close }
}

/** Everything a reader can ask the store: none of it may trip on what was refused. */
async function readAll(kv: HyperKV) {
  await kv.ready()
  const rows: { key: string }[] = []
  for await (const row of kv.createReadStream()) rows.push(row as { key: string })
  const nodes: unknown[] = []
  for await (const node of kv.log.createReadStream()) nodes.push(node)
  assert.equal(nodes.length, kv.log.changes, 'every visible node reads back')
  return { keys: rows.map((r) => r.key), changes: kv.log.changes }
}

test('a value nested 100,000 deep from a peer is refused like a failed verify: get, list, the log and `hyperkv list/get` never see it', async (t) => {
  const w = await world(t)
  const deep = doc('deep', nested(100_000))
  const good = doc('fine', '{"ok":true}')
  await w.writer.append([nodeEntry(deep), nodeEntry(good)])

  const [, honestEnd] = await pipe(w.evil.replicate(true), w.kv.log.replicate(false))
  assert.equal(code(honestEnd), 'ERR_PROTOCOL', 'the replication that brought it fails with a code')
  assert.equal(w.rejected.length, 1, "the node is refused ('reject')")
  await assert.rejects(w.kv.log.get(w.rejected[0]!), (err: unknown) => isKappaError(err, 'ERR_NOT_FOUND'))
  assert.deepEqual(await w.kv.get('deep'), {}, 'get answers as if it never came')
  assert.deepEqual(valuesOf(await w.kv.get('fine')), [{ ok: true }], 'the valid node after it is indexed')
  const seen = await readAll(w.kv)
  assert.deepEqual(seen.keys, ['fine', 'mine'])

  // The command, in child processes, on the same directory.
  await w.close()
  const list = await runCli(['-d', w.dir, 'list'])
  assert.equal(list.code, 0, list.stderr)
  assert.deepEqual(
    list.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { key: string }).key),
    ['fine', 'mine'],
  )
  const get = await runCli(['-d', w.dir, 'get', 'deep'])
  assert.deepEqual([get.code, JSON.parse(get.stdout)], [0, {}], get.stderr)

  const kv = new HyperKV(w.dir)
  t.after(() => kv.close())
  assert.deepEqual(await readAll(kv), seen, 'the same after a reopen')
  await kv.put('after', 2)
  assert.deepEqual(valuesOf(await kv.get('after')), [2])
})

test('MAX_VALUE_DEPTH is the same bound for local writes and replicated nodes', async (t) => {
  const w = await world(t)
  const limit = JSON.parse(nested(MAX_VALUE_DEPTH)) as unknown
  const over = JSON.parse(nested(MAX_VALUE_DEPTH + 1)) as unknown
  await assert.rejects(w.kv.log.add(null, over), (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  const local = await w.kv.log.add(null, limit)
  assert.equal(local.change, 2, 'a value exactly MAX_VALUE_DEPTH deep is written')
  // A kv document wraps the value in one object: the value itself may nest one level less.
  await assert.rejects(w.kv.put('over', limit), (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  await w.kv.put('at', JSON.parse(nested(MAX_VALUE_DEPTH - 1)))

  await w.writer.append([
    nodeEntry(doc('remote-at', nested(MAX_VALUE_DEPTH - 1))),
    nodeEntry(doc('remote-over', nested(MAX_VALUE_DEPTH))),
  ])
  const [, honestEnd] = await pipe(w.evil.replicate(true), w.kv.log.replicate(false))
  assert.equal(code(honestEnd), 'ERR_PROTOCOL')
  await w.kv.ready()
  assert.equal(valuesOf(await w.kv.get('remote-at')).length, 1, 'at the limit: accepted')
  assert.deepEqual(await w.kv.get('remote-over'), {}, 'one level over: refused')
  assert.equal(w.rejected.length, 1)
})

test('an entry over MAX_ENTRY_BYTES from a peer (a block crafted into its Hypercore) is refused, the entries after it are indexed', async (t) => {
  const w = await world(t)
  const big = nodeEntry(doc('big', JSON.stringify('x'.repeat(MAX_ENTRY_BYTES))))
  const after = nodeEntry(doc('after', '"fine"'))
  // feed.append refuses the big entry: the attacker writes the packed blocks into its core itself.
  await (await coreOf(w.writer)).append(encodeBlocks(0, [big, after]))
  await w.writer.update()
  assert.equal(w.writer.length, 2)

  const [, honestEnd] = await pipe(w.evil.replicate(true), w.kv.log.replicate(false))
  assert.equal(code(honestEnd), 'ERR_PROTOCOL', 'the replication that brought it fails with a code')
  assert.deepEqual(await w.kv.get('big'), {})
  assert.deepEqual(valuesOf(await w.kv.get('after')), ['fine'])
  assert.ok(
    w.errors.some((err) => isKappaError(err, 'ERR_PROTOCOL')),
    "the store reports the refused entry ('error', ERR_PROTOCOL)",
  )
  const copy = w.kv.log.kappa.feed(w.writer.key)!
  await assert.rejects(
    copy.get(0),
    (err: unknown) => isKappaError(err, 'ERR_PROTOCOL'),
    'reading it trips nobody',
  )
  assert.deepEqual((await readAll(w.kv)).keys, ['after', 'mine'])
})

interface CountApi {
  values(cb: (err: Error | null, values?: unknown[]) => void): void
}

test('a json Kappa: a peer’s entry nested too deep or too large is skipped by every view with one ERR_PROTOCOL', async (t) => {
  const root = await tempDir(t, 'kappadb-replicated-values-')
  const seen: unknown[] = []
  const view = {
    map(entries: { value: unknown }[], next: () => void) {
      for (const e of entries) seen.push(e.value)
      next()
    },
    api: {},
  } as unknown as View<unknown, CountApi>
  const honest = new Kappa(join(root, 'honest')).use('all', view)
  const evil = new Kappa<Buffer>(join(root, 'evil'), { valueEncoding: 'binary', key: honest.multifeed.key })
  t.after(async () => {
    await honest.close()
    await evil.close()
  })
  const errors: Error[] = []
  honest.on('error', (err) => errors.push(err))
  const writer = await evil.writer('evil')
  await writer.append([Buffer.from(nested(100_000)), Buffer.from('{"n":1}')])
  await (
    await coreOf(writer)
  ).append(encodeBlocks(2, [Buffer.from(JSON.stringify('y'.repeat(MAX_ENTRY_BYTES))), Buffer.from('2')]))
  await writer.update()
  const ends = await pipe(evil.replicate(true), honest.replicate(false))
  assert.deepEqual(ends.map(code), ['END', 'END'])
  await honest.ready('all')
  assert.deepEqual(seen, [{ n: 1 }, 2], 'the valid entries are mapped, the refused ones skipped')
  assert.deepEqual(
    errors.map((e) => code(e)),
    ['ERR_PROTOCOL', 'ERR_PROTOCOL'],
    "one 'error' per refused entry",
  )
  assert.equal(honest.getState('all').state, 'idle')
})
