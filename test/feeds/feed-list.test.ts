/**
 * The feed index's writes: records put while a write is in flight go together in the next batch,
 * records of one ordinal land in call order, and what a reopened index reads is the last of each.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import Corestore from 'corestore'
import { FeedList } from '../../src/feeds/feed-list.js'
import { emptyFeedState, type FeedRecord } from '../../src/feeds/messages.js'
import { tempDir } from '../helpers/temp.js'

function record(key: Buffer, blocks: number, open: boolean): FeedRecord {
  return {
    key,
    name: null,
    state: { ...emptyFeedState(), blocks, length: blocks, signedLength: blocks },
    open,
  }
}

test('records put at once are all stored, the last put of an ordinal winning', async (t) => {
  const dir = await tempDir(t, 'kappadb-feed-list-')
  const keys = Array.from({ length: 100 }, () => randomBytes(32))
  const store = new Corestore(dir)
  const list = new FeedList(store)
  await list.load()
  const ordinals = keys.map(() => list.reserve())
  // A first write in flight, the rest put while it is: each ordinal twice, "open" then not.
  const first = list.put(ordinals[0]!, record(keys[0]!, 1, true))
  const puts = keys.flatMap((key, i) => [
    list.put(ordinals[i]!, record(key, i + 1, true)),
    list.put(ordinals[i]!, record(key, i + 1, false)),
  ])
  await Promise.all([first, ...puts])
  // Put after those batches: lands after them.
  await list.put(ordinals[7]!, record(keys[7]!, 70, true))
  await list.close()
  await store.close()

  const again = new Corestore(dir)
  const reopened = new FeedList(again)
  const { feeds } = await reopened.load()
  assert.deepEqual(
    feeds.map((f) => [f.ordinal, f.key.toString('hex'), f.state.blocks, f.open]),
    keys.map((key, i) => [ordinals[i], key.toString('hex'), i === 7 ? 70 : i + 1, i === 7]),
  )
  await reopened.close()
  await again.close()
})
