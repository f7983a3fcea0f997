/**
 * `TypedReadable<R>`: a Node `Readable` in object mode whose rows are `R`, for the streams the
 * library hands out. Async iteration, `read()` and `toArray()` are typed; the events keep Node's
 * own declarations.
 */
import type { Readable } from 'node:stream'

export interface TypedReadable<R> extends Readable {
  [Symbol.asyncIterator](): AsyncIterableIterator<R>
  read(size?: number): R | null
  toArray(options?: { signal?: AbortSignal }): Promise<R[]>
}
