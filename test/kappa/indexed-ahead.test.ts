/**
 * A view's `indexedAhead(feed)`: entries it indexed by itself (as Hyperlog does with its own writes)
 * are passed over — the position moves through `storeState`, nothing is read or mapped — and the
 * rest of the feed, and other feeds, are mapped as usual.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { decodePositions } from '../../src/kappa/messages.js'
import type { Entry, View } from '../../src/kappa/index.js'
import type { FeedKey } from '../../src/feeds/index.js'
import { openCore } from '../helpers/kappa.js'

test('entries below indexedAhead are not mapped; the position still covers them', async (t) => {
  const core = await openCore<number>(t)
  const own = await core.writer('own')
  const other = await core.writer('other')
  await own.append([1, 2, 3, 4, 5])
  await other.append([10, 20])

  const mapped: string[] = []
  const stored: Map<FeedKey, number>[] = []
  let ahead = 3
  const view: View<number> = {
    maxBatch: 2,
    map: async (entries: Entry<number>[]) => {
      for (const e of entries) mapped.push(`${e.key === own.id ? 'own' : 'other'}:${e.seq}`)
    },
    fetchState: async () => undefined,
    storeState: async (state: Uint8Array) => {
      stored.push(decodePositions(state).indexed)
    },
    indexedAhead: (feed: FeedKey) => (feed === own.id ? ahead : 0),
  }
  core.use('v', view)
  await core.ready('v')
  assert.deepEqual(mapped.sort(), ['other:0', 'other:1', 'own:3', 'own:4'])
  const last = stored.at(-1)!
  assert.equal(last.get(own.id), 5)
  assert.equal(last.get(other.id), 2)
  // The first step over `own` was the skip: straight to 3, past maxBatch, with no map before it.
  assert.equal(stored.find((p) => p.has(own.id))?.get(own.id), 3)

  // Later appends the view already indexed are skipped too; the ones it did not are mapped.
  ahead = 7
  await own.append([6, 7, 8])
  await core.ready('v')
  assert.deepEqual(mapped.filter((m) => m.startsWith('own')).sort(), ['own:3', 'own:4', 'own:7'])
  assert.equal(core.getState('v').context.indexedBlocks, 10)
})
