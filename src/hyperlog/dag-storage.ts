/**
 * `DagStorage`: the health of the storage under the DAG index. Every DAG commit asks it first
 * (`beforeCommit`): room for the batch on the file system, and — after a commit failed in the
 * storage engine — that the engine is sound again (`#heal`): a LevelDB log with a torn record
 * loses what is written after it, so nothing is committed until a heal has worked.
 */
import { causeOf, storageError, type FreeSpace } from '../util/storage-fault.js'
import type { LevelDb, LevelOperation, LevelSublevel } from '../kappa/index.js'
import { writeBatch } from '../level/index.js'

export interface DagStorageOptions {
  root: LevelDb
  /** Where the probe write of a heal goes (a sublevel of the DAG index). */
  probe: LevelSublevel
  /** The free space of the index's file system (null: not known, nothing checked). */
  space: FreeSpace | null
  /** Closes and opens the index database again (when the log opened it itself). */
  reopen?: () => Promise<void>
  /** A commit failed on a storage fault (reported once until the storage heals). */
  onStorageFault: (err: Error) => void
}

export class DagStorage {
  readonly #opts: DagStorageOptions
  /** A commit failed in the storage engine: the fault, until a heal has worked. */
  #fault: Error | null = null

  constructor(opts: DagStorageOptions) {
    this.#opts = opts
  }

  /**
   * Before a commit: the storage healed (after a fault), and room for `bytes` more (`freshFrom`:
   * by a measurement started then or later, not a recent reading; `measureAhead`). Undefined (no
   * promise, no turn of the loop) in the usual case: no fault, and the free space known to suffice.
   */
  beforeCommit(bytes: number, what: string, freshFrom?: number): Promise<void> | undefined {
    if (this.#fault) return this.#heal(what).then(() => this.#opts.space?.check(bytes, what, freshFrom))
    return this.#opts.space?.check(bytes, what, freshFrom)
  }

  /**
   * Starts measuring the free space now, for a commit of what follows blocks stored before (the
   * `freshFrom` it returns): the measurement overlaps the work until that commit.
   */
  measureAhead(): number {
    return this.#opts.space?.measureAhead() ?? performance.now()
  }

  /** A commit failed in the storage engine: heal before the next. */
  noteFault(err: Error): void {
    if (!this.#fault) this.#opts.onStorageFault(err)
    this.#fault = err
  }

  /** Whether a fault is noted and not healed yet. */
  get faulty(): boolean {
    return this.#fault !== null
  }

  /** A fault the first commit attempt met before the engine did (a lack of room): reported now. */
  report(err: Error): void {
    if (!this.#fault) this.#opts.onStorageFault(err)
  }

  /**
   * With room on the file system, a LevelDB memtable flush (`compactRange` of one key) moves what
   * is acknowledged to a table and starts a new log, leaving the one with the torn record behind; a
   * probe write shows the engine takes writes again. Failing that (the engine stopped itself), a
   * database the log opened is closed and opened again. Until one of them works, every commit
   * fails with the cause.
   */
  async #heal(what: string): Promise<void> {
    // Without room the flush would fail too, and LevelDB would refuse writes until reopened.
    await this.#opts.space?.room(HEAL_BYTES, what)
    const root = this.#opts.root as unknown as { compactRange?: (a: string, b: string) => Promise<void> }
    const probe = [{ type: 'del', key: PROBE_KEY, sublevel: this.#opts.probe } as LevelOperation]
    try {
      if (typeof root.compactRange === 'function') await root.compactRange(PROBE_RAW_KEY, PROBE_RAW_KEY)
      await writeBatch(this.#opts.root, probe)
    } catch (err) {
      if (!this.#opts.reopen) throw storageError(what, err)
      try {
        await this.#opts.reopen()
        await writeBatch(this.#opts.root, probe)
      } catch (again) {
        throw storageError(what, again)
      }
    }
    this.#fault = null
  }
}

/** A failure of the storage (a full disk, a read-only directory), worth trying again once it heals. */
export function isStorageFault(err: unknown): boolean {
  if (causeOf(err) !== null) return true
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === 'LEVEL_IO_ERROR') return true
  }
  return false
}

/** The key a probe write deletes (in the positions sublevel), and its key in the root database. */
const PROBE_KEY = 'probe'
const PROBE_RAW_KEY = '!hyperlog!!s!probe'
/** Room a heal needs: a memtable flush writes up to the 16 MiB write buffer, and a new log. */
const HEAL_BYTES = 32 * 1024 * 1024
