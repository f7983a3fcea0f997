import test from 'node:test'
import assert from 'node:assert/strict'
import { withCallback, optsAndCallback } from '../../src/util/callback.js'
import { KappaError, asKappaError } from '../../src/errors.js'

test('withCallback: promise style resolves and rejects as given', async () => {
  assert.equal(await withCallback(Promise.resolve(7)), 7)
  await assert.rejects(withCallback(Promise.reject(KappaError.invalid('x'))), {
    code: 'ERR_INVALID_ARGUMENT',
  })
})

test('withCallback: callback style gets (null, result) or (err) and leaves no unhandled rejection', async () => {
  const ok = await new Promise<unknown[]>((resolve) => {
    void withCallback(Promise.resolve('v'), (...args: unknown[]) => resolve(args))
  })
  assert.deepEqual(ok, [null, 'v'])
  const failed = await new Promise<unknown[]>((resolve) => {
    // The returned promise is deliberately dropped: a callback user never awaits it.
    void withCallback(Promise.reject(KappaError.notFound('gone')), (...args: unknown[]) => resolve(args))
  })
  assert.equal(failed.length, 1)
  assert.equal((failed[0] as KappaError).code, 'ERR_NOT_FOUND')
  assert.equal((failed[0] as KappaError).notFound, true)
})

test('optsAndCallback: every trailing shape', () => {
  const cb = () => {}
  assert.deepEqual(optsAndCallback(cb, undefined), [undefined, cb])
  assert.deepEqual(optsAndCallback({ a: 1 }, cb), [{ a: 1 }, cb])
  assert.deepEqual(optsAndCallback({ a: 1 }, undefined), [{ a: 1 }, undefined])
  assert.deepEqual(optsAndCallback(undefined, undefined), [undefined, undefined])
})

test('asKappaError keeps codes and wraps foreign errors', () => {
  const k = KappaError.closed('feed')
  assert.equal(asKappaError(k, 'ERR_STORAGE'), k)
  const wrapped = asKappaError(new Error('disk'), 'ERR_STORAGE')
  assert.equal(wrapped.code, 'ERR_STORAGE')
  assert.ok(wrapped instanceof KappaError)
})
