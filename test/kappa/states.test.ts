/**
 * multifeed-index's states.js and pause-resume.js, kappa-core 7's paused-ready
 * regression, and the error state of a failing view.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isKappaError } from '../../src/errors.js'
import type { Entry } from '../../src/kappa/index.js'
import { adder, openCore, recordStates } from '../helpers/kappa.js'
import { until } from '../helpers/until.js'

test('create a writer: the first state-update is idle', async (t) => {
  const core = await openCore<number>(t)
  const states = recordStates(core, 'sum')
  core.use('sum', adder())
  await core.writer('default')
  await core.ready()
  assert.equal(states[0]?.state, 'idle')
})

test('create a writer and write blocks: indexing (1, 0) then idle (1, 1)', async (t) => {
  const core = await openCore<number>(t)
  core.use('sum', adder())
  await core.ready()
  const states = recordStates(core, 'sum')
  const w = await core.writer('default')
  await w.append(1)
  await core.ready()
  assert.deepEqual(
    states.map((s) => [s.state, s.context.totalBlocks, s.context.indexedBlocks]),
    [
      ['indexing', 1, 0],
      ['idle', 1, 1],
    ],
  )
  assert.ok(states[0]!.context.indexStartTime > 0)
  assert.equal(states[1]!.context.prevIndexedBlocks, 0)
})

test('pausing when nothing is indexing', async (t) => {
  const core = await openCore<number>(t)
  core.use('sum', adder())
  await core.ready()
  const states = recordStates(core, 'sum')
  await core.pause()
  assert.equal(core.getState('sum').state, 'paused')
  core.resume()
  assert.equal(core.getState('sum').state, 'idle', 'resume is synchronous')
  assert.deepEqual(
    states.map((s) => s.state),
    ['paused', 'idle'],
  )
})

test('pausing while indexing: the batch in flight finishes, then paused', async (t) => {
  const core = await openCore<number>(t)
  const view = adder({ asyncMap: 20 })
  core.use('sum', view)
  await core.ready()
  const w = await core.writer('default')
  const states = recordStates(core, 'sum')
  await w.append(1)
  await until(() => core.getState('sum').state === 'indexing', 'indexing')
  await core.pause('sum')
  assert.deepEqual([core.getState('sum').state, core.getState('sum').context.indexedBlocks], ['paused', 1])
  await w.append(2)
  await core.ready('sum') // resolves at once while paused
  assert.equal(view.store.sum, 1)
  core.resume('sum')
  await core.ready('sum')
  assert.equal(view.store.sum, 3)
  assert.deepEqual(
    states.map((s) => [s.state, s.context.totalBlocks, s.context.indexedBlocks]),
    [
      ['indexing', 1, 0],
      ['paused', 1, 1],
      ['idle', 2, 1],
      ['indexing', 2, 1],
      ['idle', 2, 2],
    ],
  )
})

test('pause while ready: entries appended while paused are indexed after resume', async (t) => {
  const core = await openCore<number>(t)
  const view = adder({ maxBatch: 10 })
  core.use('sum', view)
  const w = await core.writer('default')
  await w.append(1)
  await core.ready()
  await core.pause()
  await w.append([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(() => 3))
  await core.ready()
  assert.equal(view.store.sum, 1, 'nothing indexed while paused')
  core.resume()
  await core.ready()
  assert.equal(view.store.sum, 31)
})

test('REGRESSION: views still work while indexing is paused (kappa-core 7)', async (t) => {
  const core = (await openCore<number>(t)).use('sum', adder())
  const w = await core.writer('default')
  await w.append(1)
  await core.ready()
  await core.pause()
  await w.append(5)
  const api = core.api.sum
  const value = await new Promise<number>((resolve, reject) =>
    api.ready((err) => (err ? reject(err) : resolve(api.get()))),
  )
  assert.equal(value, 1)
})

test('error state: a failing map stops that view only, without crashing', async (t) => {
  const core = await openCore<number>(t)
  const good = adder({ maxBatch: 10 })
  const unlucky = new Error('unlucky')
  core.use('good', good)
  core.use('bad', {
    map(entries: Entry<number>[], next: (err?: Error) => void) {
      if (entries.some((e) => e.value === 13)) return next(unlucky)
      next()
    },
  })
  const states = recordStates(core, 'bad')
  const w = await core.writer('default')
  await w.append([1, 13, 2])
  await assert.rejects(core.ready('bad'), (err) => isKappaError(err, 'ERR_VIEW_FAILED'))
  await assert.rejects(core.ready(), (err) => isKappaError(err, 'ERR_VIEW_FAILED'))
  const state = core.getState('bad')
  assert.equal(state.state, 'error')
  assert.equal(state.context.error, unlucky)
  assert.equal(states.at(-1)?.state, 'error')
  await w.append(4)
  await core.ready('good')
  assert.equal(good.store.sum, 20, 'the other view went on')
})

test("error state: 'error' is emitted on the core when someone listens; fetchState errors too", async (t) => {
  const core = await openCore<number>(t)
  const errors: [string | undefined, string | undefined][] = []
  const fire = new Error('disk on fire')
  core.on('error', (err, name) => errors.push([name, (err as { code?: string }).code]))
  core.use('thrower', {
    async map() {
      throw new Error('boom')
    },
  })
  core.use('nostate', {
    map: (_entries: Entry<number>[], next: () => void) => next(),
    fetchState: (cb) => cb(fire),
    storeState: (_s, cb) => cb(),
  })
  const w = await core.writer('default')
  await w.append(1)
  await until(() => errors.length === 2, 'two errors')
  assert.deepEqual(errors.sort(), [
    ['nostate', 'ERR_VIEW_FAILED'],
    ['thrower', 'ERR_VIEW_FAILED'],
  ])
  assert.equal(core.getState('nostate').context.error, fire)
})
