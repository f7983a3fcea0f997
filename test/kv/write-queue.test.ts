import test from 'node:test'
import assert from 'node:assert/strict'
import { WriteQueue } from '../../src/kv/write-queue.js'

test('concurrent writes share one commit; later ones wait for it and share the next', async () => {
  const commits: number[][] = []
  let release: () => void = () => {}
  const queue = new WriteQueue<number, string>(async (rows) => {
    commits.push(rows)
    if (commits.length === 1) await new Promise<void>((resolve) => (release = resolve))
    return rows.map((r) => `r${r}`)
  })
  const first = [1, 2, 3].map((n) => queue.write(n))
  await new Promise((resolve) => setImmediate(resolve))
  const second = [4, 5].map((n) => queue.write(n))
  assert.deepEqual(commits, [[1, 2, 3]], 'the second group waits for the first commit')
  release()
  assert.deepEqual(await Promise.all([...first, ...second]), ['r1', 'r2', 'r3', 'r4', 'r5'])
  assert.deepEqual(commits, [
    [1, 2, 3],
    [4, 5],
  ])
})

test('a batch is committed alone and in queue order; a failure rejects only its group', async () => {
  const commits: number[][] = []
  const unlucky = new Error('unlucky')
  const queue = new WriteQueue<number, number>(async (rows) => {
    commits.push(rows)
    if (rows.includes(13)) throw unlucky
    return rows.map((r) => r * 10)
  })
  const a = queue.write(1)
  const b = queue.batch([2, 3])
  const c = queue.write(4)
  const d = queue.batch([13])
  const e = queue.write(5)
  assert.equal(await a, 10)
  assert.deepEqual(await b, [20, 30])
  assert.equal(await c, 40)
  await assert.rejects(d, (err) => err === unlucky)
  assert.equal(await e, 50)
  assert.deepEqual(commits, [[1], [2, 3], [4], [13], [5]])
  await queue.idle()
})
