/**
 * Every seed the random tests found failing, kept by name, plus the minimal repro of each bug.
 * A `todo` test is a bug still open in a lower layer: it runs, its failure does not fail CI.
 */
import assert from 'node:assert/strict'
import test from 'node:test'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import { HyperKV } from '../../src/kv/index.js'
import { isKappaError } from '../../src/errors.js'
import {
  LARGE,
  SMALL,
  generateScenario,
  type Owned,
  type ScenarioSize,
} from '../helpers/reliability-scenario.js'
import { ScenarioRunner } from '../helpers/reliability-runner.js'
import { connect } from '../helpers/reliability-sync.js'
import { syncOwnedKv } from '../helpers/owned.js'

async function tempRoot(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'kappadb-regress-'))
  t.after(() => rm(root, { recursive: true, force: true }))
  return root
}

async function replay(t: TestContext, seed: number, size: ScenarioSize, owned: Owned = false): Promise<void> {
  await new ScenarioRunner(generateScenario(seed, size, { owned }), await tempRoot(t)).run()
}

/** The values of key `k`. */
async function values(kv: HyperKV): Promise<unknown[]> {
  return Object.values(await kv.get('k')).map((v) => (v as { value: unknown }).value)
}

async function openPair(t: TestContext): Promise<[HyperKV, HyperKV]> {
  const root = await tempRoot(t)
  const kvs = [new HyperKV(join(root, 'a')), new HyperKV(join(root, 'b'))] as [HyperKV, HyperKV]
  t.after(() => Promise.all(kvs.map((kv) => kv.close())))
  return kvs
}

// Found by EXTENSIVE seed 4284940182 (large): step 15 ran push ⇄ push over TCP.
test('seed 4284940182: push+push over TCP mid-scenario, then convergence', async (t) => {
  await replay(t, 4284940182, LARGE)
})

// The side that saw the conflict first failed before its own hello was out (sent after awaiting
// the store's open), so the peer saw an early close (ERR_PROTOCOL). Fixed in the feeds layer: our
// mode is sent before failing, and the end waits for protomux to flush it.
test('push+push over TCP fails BOTH sides with ERR_MODE_CONFLICT (seed 4284940182)', async (t) => {
  const [a, b] = await openPair(t)
  await a.put('k', 1)
  await b.put('k', 2)
  for (const modes of [
    ['push', 'push'],
    ['pull', 'pull'],
  ] as const) {
    const conn = await connect([a, b], {
      modes: [...modes],
      live: false,
      transport: 'tcp',
      cutAfter: null,
      cutSide: 0,
    })
    const codes = (await conn.closed).map((err) => (err as { code?: string } | null)?.code)
    assert.deepEqual(codes, ['ERR_MODE_CONFLICT', 'ERR_MODE_CONFLICT'], modes.join('+'))
  }
})

// Found by EXTENSIVE index 11 (SEED=2730686059, small size): after step 18 (sync 3 ⇄ 2 cut after
// ~25 kB over TCP), step 21 (sync 3(sync) ⇄ 2(push) over in-process pipes, timeout 5000) neither
// ended nor failed within 30 s, and closing the peers afterwards never settled. The cut left peer
// 2 with a prefix of a feed; its upgrade request made peer 3's Hypercore cork the muxer just when
// peer 3 sent `done` and ended the Noise stream, so the `done` was lost (feeds layer, fixed; the
// minimal repro is in test/feeds/replication-end.test.ts). Step 14 (cut inside the handshake) also
// waited for the 10 s handshake deadline on the uncut side.
test('seed 2730686059: a sync after a cut sync ends, and close settles', async (t) => {
  await replay(t, 2730686059, SMALL)
})

// Found by EXTENSIVE index 23 (SEED=743543852; fails at small size too): step 6 is a live
// pull ⇄ pull over TCP with no writes during it. The runner hangs a live conflict up at once
// (deliverLive returns for conflicts), before the Noise handshake and the hellos could cross, so
// neither side can know of the conflict: both report ERR_PROTOCOL (the connection closed early),
// which the runner's "a mode conflict is reported" rejects. Not a feeds bug: the runner now lets a
// conflicting live step end by itself (the conflict closes both streams) and demands
// ERR_MODE_CONFLICT on both sides.
test('seed 743543852: a live pull+pull over TCP reports the conflict on both sides', async (t) => {
  await replay(t, 743543852, SMALL)
})

// The same runner issue, found by EXTENSIVE runs of 120 scenarios (all live push ⇄ push over TCP,
// hung up before the hellos crossed; they fail at small size too).
for (const [seed, step] of [
  [1549878263, 20],
  [3466050965, 17],
  [3908858338, 1],
  [1058994301, 6],
] as const) {
  test(`seed ${seed}: step ${step}, a live push+push over TCP reports the conflict on both sides`, async (t) => {
    await replay(t, seed, SMALL)
  })
}

// Seed 4247457773 (EXTENSIVE small; also 2101388324, 1767003925, 1838299777, 1591929008,
// 3818942676): `get` mismatches after a CUT sync. Not a register bug — the register always equals
// a rebuild of the log a moment later; the check raced with blocks still landing:
// (1) fixed: `ready()` trusted the feed's `length`, which counts a downloaded block only once the
//     feeds layer has read its header (async), so it resolved while stored nodes were unindexed
//     (step 8; deterministic test: test/kv/ready-downloads.test.ts);
// (2) after a cut, Hypercore keeps verifying and storing blocks it received for a few ms AFTER both
//     replication streams reported close (measured +1..5 ms, step 19), so the runner's check read
//     the log, then `get` saw newer nodes. The runner now judges a replica only on a log that stood
//     still across the check (a real divergence persists on a still log).
test('seed 4247457773: a cut sync, then every check sees one state of the replica', async (t) => {
  await replay(t, 4247457773, SMALL)
})

// Seeds 3699223434 and 3735558436 (EXTENSIVE large; also 1591929008, 3818942676, 2318251528 small):
// an uncut non-live sync stalled — one side ERR_TIMEOUT "no replication progress", the other
// ERR_PROTOCOL "closed before replication completed". The receiver held a writer's log at a longer
// SIGNED length than the sender (5 vs 1) without its blocks: a cut sync, or any sync (push mode
// included: an active core takes Hypercore's upgrade), brought the newer signature, not the blocks.
// Hypercore proves a block only against the receiver's own signed length and requests only from a
// peer whose signed length is at least that (replicator `_canRequest`), so the blocks the sender
// offered could never come. Fixed in the feeds layer: offers carry the sender's signed length, and
// the receiver does not wait for a feed it holds at a longer signed length (a later sync with a
// peer as far along brings those blocks). The runner no longer expects such nodes from that pair.
test('seed 3699223434: the final sync ends although a receiver holds a log at a longer signed length', async (t) => {
  await replay(t, 3699223434, LARGE)
})

test('seed 3735558436: a pull ends although the puller holds a log at a longer signed length', async (t) => {
  await replay(t, 3735558436, LARGE)
})

// Found by the owned convergence scenarios with removals: step 15, the owner removes peer 2 at 0
// after its register indexed peer 2's puts. The owner's own `del "a"` links peer 2's node, which
// the removal excludes. The owner holds it, so its node resolves and shows; peer 1, learning the
// removal with the data, takes peer 2's feed only up to `upTo` and holds no entry of that node.
// The owner's anchor (src/hyperlog/anchors.ts) resolves the link there too: every replica shows
// the `del`. The minimal case follows.
test('owned seed 2739502010: a node linking an excluded one shows everywhere, through the owner’s anchor', async (t) => {
  await replay(t, 2739502010, SMALL, 'full')
})

test('owned: a removal below a node the owner linked: the owner’s anchor resolves it for a fresh member', async (t) => {
  const root = await tempRoot(t)
  const owner = new HyperKV(join(root, 'owner'), { membership: { owner: true } })
  t.after(() => owner.close())
  await owner.ready()
  const ownerKey = owner.members!.self
  const [b, c] = ['b', 'c'].map(
    (name) => new HyperKV(join(root, name), { key: owner.key, membership: { owner: ownerKey } }),
  )
  t.after(() => Promise.all([b!.close(), c!.close()]))
  await Promise.all([b!.ready(), c!.ready()])
  await owner.members!.add(b!.members!.self)
  await owner.members!.add(c!.members!.self)
  await syncOwnedKv(owner, b!)
  const excluded = await b!.put('k', 'from b')
  await b!.log.flush()
  await syncOwnedKv(owner, b!)
  // The owner overwrites B's value: its node links B's.
  const linking = await owner.put('k', 'from the owner')
  assert.deepEqual(linking.links, [excluded.key])
  await owner.members!.remove(b!.members!.self, { upTo: 0 })
  await owner.ready()
  assert.deepEqual(await values(owner), ['from the owner'], 'held here: the link resolves')
  await syncOwnedKv(owner, c!)
  assert.equal(c!.log.kappa.feed(b!.members!.self)?.length ?? 0, 0, 'C takes none of B’s feed')
  assert.deepEqual(await values(c!), ['from the owner'], 'the owner’s anchor resolves the link at C')
  await assert.rejects(c!.log.get(excluded.key), (err) => isKappaError(err, 'ERR_NOT_FOUND'))
  await assert.rejects(owner.log.get(excluded.key), (err) => isKappaError(err, 'ERR_NOT_FOUND'))
})

// Found by 8 owned convergence scenarios with adds (not among the default seeds): step 17, a live
// sync 1 ⇄ 3 during which peer 1 learns that peer 3 is a member; afterwards peer 1 held none of
// peer 3's feed (3 of 5 runs, on main before issue 15's changes too). Not the store's fault: the
// runner hung up once what counted when the sync began had arrived, before the records it brought
// were folded. A live delivery now waits for the sender's membership records, folded, and for
// what they make count.
test('owned seed 4163364701: a live sync that brings a writer’s add brings its feed', async (t) => {
  await replay(t, 4163364701, SMALL, 'adds')
})

// Found by the owned convergence scenarios: peer 1 is never added, yet after the full sync its
// own store showed its own puts (every other peer showed none of them): a local group now hides
// them as it commits. Then peer 3 (never added) did not show peer 2's `del "a"` (links none): its
// own identical `del "a"`, hidden, was the node's record; a node now shows through any copy that
// counts (test/kv/members.test.ts has both alone).
test('owned seed 1351791879: a never-added writer’s own store shows none of its own puts', async (t) => {
  await replay(t, 1351791879, SMALL, 'full')
})

// Found by the owned convergence scenarios with adds, after the merge of i14v: at step 10 peer 2,
// which no record it holds names yet, puts k/2 again; its register showed its earlier k/2 while
// its DAG showed neither. A group of local writes now hides what cannot count of the writer's own
// feed as it commits (the register, in-line, never sees those nodes).
test('owned seed 3340294592: a not-yet-named writer’s own puts: the register and the DAG agree', async (t) => {
  await replay(t, 3340294592, SMALL, 'adds')
})
