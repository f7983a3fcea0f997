/**
 * Convergence of owned databases: three real stores write entries and membership records (adds,
 * removals, an admin's records) and sync pairs in a seeded random order; once everyone has
 * synced with everyone, every store has the same members and its view the same entries. Replay
 * one seed: SEED=<n>.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isKappaError } from '../../src/errors.js'
import type { Entry, Kappa } from '../../src/kappa/index.js'
import { openCore } from '../helpers/kappa.js'
import { syncOwned } from '../helpers/owned.js'
import { EXTENSIVE, Prng, seedFromEnv } from '../helpers/prng.js'

function entriesView() {
  const seen = new Set<string>()
  return {
    seen,
    view: {
      map(entries: Entry<string>[]) {
        for (const e of entries) seen.add(`${e.key}:${e.seq}:${e.value}`)
        return Promise.resolve()
      },
      clearIndex() {
        seen.clear()
        return Promise.resolve()
      },
    },
  }
}

/** Runs `op`, treating the refusals a removed writer or a non-admin meets as "nothing happened". */
async function tolerated(op: () => Promise<unknown>): Promise<void> {
  try {
    await op()
  } catch (err) {
    if (!isKappaError(err, 'ERR_NOT_WRITABLE') && !isKappaError(err, 'ERR_INVALID_ARGUMENT')) throw err
  }
}

/** Seeds whose runs remove writers at upTo 0, 1 and 5, and one without removals. */
const SEEDS = [1, 2, 9, 10, 12]

for (const seed of seedFromEnv() !== null
  ? [seedFromEnv()!]
  : EXTENSIVE
    ? Array.from({ length: 40 }, (_, i) => i + 1)
    : SEEDS) {
  test(`seed ${seed}: every store ends with the same members and the same view`, async (t) => {
    const rng = new Prng(seed)
    const owner = await openCore<string>(t, { membership: { owner: true } })
    const views = [entriesView()]
    owner.use('entries', views[0]!.view)
    await owner.ready()
    const stores: Kappa<string>[] = [owner]
    for (let i = 0; i < 2; i++) {
      const store = await openCore<string>(t, { membership: { owner: owner.members!.self } })
      const v = entriesView()
      store.use('entries', v.view)
      views.push(v)
      await store.ready()
      stores.push(store)
    }
    const keys = stores.map((s) => s.members!.self)
    await owner.members!.add(keys[1]!, { role: 'admin' })
    await owner.members!.add(keys[2]!)
    for (const s of stores.slice(1)) await syncOwned(owner, s)

    let n = 0
    for (let step = 0; step < 20; step++) {
      const who = rng.int(0, 2)
      const store = stores[who]!
      const op = rng.weighted({ append: 5, add: 1, remove: 2, sync: 4 })
      if (op === 'append') {
        const writer = await store.writer()
        await tolerated(() => writer.append([`v${n++}`, `v${n++}`].slice(0, rng.int(1, 2))))
      } else if (op === 'add') {
        await tolerated(() =>
          store.members!.add(rng.pick(keys.slice(1)), { role: rng.pick(['writer', 'admin'] as const) }),
        )
      } else if (op === 'remove') {
        const target = rng.pick(keys.slice(1))
        const held = store.feed(target)?.length ?? 0
        await tolerated(() => store.members!.remove(target, { upTo: rng.int(0, held) }))
      } else {
        const other = (who + rng.int(1, 2)) % 3
        await syncOwned(store, stores[other]!)
      }
    }
    // Everyone with everyone, twice round: every store then holds every record and entry.
    for (let round = 0; round < 2; round++) {
      await syncOwned(stores[0]!, stores[1]!)
      await syncOwned(stores[1]!, stores[2]!)
      await syncOwned(stores[2]!, stores[0]!)
    }
    const members = stores.map((s) => s.members!.list())
    const contents = views.map((v) => [...v.seen].sort())
    for (let i = 1; i < stores.length; i++) {
      assert.deepEqual(members[i], members[0], `seed ${seed}: store ${i}'s members differ`)
      assert.deepEqual(contents[i], contents[0], `seed ${seed}: store ${i}'s view differs`)
    }
    // Nothing past a removal point shows anywhere.
    for (const row of members[0]!) {
      if (row.status !== 'removed') continue
      for (const entry of contents[0]!) {
        const [key, seq] = entry.split(':')
        if (key === row.key)
          assert.ok(Number(seq) < row.upTo, `seed ${seed}: ${entry} is past upTo ${row.upTo}`)
      }
    }
  })
}
