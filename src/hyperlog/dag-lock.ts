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
    const release = this.tryAcquire()
    if (release) return Promise.resolve(release)
    // Handed over by #release: the lock stays held.
    return new Promise((resolve) => this.#waiting.push(() => resolve(this.#releaser())))
  }

  /**
   * The release function when the lock is free now (taken synchronously: no promise, no
   * microtask hop for an uncontended local write), else null.
   */
  tryAcquire(): (() => void) | null {
    if (this.#held) return null
    this.#held = true
    return this.#releaser()
  }

  /** Releases once, however often it is called. */
  #releaser(): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      this.#release()
    }
  }

  /** Runs `fn` holding the lock (taken at once when free: no microtask hop), then releases it. */
  run<R>(fn: () => Promise<R> | R): Promise<R> {
    const release = this.tryAcquire()
    if (release) return held(fn, release)
    return this.acquire().then((r) => held(fn, r))
  }

  #release(): void {
    const next = this.#waiting.shift()
    if (next) next()
    else this.#held = false
  }
}

async function held<R>(fn: () => Promise<R> | R, release: () => void): Promise<R> {
  try {
    return await fn()
  } finally {
    release()
  }
}
