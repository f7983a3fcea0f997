/**
 * Replicated downloads held to the free-space floor of local writes (docs/DESIGN.md, "Storage
 * faults"). Hypercore writes the blocks it downloads itself, and RocksDB refuses every write after
 * one failed write until it is reopened: a download that filled the disk would stop this store's
 * local appends too, until the process restarts. So one room per store watches every download of
 * it: none starts, and every running one stops, once the file system holding the store would have
 * less than the floor free.
 *
 * RocksDB holds what it was given in memory (its write buffer) and writes it out in one burst, so
 * the free space `statfs` shows lags behind the blocks downloaded. The room counts every block
 * downloaded as unseen until a measurement shows the free space fall by as much, at most
 * UNFLUSHED_BYTES of them: free means measured free minus those. Each block is counted at once (no
 * system call); the free space is measured again every DOWNLOAD_CHECK_BYTES downloaded, before a
 * download starts (at most every RECHECK_MS), and, while downloads wait for room, every
 * ROOM_RECHECK_MS. Downloads ask for their blocks in slices (`sliceBlocks`), so what is already
 * on its way when they stop stays well within the floor.
 */
import type Hypercore from 'hypercore'
import type { KappaError } from '../../errors.js'
import { freeBytesOf, noSpaceError } from '../../util/storage-fault.js'
import { storageDirectory } from '../dependency-internals.js'

/** Bytes of blocks downloaded (by every download of the store) between two measurements: 4 MiB. */
export const DOWNLOAD_CHECK_BYTES = 4 * 1024 * 1024
/**
 * The most downloaded bytes counted as not on disk yet: 64 MiB, the write buffer of Hypercore's
 * RocksDB (hypercore-storage's `writeBufferSize`), which it writes out once full.
 */
export const UNFLUSHED_BYTES = 64 * 1024 * 1024
/**
 * The most bytes one download asks a peer for at once: Hypercore writes every block it asked for,
 * also after the download stopped, so a download near the floor asks for less — a quarter of the
 * room above the floor, at least DOWNLOAD_CHECK_BYTES.
 */
export const MAX_SLICE_BYTES = 64 * 1024 * 1024
/** While downloads wait for room (live sessions), the free space is measured this often (ms). */
export const ROOM_RECHECK_MS = 1000
/** A download starting within this long (ms) of the last measurement starts without another. */
const RECHECK_MS = 250

const WHAT = 'replication stopped downloading'

/** A running download's watch: `stopped` settles with the shortage that stops it. */
export interface RoomWatch {
  readonly stopped: Promise<KappaError>
  cancel(): void
}

export class DownloadRoom {
  readonly #floor: number
  /** Found from the first core checked (null: its storage has no directory, nothing is checked). */
  #dir: string | null | undefined = undefined
  #measured = Infinity
  #measuredAt = -Infinity
  /** Bytes downloaded that no measurement has shown yet. */
  #unseen = 0
  /** Bytes downloaded since the last measurement started. */
  #sinceMeasure = 0
  #measuring: Promise<void> | null = null
  /** The shortage downloads stopped for, until a measurement finds room. */
  #short: KappaError | null = null
  /** Whether the current shortage was reported (once per shortage). */
  #reported = false
  readonly #shortages = new WeakSet<object>()
  readonly #stops = new Set<(err: KappaError) => void>()
  readonly #waiters = new Set<() => void>()
  #timer: NodeJS.Timeout | null = null
  #closed = false

  constructor(floor: number) {
    this.#floor = floor
  }

  /** Whether `err` is a shortage downloads stopped for (not a storage failure). */
  isShortage(err: unknown): err is KappaError {
    return typeof err === 'object' && err !== null && this.#shortages.has(err)
  }

  /**
   * Resolves when a download into `core` may start; rejects with `ERR_STORAGE` (`ENOSPC`) while
   * the file system would have less than the floor free. During a shortage it measures again, so a
   * later download finds the room that came back.
   */
  async check(core: Hypercore): Promise<void> {
    if (!this.#watched(core)) return
    if (this.#short !== null || performance.now() - this.#measuredAt >= RECHECK_MS) await this.#measure()
    if (this.#short) throw this.#short
    if (this.#free() < this.#floor) throw this.#stop()
  }

  /**
   * Watches a running download into `core`: `stopped` settles once the store is short of room
   * (this download's blocks or another's). A block is counted when `counts()` says so (a watch
   * whose blocks another watch of the same download counts).
   */
  watch(core: Hypercore, onStop: () => void, counts: () => boolean = () => true): RoomWatch {
    let stop: (err: KappaError) => void = () => undefined
    const stopped = new Promise<KappaError>((resolve) => {
      stop = (err) => {
        // At once, before the blocks already on their way are taken.
        onStop()
        resolve(err)
      }
    })
    if (!this.#watched(core)) return { stopped, cancel: () => undefined }
    if (this.#short) {
      stop(this.#short)
      return { stopped, cancel: () => undefined }
    }
    const onDownload = (_index: number, bytes: number): void => {
      if (!counts()) return
      this.#unseen += bytes
      this.#sinceMeasure += bytes
      if (this.#short) return
      if (this.#free() < this.#floor) this.#stop()
      else if (this.#sinceMeasure >= DOWNLOAD_CHECK_BYTES) void this.#measure()
    }
    this.#stops.add(stop)
    core.on('download', onDownload)
    return {
      stopped,
      cancel: () => {
        this.#stops.delete(stop)
        core.off('download', onDownload)
      },
    }
  }

  /**
   * How many blocks of `core` (by its mean block size) one download asks for at once: MAX_SLICE_BYTES
   * worth, a quarter of the room above the floor near it, at least DOWNLOAD_CHECK_BYTES worth.
   */
  sliceBlocks(core: Hypercore): number {
    if (!this.#watched(core)) return Infinity
    const room = (this.#free() - this.#floor) / 4
    const bytes = Math.min(MAX_SLICE_BYTES, Math.max(DOWNLOAD_CHECK_BYTES, room))
    const mean = core.length > 0 ? core.byteLength / core.length : 0
    return mean > 0 ? Math.max(1, Math.floor(bytes / mean)) : Infinity
  }

  /**
   * Whether `err` is to be reported now: the first report of a shortage (the store's `'error'`,
   * for live sessions, which stay open and wait).
   */
  reportsNow(err: KappaError): boolean {
    if (this.#reported || err !== this.#short) return false
    this.#reported = true
    return true
  }

  /** Settles once a measurement finds room (at once when there is no shortage). */
  whenRoom(): Promise<void> {
    if (this.#short === null || this.#closed) return Promise.resolve()
    return new Promise((resolve) => {
      this.#waiters.add(resolve)
      if (this.#timer) return
      this.#timer = setInterval(() => void this.#measure(), ROOM_RECHECK_MS)
      this.#timer.unref()
    })
  }

  /** The store is closing: nothing waits for room any more. */
  close(): void {
    this.#closed = true
    this.#roomBack()
  }

  /** Whether downloads into `core` are checked (its storage has a directory, the floor is above 0). */
  #watched(core: Hypercore): boolean {
    if (this.#dir === undefined) this.#dir = this.#floor > 0 ? storageDirectory(core) : null
    return this.#dir !== null
  }

  /** The free space once what was downloaded is on disk. */
  #free(): number {
    return this.#measured - Math.min(this.#unseen, UNFLUSHED_BYTES)
  }

  #measure(): Promise<void> {
    const dir = this.#dir
    if (typeof dir !== 'string') return Promise.resolve()
    this.#sinceMeasure = 0
    this.#measuring ??= freeBytesOf(dir)
      .then((free) => {
        // What the disk lost since, the downloads' blocks account for first.
        if (free < this.#measured) this.#unseen = Math.max(0, this.#unseen - (this.#measured - free))
        this.#measured = free
        this.#measuredAt = performance.now()
        if (this.#free() >= this.#floor) this.#roomBack()
        else this.#stop()
      })
      .finally(() => (this.#measuring = null))
    return this.#measuring
  }

  /** Starts a shortage (or keeps the current one) and stops every running download. */
  #stop(): KappaError {
    if (this.#short === null) {
      const free = Math.max(0, this.#free())
      const need = `downloads need ${this.#floor} bytes left`
      this.#short = noSpaceError(WHAT, this.#dir ?? '', free, need)
      this.#shortages.add(this.#short)
      this.#reported = false
    }
    const short = this.#short
    for (const stop of this.#stops) stop(short)
    this.#stops.clear()
    return short
  }

  #roomBack(): void {
    this.#short = null
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    for (const resolve of this.#waiters) resolve()
    this.#waiters.clear()
  }
}
