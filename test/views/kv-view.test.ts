/**
 * kvView against kappa-view-kv's tests (`id kv`, `id ca`) and
 * unordered-materialized-kv's (linear, forked, unordered, merges, multi-key, self-links,
 * the big random graph) — with entries of real feeds, several writers, replication in different
 * orders, and watches.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { once } from 'node:events'
import { test } from 'node:test'
import { MemoryLevel } from 'memory-level'
import { isKappaError } from '../../src/errors.js'
import {
  entryId,
  kvView,
  parseEntryId,
  type Entry,
  type Feed,
  type Kappa,
  type KvViewApi,
  type KvViewChange,
} from '../../src/index.js'
import { openCore, sync } from '../helpers/kappa.js'
import { Prng } from '../helpers/prng.js'

interface IdDoc {
  id?: string
  n?: number
  links?: string[]
}

/** kappa-view-kv's `id kv` view: docs by `id`, superseding the versions they link. */
function idKv(t: Parameters<typeof openCore>[0]) {
  return openCore<IdDoc>(t).then((core) =>
    core.use(
      'kv',
      kvView(
        new MemoryLevel(),
        (msg: Entry<IdDoc>, next: (err: null, ops?: { key: string; links: string[] }[]) => void) => {
          if (!msg.value.id) return next(null)
          next(null, [{ key: msg.value.id, links: msg.value.links ?? [] }])
        },
      ),
    ),
  )
}

test("kappa-view-kv 'id kv': get gives the two docs linking the first; the read stream one row per value; onUpdateKey per doc", async (t) => {
  const core = await idKv(t)
  const updates: Array<[number, IdDoc]> = []
  core.api.kv.onUpdateKey('foo', (msg) => updates.push([msg.seq, msg.value]))
  const feed = await core.writer('local')
  const v0 = entryId({ key: feed.id, seq: 0 })
  const docs = [{ id: 'foo' }, { id: 'foo', n: 3, links: [v0] }, { id: 'foo', n: 12, links: [v0] }]
  for (const doc of docs) await feed.append(doc)
  const values = await core.api.kv.get('foo')
  assert.deepEqual(
    values.map((v) => v.value),
    [docs[1], docs[2]],
  )
  const viaCallback = await new Promise<Entry<IdDoc>[]>((resolve, reject) =>
    core.api.kv.get('foo', (err, v) => (err ? reject(err) : resolve(v!))),
  )
  assert.deepEqual(viaCallback, values)
  const rows = await core.api.kv.createReadStream().toArray()
  assert.deepEqual(
    rows.map((r) => ({ key: r.key, value: r.value.value })),
    [
      { key: 'foo', value: docs[1] },
      { key: 'foo', value: docs[2] },
    ],
  )
  assert.deepEqual(updates, docs.map((doc, seq) => [seq, doc]) as Array<[number, IdDoc]>)
  assert.deepEqual(await core.api.kv.get('nothing here'), [])
})

test("kappa-view-kv 'id ca': a content-addressed view (sha256 of the value's JSON)", async (t) => {
  const core = await openCore<IdDoc>(t)
  const sha = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('hex')
  const ca = core.use(
    'ca',
    kvView(new MemoryLevel(), (msg: Entry<IdDoc>) => ({ key: sha(msg.value), links: [] })),
  ).api.ca
  const seen: Array<[number, string]> = []
  ca.onUpdateKey('8e09a0313464c6b5d57c0e0948d316c94b66f6e02873798d68d5411c84f0303d', (msg) =>
    seen.push([msg.seq, sha(msg.value)]),
  )
  const feed = await core.writer('local')
  await feed.append([
    { id: 'foo', y: -1 },
    { id: 'bax', n: 1 },
    { id: 'bur', x: 213 },
  ] as IdDoc[])
  const values = await ca.get('6bb253dcd04354f71fac02a1a0b0ab68b94e24e3fdb3ed145ff16aa4eec8f98a')
  assert.deepEqual(
    values.map((v) => v.value),
    [{ id: 'bax', n: 1 }],
  )
  assert.deepEqual(seen, [[0, '8e09a0313464c6b5d57c0e0948d316c94b66f6e02873798d68d5411c84f0303d']])
})

/** unordered-materialized-kv's documents: `name` is the doc's id in the original tests. */
interface UDoc {
  key: string
  name: string
  links: string[]
}

/**
 * A kvView over docs that link each other by name: names resolve to the entry ids of one feed,
 * fixed in advance by the order the docs will be appended (so a doc may link one appended later).
 */
async function umkvCore(t: Parameters<typeof openCore>[0], order: string[], maxBatch = 100) {
  const core = await openCore<UDoc>(t)
  const feed = await core.writer('default')
  const ids = new Map(order.map((name, seq) => [name, entryId({ key: feed.id, seq })]))
  const named = core.use(
    'kv',
    kvView(
      new MemoryLevel(),
      (entry: Entry<UDoc>) => ({
        key: entry.value.key,
        links: entry.value.links.map((l) => ids.get(l) ?? l),
      }),
      { maxBatch },
    ),
  )
  const heads = async (key: string) => (await named.api.kv.get(key)).map((e) => e.value.name).sort()
  return { core: named, feed, heads }
}

const doc = (name: string, links: string[] = [], key = 'hey'): UDoc => ({ key, name, links })

test('umkv: single-key linear in-order batch a←b←c←d → [d]', async (t) => {
  const { feed, heads } = await umkvCore(t, ['a', 'b', 'c', 'd'])
  await feed.append([doc('a'), doc('b', ['a']), doc('c', ['b']), doc('d', ['c'])])
  assert.deepEqual(await heads('hey'), ['d'])
})

test('umkv: single-key forked, in order — individual inserts and one batch → [c, d]', async (t) => {
  const docs = [doc('a'), doc('b', ['a']), doc('c', ['b']), doc('d', ['b'])]
  const single = await umkvCore(t, ['a', 'b', 'c', 'd'], 1)
  for (const d of docs) await single.feed.append(d)
  assert.deepEqual(await single.heads('hey'), ['c', 'd'])
  const batch = await umkvCore(t, ['a', 'b', 'c', 'd'])
  await batch.feed.append(docs)
  assert.deepEqual(await batch.heads('hey'), ['c', 'd'])
})

test('umkv: single-key forked, unordered batch (c, d, a, b) → [c, d]; and with a merge e→[c, d] first → [e]', async (t) => {
  const unordered = await umkvCore(t, ['c', 'd', 'a', 'b'])
  await unordered.feed.append([doc('c', ['b']), doc('d', ['b']), doc('a'), doc('b', ['a'])])
  assert.deepEqual(await unordered.heads('hey'), ['c', 'd'])
  const merged = await umkvCore(t, ['e', 'c', 'd', 'a', 'b'])
  await merged.feed.append([
    doc('e', ['c', 'd']),
    doc('c', ['b']),
    doc('d', ['b']),
    doc('a'),
    doc('b', ['a']),
  ])
  assert.deepEqual(await merged.heads('hey'), ['e'])
})

test('umkv: multi-key forked unordered merge, one batch and one doc per batch; a self-link is never a head', async (t) => {
  const order = ['e', 'c', 'd', 'a', 'b', 'z', 'q', 'y', 'x']
  const docs = [
    doc('e', ['c', 'd'], 'cool'),
    doc('c', ['b'], 'cool'),
    doc('d', ['b'], 'cool'),
    doc('a', [], 'cool'),
    doc('b', ['a'], 'cool'),
    doc('z', ['x']),
    doc('q', ['y', 'z']),
    doc('y', ['x']),
    doc('x', ['x']),
  ]
  for (const maxBatch of [100, 1]) {
    const { feed, heads } = await umkvCore(t, order, maxBatch)
    if (maxBatch === 1) for (const d of docs) await feed.append(d)
    else await feed.append(docs)
    assert.deepEqual(await heads('cool'), ['e'], `cool, maxBatch ${maxBatch}`)
    assert.deepEqual(await heads('hey'), ['q'], `hey, maxBatch ${maxBatch}`)
  }
})

test('links are per key: an entry of key A linking an entry of key B leaves B alone, in any order', async (t) => {
  for (const order of [
    ['b1', 'a1'],
    ['a1', 'b1'],
  ]) {
    const { feed, heads } = await umkvCore(t, order, 1)
    const docs = { b1: doc('b1', [], 'B'), a1: doc('a1', ['b1'], 'A') }
    for (const name of order) await feed.append(docs[name as 'a1' | 'b1'])
    assert.deepEqual(await heads('B'), ['b1'], `B after ${order.join(', ')}`)
    assert.deepEqual(await heads('A'), ['a1'])
  }
})

test('bad operations fail the view; bad arguments are ERR_INVALID_ARGUMENT', async (t) => {
  const core = await openCore<unknown>(t)
  core.on('error', () => {})
  core.use(
    'bad',
    kvView(new MemoryLevel(), () => ({ key: 7 }) as never),
  )
  await (await core.writer('default')).append(1)
  await assert.rejects(core.ready('bad'), (err: unknown) => isKappaError(err, 'ERR_VIEW_FAILED'))
  const ok = core.use(
    'ok',
    kvView(new MemoryLevel(), () => ({ key: 'k', links: ['x'] })),
  ).api.ok
  await assert.rejects(ok.get(5 as never), (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'))
  assert.throws(
    () => ok.createReadStream({ gt: 1 as never }),
    (err: unknown) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  assert.equal(parseEntryId('not an id'), null)
  assert.deepEqual(parseEntryId(`${'ab'.repeat(32)}@12`), { key: 'ab'.repeat(32), seq: 12 })
})

/** One writer's step in the random graph: a doc of `key` linking some of the heads it knows. */
interface Step {
  peer: number
  key: string
  linkCount: number
}

/** The heads a model gives: every entry of a key no entry of the same key links to. */
function modelHeads(entries: Array<{ id: string; key: string; links: string[] }>): Map<string, string[]> {
  const linked = new Set(entries.flatMap((e) => e.links.map((l) => `${e.key}\0${l}`)))
  const heads = new Map<string, string[]>()
  for (const e of entries) {
    if (linked.has(`${e.key}\0${e.id}`)) continue
    heads.set(e.key, [...(heads.get(e.key) ?? []), e.id].sort())
  }
  return heads
}

function byFeedThenSeq(a: string, b: string): number {
  const [fa, sa] = a.split('@') as [string, string]
  const [fb, sb] = b.split('@') as [string, string]
  return fa !== fb ? (fa < fb ? -1 : 1) : Number(sa) - Number(sb)
}

type KvCore = Kappa<UDoc, { kv: KvViewApi<UDoc> }>

async function allHeads(core: KvCore, keys: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const key of keys) {
    const heads = (await core.api.kv.get(key)).map((e) => entryId(e)).sort()
    if (heads.length > 0) out.set(key, heads)
  }
  return out
}

test('big random graph: three writers linking the heads they see, syncing in random orders — every replica ends with the heads of the model', async (t) => {
  const seed = Number(process.env.SEED ?? 4242)
  const prng = new Prng(seed)
  const keys = Array.from({ length: 8 }, (_, i) => String.fromCharCode(97 + i))
  const peers: KvCore[] = []
  const feeds: Feed<UDoc>[] = []
  for (let i = 0; i < 3; i++) {
    const core = (await openCore<UDoc>(t)).use(
      'kv',
      kvView(new MemoryLevel(), (e: Entry<UDoc>) => ({ key: e.value.key, links: e.value.links }), {
        maxBatch: prng.int(1, 7),
      }),
    )
    peers.push(core)
    feeds.push(await core.writer('default'))
  }
  const written: Array<{ id: string; key: string; links: string[] }> = []
  for (let round = 0; round < 6; round++) {
    for (let n = 0; n < 15; n++) {
      const step: Step = {
        peer: prng.int(0, 2),
        key: keys[prng.int(0, keys.length - 1)]!,
        linkCount: prng.int(0, 2),
      }
      const core = peers[step.peer]!
      await core.ready()
      const known = (await core.api.kv.get(step.key)).map((e) => entryId(e))
      const links = known.slice(0, step.linkCount)
      // Now and then a link to an entry this writer has not seen yet: its own next entry.
      const feed = feeds[step.peer]!
      if (prng.next() < 0.1) links.push(entryId({ key: feed.id, seq: feed.length + 1 }))
      const seq = await feed.append({ key: step.key, name: `${step.peer}.${round}.${n}`, links })
      written.push({ id: entryId({ key: feed.id, seq }), key: step.key, links })
    }
    const a = prng.int(0, 2)
    const b = (a + prng.int(1, 2)) % 3
    await sync(peers[a]!, peers[b]!)
  }
  // Everything everywhere, in two different orders of syncs.
  await sync(peers[0]!, peers[1]!)
  await sync(peers[1]!, peers[2]!)
  await sync(peers[2]!, peers[0]!)
  await Promise.all(peers.map((p) => p.ready()))
  const expected = modelHeads(written)
  for (const [i, peer] of peers.entries()) {
    assert.deepEqual(await allHeads(peer, keys), expected, `peer ${i} (seed ${seed})`)
  }
  const rows = await peers[0]!.api.kv.createReadStream().toArray()
  assert.deepEqual(
    rows.map((r) => [r.key, entryId(r.value)]),
    [...expected]
      .sort(([x], [y]) => (x < y ? -1 : 1))
      .flatMap(([key, ids]) => [...ids].sort(byFeedThenSeq).map((id) => [key, id])),
  )
})

test("watch: 'change' after each committed batch with the keys whose heads changed and their heads; none when no heads change", async (t) => {
  const { core, feed } = await umkvCore(t, ['a', 'b', 'c', 'z', 'b2'], 2)
  const heard: Array<Array<[string, string[]]>> = []
  const ranged: Array<Array<[string, string[]]>> = []
  const names = (changes: KvViewChange<UDoc>[]) =>
    changes.map((c) => [c.key, c.heads.map((h) => h.value.name)] as [string, string[]])
  let readAtEvent: Promise<string[]> | null = null
  const watch = core.api.kv.watch()
  watch.on('change', (changes) => {
    heard.push(names(changes))
    readAtEvent ??= core.api.kv.get('hey').then((heads) => heads.map((h) => h.value.name))
  })
  core.api.kv.watch({ gte: 'k', lt: 'zz' }).on('change', (changes) => ranged.push(names(changes)))
  const first = once(watch, 'change')
  await feed.append([doc('a'), doc('b', ['a'], 'other')])
  await first
  assert.deepEqual(await readAtEvent, ['a'], 'the event comes after its batch is committed')
  await feed.append([doc('c', ['a'])])
  await core.ready()
  // A self-link: never a head, and no key's heads change.
  await feed.append([doc('z', ['z'])])
  await core.ready()
  await feed.append([doc('b2', [], 'never')])
  await core.ready()
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(heard, [
    [
      ['hey', ['a']],
      ['other', ['b']],
    ],
    [['hey', ['c']]],
    [['never', ['b2']]],
  ])
  assert.deepEqual(ranged, [[['other', ['b']]], [['never', ['b2']]]])
  watch.close()
  await feed.append(doc('d', ['c']))
  await core.ready()
  await new Promise((resolve) => setImmediate(resolve))
  assert.equal(heard.length, 3)
})
