/**
 * The Kappa surface (as kappa-core 6 has it): both call styles, api binding, view
 * selection, a preconfigured Multifeed, the clearState alias, close.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isKappaError } from '../../src/errors.js'
import { Multifeed } from '../../src/feeds/index.js'
import type { Kappa } from '../../src/kappa/index.js'
import { kappa, type Entry, type ViewHandle } from '../../src/kappa/index.js'
import { adder, openCore, tempDir } from '../helpers/kappa.js'

test('simple view (kappa-core 6 basic.js): callback style throughout', async (t) => {
  const bare = await openCore<number>(t)
  let sum = 0
  // The seed README installs the view and then reads core.api.sum: the returned core is the same
  // object, typed with the new view.
  const core = bare.use('sum', {
    map(entries: Entry<number>[], next: () => void) {
      for (const e of entries) sum += e.value
      next()
    },
    api: {
      get(this: ViewHandle, _core: Kappa<number>, cb: (err: Error | null, value: number) => void) {
        this.ready(() => cb(null, sum))
      },
    },
  })
  const value = await new Promise<number>((resolve, reject) => {
    core.writer('default', (err, writer) => {
      if (err || !writer) return reject(err)
      writer.append(1, (err) => {
        if (err) return reject(err)
        core.api.sum.get((err, v) => (err ? reject(err) : resolve(v)))
      })
    })
  })
  assert.equal(value, 1)
})

test('api functions: this is the view handle, the core comes first, other members copied', async (t) => {
  const core = await openCore<number>(t)
  const emitter = { marker: true }
  let seen: { self?: unknown; core?: unknown; args?: unknown[] } = {}
  const api = core.use('v', 3, {
    map: () => undefined,
    api: {
      probe(this: ViewHandle, c: unknown, ...args: unknown[]) {
        seen = { self: this.name, core: c, args }
        return 'ok'
      },
      events: emitter,
    },
  }).api.v
  assert.equal(api.probe(1, 2), 'ok')
  assert.deepEqual(seen, { self: 'v', core, args: [1, 2] })
  assert.equal(api.events, emitter)
  await api.ready()
})

test('ready/pause select views by name or list; unknown names are ERR_NOT_FOUND', async (t) => {
  const core = await openCore<number>(t)
  const [a, b] = [adder({ maxBatch: 10 }), adder({ maxBatch: 10 })]
  core.use('a', a).use('b', b)
  await (await core.writer()).append([1, 2])
  await core.ready(['a', 'b'])
  await core.ready([])
  assert.deepEqual([a.store.sum, b.store.sum], [3, 3])
  await assert.rejects(core.ready('nope'), (err) => isKappaError(err, 'ERR_NOT_FOUND'))
  await assert.rejects(core.pause(['a', 'nope']), (err) => isKappaError(err, 'ERR_NOT_FOUND'))
  const err = await new Promise<Error | null>((resolve) => core.ready('nope', resolve))
  assert.ok(isKappaError(err, 'ERR_NOT_FOUND'))
  assert.throws(
    () => core.getState('nope'),
    (e) => isKappaError(e, 'ERR_NOT_FOUND'),
  )
  await new Promise<void>((resolve) => core.pause('a', () => resolve()))
  assert.deepEqual([core.getState('a').state, core.getState('b').state], ['paused', 'idle'])
  core.resume(['a'])
  assert.equal(core.getState('a').state, 'idle')
})

test('opts.multifeed: a preconfigured Multifeed, left open by close()', async (t) => {
  const dir = await tempDir(t)
  const multifeed = new Multifeed<number>(dir, { valueEncoding: 'json' })
  t.after(() => multifeed.close())
  await (await multifeed.writer('w')).append([5, 6])
  const core = kappa<number>(null, { multifeed })
  const view = adder({ maxBatch: 10 })
  core.use('sum', view)
  await core.ready()
  assert.equal(view.store.sum, 11)
  assert.equal(core.feeds().length, 1)
  assert.equal(core.feed(core.feeds()[0]!.key), core.feeds()[0])
  await core.close()
  assert.equal(multifeed.closed, false)
  assert.throws(
    () => kappa(null),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
  )
  // Options of a Multifeed beside a given one would be ignored: refused instead, as unknown ones are.
  for (const opts of [
    { multifeed, valueEncoding: 'json' },
    { multifeed, maxFeedz: 1 },
  ]) {
    assert.throws(
      () => kappa(null, opts as never),
      (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT'),
    )
  }
  assert.throws(
    () => kappa(dir + '-other', { maxFeedz: 1 } as never),
    (err) => isKappaError(err, 'ERR_INVALID_ARGUMENT') && /maxFeedz/.test(err.message),
  )
})

test('clearState is accepted as an alias of clearIndex', async (t) => {
  const core = await openCore<number>(t)
  let cleared = 0
  core.use('v', {
    map: () => undefined,
    fetchState: async () => undefined,
    storeState: async () => undefined,
    clearState: async () => {
      cleared++
    },
  })
  await core.ready()
  assert.equal(cleared, 1)
})

test('close is idempotent; later calls reject with ERR_CLOSED', async (t) => {
  const core = await openCore<number>(t)
  core.use('sum', adder())
  await core.ready()
  await Promise.all([core.close(), core.close()])
  await new Promise<void>((resolve, reject) => core.close((err) => (err ? reject(err) : resolve())))
  await assert.rejects(core.ready(), (err) => isKappaError(err, 'ERR_CLOSED'))
  await assert.rejects(core.pause(), (err) => isKappaError(err, 'ERR_CLOSED'))
  await assert.rejects(core.writer('x'), (err) => isKappaError(err, 'ERR_CLOSED'))
  assert.throws(
    () => core.use('late', { map: () => undefined }),
    (err) => isKappaError(err, 'ERR_CLOSED'),
  )
})
