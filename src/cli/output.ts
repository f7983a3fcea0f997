/** Writing to stdout with backpressure: JSON lines from an object stream, or single values. */
import type { Readable, Writable } from 'node:stream'
import { StdoutClosed } from './errors.js'

/** JSON with bytes (a node's identity, signature) as hex instead of `{ type: 'Buffer', data }`. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, v: unknown) {
      const raw = this[key]
      return raw instanceof Uint8Array ? Buffer.from(raw).toString('hex') : v
    },
    indent,
  )
}

/** Writes `text`, waiting while `out` is full; a closed or failed `out` is `StdoutClosed`. */
export async function writeOut(out: Writable, text: string): Promise<void> {
  if (out.destroyed || out.writableEnded) throw new StdoutClosed(out.errored)
  if (out.write(text)) return
  await new Promise<void>((resolve, reject) => {
    const done = (err?: unknown): void => {
      out.off('drain', onDrain)
      out.off('close', onClose)
      out.off('error', onClose)
      if (err === undefined) resolve()
      else reject(new StdoutClosed(err))
    }
    const onDrain = (): void => done()
    const onClose = (err?: unknown): void => done(err ?? out.errored ?? 'closed')
    out.once('drain', onDrain)
    out.once('close', onClose)
    out.once('error', onClose)
  })
}

/** One JSON row per line until `rows` ends; stops early when `signal` aborts. */
export async function writeJsonLines(
  out: Writable,
  rows: Readable,
  signal?: AbortSignal,
  map: (row: unknown) => unknown = (row) => row,
): Promise<void> {
  const stop = (): void => {
    rows.destroy()
  }
  signal?.addEventListener('abort', stop, { once: true })
  try {
    for await (const row of rows) await writeOut(out, toJson(map(row)) + '\n')
  } catch (err) {
    if (!signal?.aborted) throw err
  } finally {
    signal?.removeEventListener('abort', stop)
  }
}
