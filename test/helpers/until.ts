/**
 * The one polling helper of the tests: waits for a condition that no event announces (or not in a
 * form worth listening for), checked every `interval` ms.
 */

export interface UntilOptions {
  /** Give up after this long (default 20 s): a hang fails the test instead of stalling it. */
  ms?: number
  /** Checks this often (default 10 ms). */
  interval?: number
}

/**
 * Resolves with `check()`'s first truthy result; rejects after `opts.ms` with "timed out waiting for
 * `what`" (`what` may be a function, read at that moment). A `check` that throws rejects at once.
 */
export async function until<T>(
  check: () => T,
  what: string | (() => string) = 'condition',
  { ms = 20_000, interval = 10 }: UntilOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms
  for (;;) {
    const found = check()
    if (found) return found as NonNullable<T>
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`)
    }
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

/** `promise`, or a rejection naming `what` after `ms`: a hang fails the test instead of stalling it. */
export async function deadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hung for ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, expired])
  } finally {
    clearTimeout(timer)
  }
}
