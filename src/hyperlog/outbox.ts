/**
 * The outbox: local nodes that are indexed (acknowledged) but not yet appended to the writer's
 * feed. A group of local writes commits its encoded entries here in the same level batch as their
 * index records (one record per group, key = the group's first seq); a background flusher then
 * appends everything queued with ONE array append, so sequential awaited writes overlap with the
 * appends and group naturally. Records are deleted once the DAG view has passed their entries in
 * the feed (in the view's own batch), or at open after the replay.
 *
 * Crash safety: an acknowledged write is in the level batch; at open, `replay` appends every
 * outbox entry whose seq is at or past the feed's length, in order, then deletes the records.
 * The records double as the group marker (a group writes no marker of its own): a record lives
 * until the view has passed its entries, so the largest record end is the marker whenever it
 * matters; the replay stores it (with the deletes) before the records go.
 */
import { KappaError } from '../errors.js'
import { MAX_ENTRY_BYTES } from '../feeds/limits.js'
import type { Feed } from '../feeds/types.js'
import type { LevelDb, LevelOperation, LevelSublevel } from '../kappa/index.js'
import { writeBatch } from '../level/index.js'
import { decodeOutboxRecord, encodeOutboxRecord, lexHex, fromLexHex } from './messages.js'
import { toError } from '../util/errors.js'

/**
 * How long committed entries wait before the flusher appends them: sequential awaited writes then
 * share one Hypercore append (a single append costs about as much as hundreds of entries in one
 * array append). Nothing is at risk meanwhile: the entries are durable in the outbox.
 */
const FLUSH_DELAY_MS = 5
/** Appended at once, without waiting, when this many entries are queued. */
const FLUSH_NOW_ENTRIES = 4096

/** What holds the seq of an entry the feed cannot take: no hyperlog node decodes from it. */
const DROPPED_ENTRY = Buffer.alloc(0)

/** An outbox entry larger than MAX_ENTRY_BYTES, replaced by an empty entry at the replay. */
export interface DroppedEntry {
  /** Its seq in the writer's feed (0-based). */
  seq: number
  entry: Buffer
}

/** The first retry after a failed append, doubling up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 250
const RETRY_MAX_MS = 10_000

interface Group {
  first: number
  entries: Buffer[]
}

export class Outbox {
  readonly #db: LevelSublevel
  readonly #onError: (err: Error) => void
  #writer: Feed<Buffer> | null = null
  /** Committed groups not appended yet, in seq order. */
  #queued: Group[] = []
  /** Appended groups whose records are still stored: `[first, end)`. */
  #appended: { first: number; end: number }[] = []
  #flushing: Promise<void> | null = null
  #failure: Error | null = null
  #timer: NodeJS.Timeout | null = null
  /** The append of what is queued, at the next turn of the loop (peers wait: no grouping delay). */
  #soon: NodeJS.Immediate | null = null
  /** A live replication is open: its peers wait for each entry, so it is appended at once. */
  #awaited = false
  #retry: NodeJS.Timeout | null = null
  #retryMs = 0
  #queuedEntries = 0

  constructor(db: LevelSublevel, onError: (err: Error) => void) {
    this.#db = db
    this.#onError = onError
  }

  /** Entries committed but not appended yet. */
  get size(): number {
    return this.#queuedEntries
  }

  /**
   * At open, before anything is indexed: appends the stored entries the feed does not hold yet
   * (seq ≥ length, contiguous), then deletes every record. An entry larger than MAX_ENTRY_BYTES
   * (acknowledged by a version that did not check, and never appended: the feed refuses it) is
   * `dropped`: an empty entry, which no index reads as a node, takes its seq, so the entries after
   * it keep theirs.
   */
  async replay(
    writer: Feed<Buffer>,
    root: LevelDb,
    markerOps: (end: number) => LevelOperation[],
  ): Promise<{ appended: number; dropped: DroppedEntry[] }> {
    this.#writer = writer
    const records = (await this.#db.iterator().all()) as [string, Uint8Array][]
    const dropped: DroppedEntry[] = []
    if (records.length === 0) return { appended: 0, dropped }
    const missing: Buffer[] = []
    const length = writer.length
    let next = length
    let end = 0
    for (const [key, bytes] of records) {
      const first = fromLexHex(key)
      const entries = decodeOutboxRecord(bytes)
      end = Math.max(end, first + entries.length)
      for (let i = 0; i < entries.length; i++) {
        const seq = first + i
        if (seq < length) continue
        if (seq !== next) {
          throw new KappaError('ERR_STORAGE', `the outbox skips from seq ${next} to ${seq}`)
        }
        if (entries[i].byteLength > MAX_ENTRY_BYTES) {
          dropped.push({ seq, entry: entries[i] })
          missing.push(DROPPED_ENTRY)
        } else missing.push(entries[i])
        next++
      }
    }
    if (missing.length > 0) await writer.append(missing)
    // The records go, the marker they imply stays (one batch: a crash keeps one or the other).
    const ops = records.map(
      ([key]) => ({ type: 'del', key, sublevel: this.#db }) as unknown as LevelOperation,
    )
    await writeBatch(root, [...ops, ...markerOps(end)])
    return { appended: missing.length, dropped }
  }

  /** The level operation that stores a group (joins the group's index batch). */
  put(first: number, entries: Buffer[]): LevelOperation {
    return {
      type: 'put',
      key: lexHex(first),
      value: encodeOutboxRecord(entries),
      sublevel: this.#db,
    } as unknown as LevelOperation
  }

  /** After the group's batch committed: queue its entries for the flusher. */
  enqueue(first: number, entries: Buffer[]): void {
    this.#queued.push({ first, entries })
    this.#queuedEntries += entries.length
    this.#schedule()
  }

  /**
   * Deletes of the records of appended groups that end at or before `end` (the view passed them),
   * for the view's batch; `forget(end)` once it committed.
   */
  passed(end: number): LevelOperation[] {
    const ops: LevelOperation[] = []
    for (const group of this.#appended) {
      if (group.end > end) break
      ops.push({ type: 'del', key: lexHex(group.first), sublevel: this.#db } as unknown as LevelOperation)
    }
    return ops
  }

  /** The batch holding `passed(end)` committed: those records are gone. */
  forget(end: number): void {
    while (this.#appended.length > 0 && this.#appended[0].end <= end) this.#appended.shift()
  }

  /** Resolves once every group queued now is appended (rejects if an append fails). */
  async flush(): Promise<void> {
    while (this.#queued.length > 0 || this.#flushing) {
      this.#kick()
      await this.#flushing
      if (this.#failure) throw this.#failure
    }
  }

  /**
   * `true` while live peers wait for new entries: each is appended at the next turn of the loop
   * rather than after the grouping delay (writes made meanwhile still share an append, as do those
   * queued while one is in flight). `false`: group again.
   */
  setAwaited(awaited: boolean): void {
    this.#awaited = awaited
    if (awaited && this.#timer) this.#kick()
  }

  /**
   * Appends soon: at once when much is queued or live peers wait, else after a short delay that
   * lets writes group.
   */
  #schedule(): void {
    if (this.#flushing || this.#queued.length === 0) return
    if (this.#queuedEntries >= FLUSH_NOW_ENTRIES) this.#kick()
    else if (this.#awaited) this.#soon ??= setImmediate(() => this.#kick())
    else if (!this.#timer) {
      // Not unref'd: a live replication waiting for these entries must see them appended.
      this.#timer = setTimeout(() => this.#kick(), FLUSH_DELAY_MS)
    }
  }

  /** Appends everything queued now (one array append), then schedules what came meanwhile. */
  #kick(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    if (this.#soon) clearImmediate(this.#soon)
    this.#soon = null
    if (this.#retry) clearTimeout(this.#retry)
    this.#retry = null
    if (this.#flushing || this.#queued.length === 0) return
    const failing = this.#failure !== null
    this.#failure = null
    this.#flushing = this.#appendQueued(failing).finally(() => {
      this.#flushing = null
      if (!this.#failure) this.#schedule()
      else this.#retryLater()
    })
  }

  /**
   * After a failed append (a full disk, say): tried again on its own, ever later (up to every
   * RETRY_MAX_MS), so the entries reach the feed once the storage is back even if nothing else is
   * written; unref'd, the records are durable whatever happens to the process.
   */
  #retryLater(): void {
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs === 0 ? RETRY_FIRST_MS : this.#retryMs * 2)
    this.#retry = setTimeout(() => this.#kick(), this.#retryMs)
    this.#retry.unref()
  }

  /** Stops the retries (the log is closing). */
  stop(): void {
    if (this.#retry) clearTimeout(this.#retry)
    this.#retry = null
  }

  /** `failing`: the previous append failed (its error was reported; a repeat of it is not). */
  async #appendQueued(failing: boolean): Promise<void> {
    const writer = this.#writer!
    const groups = this.#queued
    this.#queued = []
    this.#queuedEntries = 0
    const entries = groups.length === 1 ? groups[0].entries : groups.flatMap((g) => g.entries)
    try {
      // Their seqs were reserved when the group committed: they land exactly there, or fail.
      await writer.appendReserved(groups[0].first, entries)
    } catch (err) {
      // Still durable in the outbox: retried by the next write, a flush, or the next open.
      this.#queued = [...groups, ...this.#queued]
      this.#queuedEntries = this.#queued.reduce((n, g) => n + g.entries.length, 0)
      this.#failure = toError(err)
      if (!failing) this.#onError(this.#failure)
      return
    }
    this.#retryMs = 0
    for (const g of groups) this.#appended.push({ first: g.first, end: g.first + g.entries.length })
  }
}
