/**
 * The error helpers every layer shares (src/util/errors.ts): safetyCatch swallows what may fail
 * (storage, peers, input) and rethrows bugs; emitIfListened never emits an unheard 'error';
 * settled / markHandled leave a failure to the promise's own consumers.
 */
import type { AssertionError } from 'node:assert/strict'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import { test } from 'node:test'
import { KappaError } from '../../src/errors.js'
import {
  emitIfListened,
  isProgrammerError,
  markHandled,
  messageOf,
  safetyCatch,
  settled,
  toError,
} from '../../src/util/errors.js'

function assertionError(): AssertionError {
  try {
    assert.equal(1, 2)
  } catch (err) {
    return err as AssertionError
  }
  throw new Error('assert.equal(1, 2) did not throw')
}

const bugs: Array<[string, () => Error]> = [
  ['TypeError', () => new TypeError('x is not a function')],
  ['ReferenceError', () => new ReferenceError('y is not defined')],
  ['RangeError', () => new RangeError('Invalid array length')],
  ['SyntaxError', () => new SyntaxError('Unexpected token')],
  ['an assertion', assertionError],
]

const failures: Array<[string, () => unknown]> = [
  ['a KappaError', () => new KappaError('ERR_STORAGE', 'disk gone')],
  ['an Error', () => new Error('ENOENT')],
  ['a coded system error', () => Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' })],
  ['a string', () => 'nope'],
  ['undefined', () => undefined],
]

for (const [name, make] of bugs) {
  test(`safetyCatch rethrows ${name}; the chain it ends rejects with it`, async () => {
    const err = make()
    assert.ok(isProgrammerError(err))
    assert.throws(
      () => safetyCatch(err),
      (thrown: unknown) => thrown === err,
    )
    await assert.rejects(Promise.reject(err).catch(safetyCatch), (thrown: unknown) => thrown === err)
  })
}

for (const [name, make] of failures) {
  test(`safetyCatch swallows ${name}`, async () => {
    const err = make()
    assert.equal(isProgrammerError(err), false)
    assert.doesNotThrow(() => safetyCatch(err))
    assert.equal(await Promise.reject(err).catch(safetyCatch), undefined)
  })
}

test('emitIfListened emits only when someone listens, and says whether it did', () => {
  const emitter = new EventEmitter<{ error: [err: Error, name?: string] }>()
  const err = new Error('boom')
  // Unheard: no throw (EventEmitter's own emit('error') would throw here).
  assert.equal(emitIfListened(emitter, 'error', err), false)
  const heard: unknown[][] = []
  emitter.on('error', (...args) => heard.push(args))
  assert.equal(emitIfListened(emitter, 'error', err, 'view'), true)
  assert.deepEqual(heard, [[err, 'view']])
})

test('toError and messageOf accept any thrown value', () => {
  const err = new Error('as is')
  assert.equal(toError(err), err)
  assert.ok(toError('text') instanceof Error)
  assert.equal(toError('text').message, 'text')
  assert.equal(toError(42).message, '42')
  assert.equal(messageOf(err), 'as is')
  assert.equal(messageOf(undefined), 'undefined')
})

test('settled resolves either way; markHandled leaves the failure to the promise itself', async () => {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => void unhandled.push(reason)
  process.on('unhandledRejection', onUnhandled)
  try {
    assert.equal(await settled(Promise.resolve(1)), undefined)
    assert.equal(await settled(Promise.reject(new TypeError('reported elsewhere'))), undefined)
    const failing = Promise.reject(new Error('later'))
    markHandled(failing)
    await new Promise(setImmediate)
    assert.deepEqual(unhandled, [])
    await assert.rejects(failing, { message: 'later' })
  } finally {
    process.off('unhandledRejection', onUnhandled)
  }
})
