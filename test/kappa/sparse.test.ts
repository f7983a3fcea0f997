/**
 * Sparse feeds in views: a feed accepted `{ start }` is indexed from its start by a view that
 * declares `sparse: true`, and skipped by every other view. Real stores replicating over a pipe.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import type { Entry, Kappa, View } from '../../src/kappa/index.js'
import type { ReplicateOptions } from '../../src/feeds/types.js'
import { openCore } from '../helpers/kappa.js'
import { until } from '../helpers/until.js'

/** A view recording the seqs it indexed of each feed. */
function seqView(sparse: boolean): { seqs: Map<string, number[]>; view: View<string> } {
  const seqs = new Map<string, number[]>()
  const view: View<string> = {
    sparse,
    map(entries: Entry<string>[]) {
      for (const e of entries) {
        const list = seqs.get(e.key) ?? []
        list.push(e.seq)
        seqs.set(e.key, list)
      }
      return Promise.resolve()
    },
  }
  return { seqs, view }
}

async function syncWith(a: Kappa<string>, b: Kappa<string>, opts: ReplicateOptions): Promise<void> {
  const left = a.replicate(true)
  const right = b.replicate(false, opts)
  left.pipe(right).pipe(left)
  await Promise.all([finished(left), finished(right)])
}

test('a sparse view indexes exactly seqs 12…19 of a feed taken { start: 12 }; other views skip it', async (t) => {
  const a = await openCore<string>(t)
  const b = await openCore<string>(t)
  const sparse = seqView(true)
  const whole = seqView(false)
  b.use('sparse', sparse.view)
  b.use('whole', whole.view)
  const aw = await a.writer()
  for (let i = 0; i < 20; i++) await aw.append(`a-${i}`)
  const bw = await b.writer()
  await bw.append('b-0')
  await syncWith(a, b, { accept: (offer) => (offer.key === aw.id ? { start: 12 } : true) })
  await b.ready()
  assert.equal(b.feed(aw.id)?.start, 12)
  assert.deepEqual(
    sparse.seqs.get(aw.id),
    Array.from({ length: 8 }, (_, i) => i + 12),
  )
  assert.equal(whole.seqs.get(aw.id), undefined, 'a view without sparse skips the feed')
  assert.deepEqual(whole.seqs.get(bw.id), [0], 'and indexes the others')
  assert.deepEqual(sparse.seqs.get(bw.id), [0])

  // Live: an entry appended later reaches the sparse view only.
  const left = a.replicate(true, { live: true })
  const right = b.replicate(false, { live: true })
  left.pipe(right).pipe(left)
  await aw.append('a-20')
  await until(() => sparse.seqs.get(aw.id)?.length === 9, 'the sparse view indexed the live entry')
  await b.ready()
  assert.equal(sparse.seqs.get(aw.id)?.at(-1), 20)
  assert.equal(whole.seqs.get(aw.id), undefined)
  const closed = Promise.all([once(left, 'close'), once(right, 'close')])
  left.destroy()
  right.destroy()
  await closed

  // Reopened, a view that starts from scratch finds the feed's start where it was.
  await b.close()
  const again = await openCore<string>(t, { dir: b.dir })
  const fresh = seqView(true)
  again.use('sparse', fresh.view)
  await again.ready()
  assert.equal(again.feed(aw.id)?.start, 12)
  assert.deepEqual(
    fresh.seqs.get(aw.id),
    Array.from({ length: 9 }, (_, i) => i + 12),
  )
})
