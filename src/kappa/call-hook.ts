/**
 * Calls a view's hook (`map`, `fetchState`, `storeState`, `clearIndex`) in the style it declares:
 * a hook whose arity counts the trailing callback is called callback style, any other is awaited.
 * Arity decides, never "whichever settles first": an `async` hook that also takes a callback
 * resolves before it calls back, and would otherwise be read as done too early.
 */
import { toError } from '../util/callback.js'

type Hook = (...args: never[]) => unknown

export function callHook<R>(hook: Hook, thisArg: unknown, args: unknown[]): Promise<R> {
  const callbackStyle = hook.length > args.length
  return new Promise<R>((resolve, reject) => {
    let settled = false
    const settle = (err: unknown, result?: unknown) => {
      if (settled) return
      settled = true
      if (err) reject(toError(err))
      else resolve(result as R)
    }
    try {
      const returned = callbackStyle
        ? Reflect.apply(hook, thisArg, [...args, (err?: unknown, result?: unknown) => settle(err, result)])
        : Reflect.apply(hook, thisArg, args)
      if (isThenable(returned)) {
        returned.then(
          (value) => {
            if (!callbackStyle) settle(null, value)
          },
          (err: unknown) => settle(err ?? new Error('view hook rejected')),
        )
      } else if (!callbackStyle) {
        settle(null, returned)
      }
    } catch (err) {
      settle(err ?? new Error('view hook threw'))
    }
  })
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
