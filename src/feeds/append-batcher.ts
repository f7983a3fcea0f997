/**
 * Coalesces concurrent appends. Hypercore signs and writes every `append()` call on its own,
 * and one array append of many entries costs one signature and one write. So
 * appends queue up until the end of the current tick (or until the append in flight is done) and are
 * written as ONE Hypercore append; each caller still gets the seq of its own first entry, and one
 * caller's entries are never split across two Hypercore appends.
 */
interface Pending {
  entries: Uint8Array[]
  resolve(seq: number): void
  reject(err: unknown): void
}

/** Writes `entries` (seqs `first`…) atomically; resolves once they are stored. */
export type WriteEntries = (entries: Uint8Array[]) => Promise<void>

export class AppendBatcher {
  #queue: Pending[] = []
  #flushing = false
  #scheduled = false
  readonly #write: WriteEntries
  readonly #nextSeq: () => number

  constructor(write: WriteEntries, nextSeq: () => number) {
    this.#write = write
    this.#nextSeq = nextSeq
  }

  get idle(): boolean {
    return this.#queue.length === 0 && !this.#flushing
  }

  /** Settles once every append queued so far has been written or has failed. */
  async drained(): Promise<void> {
    while (!this.idle) await new Promise<void>((resolve) => setImmediate(resolve))
  }

  push(entries: Uint8Array[]): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#queue.push({ entries, resolve, reject })
      this.#schedule()
    })
  }

  #schedule(): void {
    if (this.#flushing || this.#scheduled) return
    this.#scheduled = true
    // A microtask: every append of the current synchronous run joins, without the latency of a
    // macrotask for an append issued alone.
    queueMicrotask(() => {
      this.#scheduled = false
      void this.#flush()
    })
  }

  async #flush(): Promise<void> {
    const batch = this.#queue
    if (batch.length === 0) return
    this.#queue = []
    this.#flushing = true
    let seq = this.#nextSeq()
    const all: Uint8Array[] = []
    const seqs: number[] = []
    for (const pending of batch) {
      seqs.push(seq)
      seq += pending.entries.length
      for (const entry of pending.entries) all.push(entry)
    }
    try {
      await this.#write(all)
      batch.forEach((pending, i) => pending.resolve(seqs[i]))
    } catch (err) {
      for (const pending of batch) pending.reject(err)
    } finally {
      this.#flushing = false
      // What queued up while we were writing goes out now, as one more append.
      if (this.#queue.length > 0) void this.#flush()
    }
  }
}
