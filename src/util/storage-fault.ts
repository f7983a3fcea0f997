/**
 * Storage faults — a full disk, a directory turning read-only — as every layer reports and avoids
 * them (docs/DESIGN.md, "Storage faults").
 *
 * `storageError` gives a failed storage operation the code `ERR_STORAGE` and a message naming the
 * cause (`ENOSPC`, `EACCES`, `EROFS`, …), found in the error or its causes: the storage engines
 * wrap the system's error (RocksDB as "Batch was not applied" with the IO error as its cause,
 * LevelDB as "IO error: <file>: No space left on device").
 *
 * `FreeSpace` keeps local writes from reaching an engine on a file system with less than
 * `MIN_FREE_BYTES` free: RocksDB (Hypercore's storage) refuses every write after one failed write
 * until it is reopened, and LevelDB loses the writes it acknowledges after one failed log write
 * (its log is left with a torn record). Refused before the engine sees them, writes succeed again
 * as soon as space is back.
 */
import { statfs } from 'node:fs/promises'
import { KappaError } from '../errors.js'
import { messageOf } from './errors.js'

/** Local writes fail (`ERR_STORAGE`, `ENOSPC`) while the file system has less than this free. */
export const MIN_FREE_BYTES = 64 * 1024 * 1024

/** The errno names the engines' messages spell out. */
const CAUSES: [RegExp, string][] = [
  [/no space left on device/i, 'ENOSPC'],
  [/disk quota exceeded/i, 'EDQUOT'],
  [/permission denied/i, 'EACCES'],
  [/read-only file system/i, 'EROFS'],
  [/operation not permitted/i, 'EPERM'],
  [/input\/output error/i, 'EIO'],
  [/too many open files/i, 'EMFILE'],
]
const ERRNO = /^E[A-Z0-9]+$/

/** The errno name behind a storage failure (`ENOSPC`, …), searched through its causes; else null. */
export function causeOf(err: unknown): string | null {
  return findCause(err)?.name ?? null
}

/** The errno name and the message of the error that shows it. */
function findCause(err: unknown): { name: string; message: string } | null {
  const seen = new Set<unknown>()
  const queue: unknown[] = [err]
  while (queue.length > 0 && seen.size < 16) {
    const e = queue.shift()
    if (e === null || typeof e !== 'object' || seen.has(e)) continue
    seen.add(e)
    const { code, message, cause, errors } = e as {
      code?: unknown
      message?: unknown
      cause?: unknown
      errors?: unknown
    }
    const text = typeof message === 'string' ? message : ''
    if (typeof code === 'string' && ERRNO.test(code)) return { name: code, message: text }
    for (const [pattern, name] of CAUSES) if (pattern.test(text)) return { name, message: text }
    if (cause !== undefined) queue.push(cause)
    if (Array.isArray(errors)) queue.push(...(errors as unknown[]))
  }
  return null
}

/** `ERR_STORAGE` for a failed storage operation, naming its cause when one is known. */
export function storageError(what: string, err: unknown): KappaError {
  const found = findCause(err)
  // Ours already (a free-space refusal, a wrapped fault): it names the cause.
  if (err instanceof KappaError && err.code === 'ERR_STORAGE' && found !== null) return err
  const detail = found ? found.message : messageOf(err)
  return new KappaError('ERR_STORAGE', `${what}: ${found ? `${found.name} (${detail})` : detail}`, {
    cause: err,
  })
}

/**
 * How long a measurement of the free space is trusted while writes stay well within it: 250 ms,
 * or 5 s with more than 16 floors to spare (a `statfs` costs the main thread milliseconds on some
 * file systems).
 */
const RECHECK_MS = 250
const RECHECK_ROOMY_MS = 5000

/**
 * The free space of the file system holding `dir`, measured at most every RECHECK_MS (RECHECK_ROOMY_MS
 * far from the floor; sooner once the bytes written since could bring it near), so a write usually
 * costs no system call.
 */
export class FreeSpace {
  readonly #dir: string
  readonly #floor: number
  #free = Infinity
  #measuredAt = -Infinity
  /** When the last finished measurement started. */
  #measuredFrom = -Infinity
  #writtenSince = 0
  #measuring: Promise<void> | null = null

  constructor(dir: string, floor = MIN_FREE_BYTES) {
    this.#dir = dir
    this.#floor = floor
  }

  /**
   * Resolves (or returns undefined at once) when `bytes` more may be written; rejects with
   * `ERR_STORAGE` (`ENOSPC`) when the file system has less than the floor left. `freshFrom`: for
   * writes that follow others the checker never saw (Hypercore's downloads), a `performance.now()`
   * after those: only a measurement started then or later counts (`measureAhead` starts one early).
   */
  check(bytes: number, what: string, freshFrom?: number): Promise<void> | undefined {
    if (this.#floor <= 0) return undefined
    const left = this.#free - this.#writtenSince - bytes
    const trusted = left > 16 * this.#floor ? RECHECK_ROOMY_MS : RECHECK_MS
    const recent =
      freshFrom === undefined
        ? performance.now() - this.#measuredAt < trusted
        : this.#measuring === null && this.#measuredFrom >= freshFrom
    if (recent && left >= 2 * this.#floor) {
      this.#writtenSince += bytes
      return undefined
    }
    return this.#measureFrom(freshFrom ?? -Infinity).then(() => {
      if (this.#free - bytes < this.#floor) throw this.#noRoom(what, `writes need ${this.#floor} bytes left`)
      this.#writtenSince += bytes
    })
  }

  /**
   * Resolves when the file system has at least `bytes` free, whatever the floor (measured now);
   * rejects with `ERR_STORAGE` (`ENOSPC`) otherwise.
   */
  async room(bytes: number, what: string): Promise<void> {
    await this.#measure()
    if (this.#free < bytes) throw this.#noRoom(what, `${bytes} bytes needed`)
  }

  #noRoom(what: string, need: string): KappaError {
    return noSpaceError(what, this.#dir, this.#free, need)
  }

  /**
   * Starts measuring now, unless a measurement is under way; returns the time a `check` of writes
   * that follow what is stored now counts measurements from (`freshFrom`): the measurement then
   * overlaps the work before that check.
   */
  measureAhead(): number {
    const from = performance.now()
    if (this.#floor > 0) void this.#measure()
    return from
  }

  /** A measurement that started at `from` or later (the one under way, or the next). */
  async #measureFrom(from: number): Promise<void> {
    await this.#measure()
    if (this.#measuredFrom < from) await this.#measure()
  }

  #measure(): Promise<void> {
    if (this.#measuring) return this.#measuring
    const from = performance.now()
    this.#measuring = freeBytesOf(this.#dir)
      .then((free) => {
        this.#free = free
      })
      .finally(() => {
        this.#measuredAt = performance.now()
        this.#measuredFrom = from
        this.#writtenSince = 0
        this.#measuring = null
      })
    return this.#measuring
  }
}

/**
 * The bytes free for this process on the file system holding `dir`; Infinity when it cannot say
 * (or the directory is gone): the engines will tell.
 */
export function freeBytesOf(dir: string): Promise<number> {
  return statfs(dir).then(
    (stats) => Number(stats.bavail) * Number(stats.bsize),
    () => Infinity,
  )
}

/** `ERR_STORAGE` (`ENOSPC`) for a write refused with `free` bytes left on the file system of `dir`. */
export function noSpaceError(what: string, dir: string, free: number, need: string): KappaError {
  const kib = Math.floor(free / 1024)
  // The cause carries the code, so `causeOf` (and a caller retrying on storage faults) finds it.
  const cause = Object.assign(new Error('not enough free space'), { code: 'ENOSPC' })
  return new KappaError(
    'ERR_STORAGE',
    `${what}: ENOSPC (${kib} KiB free on the file system of ${dir}, ${need})`,
    {
      cause,
    },
  )
}
