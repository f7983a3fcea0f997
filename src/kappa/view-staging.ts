/**
 * `ViewStaging`: which `ViewBatch` a levelView's `db` calls belong to. One per levelView, shared by
 * its `ViewDb` and its sublevels.
 *
 * The rule (no async context tracking: `AsyncLocalStorage` turns on Node 20's promise hooks for the
 * whole process, which doubles the cost of every `await` everywhere, the hyperkv layers included):
 *
 * - From the moment levelView calls the setup's `map` until that map is done (`next()` called, or
 *   its promise settled), the view has a batch in flight. Every `ViewDb` call made meanwhile
 *   belongs to it: writes are staged, reads see the staged writes first.
 * - Except calls made synchronously inside one of the view's `api` functions (levelView wraps
 *   them): those read committed data and write straight to the database, even mid-batch.
 * - With no batch in flight, reads see committed data and writes go straight to the database.
 *
 * The indexer maps one batch at a time per view, so there is never more than one in flight.
 */
import type { ViewBatch } from './view-batch.js'

export class ViewStaging {
  #inFlight: ViewBatch | null = null
  #apiDepth = 0

  /** `map` is about to be called with `batch`. */
  begin(batch: ViewBatch): void {
    this.#inFlight = batch
  }

  /** `map` is done with `batch`: no more writes join it. */
  end(batch: ViewBatch): void {
    batch.seal()
    if (this.#inFlight === batch) this.#inFlight = null
  }

  /** The batch a `ViewDb` call made right now belongs to, or null (committed data). */
  current(): ViewBatch | null {
    return this.#apiDepth === 0 ? this.#inFlight : null
  }

  /** Calls `fn` so that the `ViewDb` calls it makes synchronously skip the batch in flight. */
  outsideBatch<R>(fn: (...args: never[]) => R, thisArg: unknown, args: unknown[]): R {
    this.#apiDepth++
    try {
      return Reflect.apply(fn, thisArg, args) as R
    } finally {
      this.#apiDepth--
    }
  }
}
