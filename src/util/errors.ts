/**
 * How kappadb handles an error it does not return to a caller:
 *
 * - `toError` makes any thrown value an Error;
 * - `emitIfListened` reports one on an emitter only when someone listens (an `'error'` event
 *   nobody listens to would crash the process, and a peer or a background task must never crash it);
 * - `safetyCatch` ends a promise chain whose failure does not matter (a cleanup, a best-effort
 *   flush) — except for a programmer error, which it rethrows so the bug surfaces;
 * - `settled` / `markHandled` are for a promise whose failure does matter and reaches its own
 *   consumers (a store's opening, reported by every operation that waits for it): waiting for it,
 *   or keeping Node from calling it unhandled meanwhile, must not report it a second time.
 */
import type { EventEmitter } from 'node:events'

export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

/** The message of a thrown value, whatever it is. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** Emits `event` when it has a listener; returns whether it did. */
export function emitIfListened<T extends Record<keyof T, unknown[]>, K extends keyof T & string>(
  emitter: EventEmitter<T>,
  event: K,
  ...args: T[K]
): boolean {
  const untyped = emitter as unknown as EventEmitter
  if (untyped.listenerCount(event) === 0) return false
  return untyped.emit(event, ...args)
}

/** The error names of bugs in code (ours or an app's hook), never of storage, peers or input. */
const PROGRAMMER_ERRORS = new Set([
  'TypeError',
  'ReferenceError',
  'RangeError',
  'SyntaxError',
  'EvalError',
  'URIError',
])

/** A bug in code rather than a failure of storage, a peer or input: a TypeError, an assertion… */
export function isProgrammerError(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if ((err as { code?: unknown }).code === 'ERR_ASSERTION') return true
  return PROGRAMMER_ERRORS.has(err.name)
}

/**
 * `promise.catch(safetyCatch)`: the failure is ignored — unless it is a programmer error, which is
 * rethrown (the derived promise rejects, unhandled, and the bug is seen instead of swallowed).
 */
export function safetyCatch(err: unknown): void {
  if (isProgrammerError(err)) throw err
}

/**
 * Resolves once `promise` settles, either way (at once for none); its failure is left to its own
 * consumers.
 */
export async function settled(promise: Promise<unknown> | null | undefined): Promise<void> {
  if (promise) await promise.then(noop, noop)
}

/** `promise`'s failure reaches its consumers later; until then it is not an unhandled rejection. */
export function markHandled(promise: Promise<unknown>): void {
  promise.catch(noop)
}

function noop(): void {}
