/**
 * One DAG batch at a time: the DAG view's batches (replicated entries) and the groups of local
 * writes both read the committed index, assign change numbers and commit; they must not
 * interleave, or two of them could both find a hash missing and give it two change numbers.
 */
export class DagLock {
  #held = false
  readonly #waiting: Array<() => void> = []

  /** Resolves with the release function once the lock is ours. */
  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = (): void => {
        this.#held = true
        let released = false
        resolve(() => {
          if (released) return
          released = true
          this.#release()
        })
      }
      if (this.#held) this.#waiting.push(grant)
      else grant()
    })
  }

  /**
   * The release function when the lock is free now (taken synchronously: no promise, no
   * microtask hop for an uncontended local write), else null.
   */
  tryAcquire(): (() => void) | null {
    if (this.#held) return null
    this.#held = true
    let released = false
    return () => {
      if (released) return
      released = true
      this.#release()
    }
  }

  async run<R>(fn: () => Promise<R> | R): Promise<R> {
    const release = await this.acquire()
    try {
      return await fn()
    } finally {
      release()
    }
  }

  #release(): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#held = false
  }
}
