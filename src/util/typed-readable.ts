/**
 * `TypedReadable<R>`: a Node `Readable` in object mode whose rows are `R`, for the streams the
 * library hands out. Async iteration, `read()` and `toArray()` are typed; the events keep Node's
 * own declarations.
 */
import { Readable } from 'node:stream'

export interface TypedReadable<R> extends Readable {
  [Symbol.asyncIterator](): AsyncIterableIterator<R>
  read(size?: number): R | null
  toArray(options?: { signal?: AbortSignal }): Promise<R[]>
}

/**
 * A base for the library's own object-mode Readables: the same stream, its reads typed by `R`
 * (the overrides only narrow the types of Node's methods).
 */
export class RowReadable<R> extends Readable implements TypedReadable<R> {
  override [Symbol.asyncIterator](): AsyncIterableIterator<R> {
    return super[Symbol.asyncIterator]() as AsyncIterableIterator<R>
  }

  override read(size?: number): R | null {
    return super.read(size) as R | null
  }

  override toArray(options?: { signal?: AbortSignal }): Promise<R[]> {
    return super.toArray(options) as Promise<R[]>
  }
}
