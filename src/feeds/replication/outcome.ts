/**
 * How a replication stream ended, for `stream.finished()`: a stream's `'end'` alone does not say
 * (a side refused for a key mismatch ends its readable side before its `'error'`), so the outcome
 * is judged once the stream has closed, from what its session reported: completed (non-live: both
 * sides sent `done`), failed with a coded error, or neither.
 */
import type { Duplex } from 'node:stream'
import { KappaError } from '../../errors.js'

type OutcomeState = 'running' | 'completed' | 'failed'

export class ReplicationOutcome {
  readonly #stream: Duplex
  readonly #live: boolean
  #state: OutcomeState = 'running'
  #failure: KappaError | null = null
  /** Made on the first `settled()` only: a stream nobody awaits never leaves an unhandled rejection. */
  #settled: Promise<void> | null = null

  constructor(stream: Duplex, live: boolean) {
    this.#stream = stream
    this.#live = live
  }

  /** Non-live: both sides said they hold what the other offered. */
  completed(): void {
    if (this.#state === 'running') this.#state = 'completed'
  }

  /** The session failed (or was stopped by its store's close) with `err`. */
  failed(err: KappaError): void {
    if (this.#state !== 'running') return
    this.#state = 'failed'
    this.#failure = err
  }

  /** Settles once the stream has closed: see `ReplicationStream.finished`. */
  settled(): Promise<void> {
    if (this.#settled) return this.#settled
    const stream = this.#stream
    // The caller takes the error through the promise: an 'error' without another listener must
    // not crash the process.
    stream.on('error', () => undefined)
    this.#settled = new Promise<void>((resolve, reject) => {
      const judge = () => {
        const err = this.#judge()
        if (err) reject(err)
        else resolve()
      }
      if (stream.closed) judge()
      else stream.once('close', judge)
    })
    return this.#settled
  }

  #judge(): KappaError | null {
    const errored = this.#stream.errored
    if (errored) {
      if (errored instanceof KappaError) return errored
      return new KappaError('ERR_CLOSED', `the replication stream was destroyed: ${errored.message}`, {
        cause: errored,
      })
    }
    if (this.#state === 'failed') return this.#failure
    if (this.#state === 'completed' || this.#live) return null
    return new KappaError('ERR_CLOSED', 'the replication stream closed before the replication completed')
  }
}
