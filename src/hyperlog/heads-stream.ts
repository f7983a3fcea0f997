/**
 * What `heads()` returns: a Readable of the head nodes (as hyperlog returned a stream) that is also
 * a Promise of the array (as the contract's `await log.heads()`), both from one read.
 */
import { RowReadable } from '../util/typed-readable.js'
import { markHandled, toError } from '../util/errors.js'

export class HeadsStream<N> extends RowReadable<N> implements Promise<N[]> {
  readonly #result: Promise<N[]>
  #started = false

  constructor(result: Promise<N[]>) {
    super({ objectMode: true })
    this.#result = result
    // Used only as a stream, a failure is reported by 'error'; never an unhandled rejection.
    markHandled(result)
  }

  override _read(): void {
    if (this.#started) return
    this.#started = true
    this.#result.then(
      (nodes) => {
        for (const node of nodes) this.push(node)
        this.push(null)
      },
      (err: unknown) => this.destroy(toError(err)),
    )
  }

  then<R1 = N[], R2 = never>(
    onfulfilled?: ((value: N[]) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.#result.then(onfulfilled, onrejected)
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<N[] | R> {
    return this.#result.catch(onrejected)
  }

  finally(onfinally?: (() => void) | null): Promise<N[]> {
    return this.#result.finally(onfinally)
  }

  readonly [Symbol.toStringTag] = 'HeadsStream'
}
