/**
 * Serializes HyperKV's writes that take the key's current heads as links, and coalesces concurrent
 * ones: every single put/del queued while the previous commit is in flight (or in the same tick) is
 * committed together as ONE hyperlog batch — one feed append — instead of one append each.
 *
 * Serializing is what keeps hyperkv's sequential semantics: a commit reads the heads only after the
 * previous commit is indexed, so un-linked writes to one key on one replica form a chain even when
 * issued concurrently. A `batch` call is its own commit (all or nothing), never merged with others.
 */
import { isKappaError } from '../errors.js'
import { toError } from '../util/errors.js'

interface Pending<Row, Result> {
  rows: Row[]
  /** A `batch` call: committed alone, resolved with every row's result. */
  exclusive: boolean
  /** A single write: settled with its row's result (no array, no extra promise). */
  resolveOne: ((result: Result) => void) | null
  resolveAll: ((results: Result[]) => void) | null
  reject(err: Error): void
}

/** Bounds one coalesced commit so a flood of puts becomes several large appends, not one huge one. */
const MAX_GROUP_ROWS = 4096

export class WriteQueue<Row, Result> {
  readonly #pending: Pending<Row, Result>[] = []
  #draining: Promise<void> | null = null

  /** `commit(rows)` writes rows atomically and returns one result per row, in row order. */
  readonly #commit: (rows: Row[]) => Promise<Result[]>

  constructor(commit: (rows: Row[]) => Promise<Result[]>) {
    this.#commit = commit
  }

  /** Queues one row, coalesced with the other single rows waiting at the time of the commit. */
  write(row: Row): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      this.#enqueue({ rows: [row], exclusive: false, resolveOne: resolve, resolveAll: null, reject })
    })
  }

  /** Queues rows committed together and alone. */
  batch(rows: Row[]): Promise<Result[]> {
    return new Promise<Result[]>((resolve, reject) => {
      this.#enqueue({ rows, exclusive: true, resolveOne: null, resolveAll: resolve, reject })
    })
  }

  /** Resolves once every write queued so far has settled. */
  async idle(): Promise<void> {
    while (this.#draining) await this.#draining
  }

  #enqueue(item: Pending<Row, Result>): void {
    this.#pending.push(item)
    this.#start()
  }

  #start(): void {
    if (this.#draining || this.#pending.length === 0) return
    this.#draining = this.#run()
  }

  async #run(): Promise<void> {
    // Start on a microtask so writes issued in the same synchronous run share the first commit.
    await null
    try {
      await this.#drain()
    } finally {
      this.#draining = null
      this.#start()
    }
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const group = this.#takeGroup()
      try {
        await this.#commitGroup(group)
      } catch (err) {
        // A row the log refuses (too large, too deep: nothing was written) fails its own write,
        // never the writes it was coalesced with: each is committed again alone.
        if (group.length > 1 && isKappaError(err, 'ERR_INVALID_ARGUMENT')) {
          for (const item of group) {
            try {
              await this.#commitGroup([item])
            } catch (own) {
              item.reject(toError(own))
            }
          }
        } else for (const item of group) item.reject(toError(err))
      }
    }
  }

  async #commitGroup(group: Pending<Row, Result>[]): Promise<void> {
    const rows = group.length === 1 ? group[0]!.rows : group.flatMap((item) => item.rows)
    const results = await this.#commit(rows)
    let offset = 0
    for (const item of group) {
      if (item.resolveOne) item.resolveOne(results[offset]!)
      else item.resolveAll!(group.length === 1 ? results : results.slice(offset, offset + item.rows.length))
      offset += item.rows.length
    }
  }

  /** The next commit: one exclusive batch, or the longest run of single rows (bounded). */
  #takeGroup(): Pending<Row, Result>[] {
    const first = this.#pending.shift()!
    if (first.exclusive) return [first]
    const group = [first]
    while (this.#pending.length > 0 && !this.#pending[0]!.exclusive && group.length < MAX_GROUP_ROWS) {
      group.push(this.#pending.shift()!)
    }
    return group
  }
}
