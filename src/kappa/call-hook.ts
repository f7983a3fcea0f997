/**
 * Calls a view's hook (`map`, `fetchState`, `storeState`, `clearIndex`) in the style it declares:
 * a hook whose arity counts the trailing callback is called callback style, any other is awaited.
 * Arity decides, never "whichever settles first": an `async` hook that also takes a callback
 * resolves before it calls back, and would otherwise be read as done too early.
 */
import { toError } from '../util/errors.js'

type Hook = (...args: never[]) => unknown

export function callHook<R>(hook: Hook, thisArg: unknown, args: unknown[]): Promise<R> {
  const callbackStyle = hook.length > args.length
  // A promise settles once: a hook calling back twice, or calling back and rejecting, changes nothing.
  // No named closures here: this runs per hook per batch, and tsx names each one it creates.
  return new Promise<R>((resolve, reject) => {
    try {
      const returned = callbackStyle
        ? Reflect.apply(hook, thisArg, [
            ...args,
            (err?: unknown, result?: unknown) => (err ? reject(toError(err)) : resolve(result as R)),
          ])
        : Reflect.apply(hook, thisArg, args)
      if (isThenable(returned)) {
        returned.then(
          (value) => {
            if (!callbackStyle) resolve(value as R)
          },
          (err: unknown) => reject(toError(err ?? new Error('view hook rejected'))),
        )
      } else if (!callbackStyle) {
        resolve(returned as R)
      }
    } catch (err) {
      reject(toError(err ?? new Error('view hook threw')))
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
