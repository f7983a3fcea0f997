/**
 * `ready()` covers every node stored locally, including blocks Hypercore has just downloaded and
 * the feeds layer has not counted in the feed's `length` yet (it reads their headers
 * asynchronously). Before the fix `ready()` trusted `length` alone and resolved at once, so `get`
 * answered without a node the log already held (seen as the reliability seed 4247457773: a cut
 * sync's last blocks landed, the check rebuilt its model, then `get` saw the newer register).
 */
import test from 'node:test'
import assert from 'node:assert/strict'
import type { Duplex } from 'node:stream'
import type Hypercore from 'hypercore'
import type { Feed } from '../../src/feeds/types.js'
import { coreOf } from '../helpers/feeds.js'
import type { HyperKV } from '../../src/kv/index.js'
import { openKvs, replicate } from '../helpers/kv.js'

test('get right after a block lands (before the feed counts it) answers with its node', async (t) => {
  const [a, b] = (await openKvs(t, 2)) as [HyperKV, HyperKV]
  const first = await a.put('k', 'first')
  await replicate(a, b)
  assert.deepEqual(await b.get('k'), { [first.key]: { value: 'first' } })

  const second = await a.put('k', 'second')
  await a.log.flush()
  const source = a.log.kappa.feeds().find((feed) => feed.id === first.log) as Feed<unknown>
  const copy = b.log.kappa.feeds().find((feed) => feed.id === first.log) as Feed<unknown>
  assert.ok(source && copy)
  const sourceCore = await coreOf(source)
  const copyCore = await coreOf(copy)

  // Replicate the Hypercores themselves, and ask the moment the last block is stored.
  const answer = new Promise<unknown>((resolve, reject) => {
    const onDownload = (): void => {
      if (copyCore.contiguousLength < sourceCore.length) return
      copyCore.off('download', onDownload)
      b.get('k').then(resolve, reject)
    }
    copyCore.on('download', onDownload)
  })
  const left = replicator(sourceCore).replicate(true)
  const right = replicator(copyCore).replicate(false)
  left.pipe(right).pipe(left)
  copyCore.download({ start: 0, end: sourceCore.length })
  t.after(() => {
    left.destroy()
    right.destroy()
  })
  assert.deepEqual(await answer, { [second.key]: { value: 'second' } })
})

/** Hypercore's own replication stream (not declared in types/hypercore.d.ts: only this test uses it). */
function replicator(core: Hypercore): { replicate(isInitiator: boolean): Duplex } {
  return core as unknown as { replicate(isInitiator: boolean): Duplex }
}
