/**
 * `RowStream`: the object-mode Readable the view helpers hand out, pulling rows from a source one
 * step at a time (`next()` resolves the next rows, waiting as long as a live read must; null ends
 * the stream). Destroying it closes the source, which settles a pending `next()`.
 */
import { Readable } from 'node:stream'

export interface RowSource<R> {
  next(): Promise<R[] | null>
  close(): Promise<void>
}

export class RowStream<R> extends Readable {
  readonly #source: RowSource<R>
  #busy = false

  constructor(source: RowSource<R>) {
    super({ objectMode: true, highWaterMark: 16 })
    this.#source = source
  }

  override _read(): void {
    if (this.#busy) return
    this.#busy = true
    this.#source.next().then(
      (rows) => {
        this.#busy = false
        if (this.destroyed) return
        if (rows === null) {
          this.push(null)
          return
        }
        let more = true
        for (const row of rows) more = this.push(row)
        if (more) this._read()
      },
      (err: unknown) => {
        this.#busy = false
        this.destroy(err as Error)
      },
    )
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#source.close().then(
      () => cb(err),
      () => cb(err),
    )
  }
}
