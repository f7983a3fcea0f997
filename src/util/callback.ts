/**
 * The dual call style of every asynchronous method: it returns a Promise, and when its last
 * argument is a function that function is called Node-style `(err, result)` instead. A rejection
 * is then always handled, so a callback user never sees an unhandled rejection.
 */
import { toError } from './errors.js'

export type Callback<T> = (err: Error | null, result?: T) => void

/** Node-style callback with a result the caller may rely on when `err` is null. */
export type ResultCallback<T> = (err: Error | null, result: T) => void

/**
 * Settles `cb` (when given) from `promise`, on a fresh tick so an exception thrown by the callback
 * surfaces as an uncaught exception of the caller's code rather than a rejected promise of ours.
 * Returns the promise, with its rejection handled when a callback takes it.
 */
export function withCallback<T>(promise: Promise<T>, cb?: Callback<T> | ResultCallback<T>): Promise<T> {
  if (!cb) return promise
  promise.then(
    (result) => process.nextTick(cb as Callback<T>, null, result),
    (err: unknown) => process.nextTick(cb as Callback<T>, toError(err)),
  )
  // The caller chose the callback; the returned promise must never be an unhandled rejection.
  const handled = promise.then(
    (v) => v,
    () => undefined as T,
  )
  return handled
}

/**
 * Splits trailing optional arguments `(opts?, cb?)` as the originals accepted them:
 * `fn(cb)`, `fn(opts)`, `fn(opts, cb)`, `fn()`.
 */
export function optsAndCallback<O, C extends (...args: never[]) => void>(
  a: O | C | undefined,
  b: C | undefined,
): [O | undefined, C | undefined] {
  if (typeof a === 'function') return [undefined, a as C]
  return [a as O | undefined, b]
}
