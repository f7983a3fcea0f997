/** Writing to stdout with backpressure: JSON lines from an object stream, or single values. */
import { once } from 'node:events'
import type { Readable, Writable } from 'node:stream'

export async function writeOut(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain')
}

/** One `JSON.stringify(row)` per line until `rows` ends; stops early when `signal` aborts. */
export async function writeJsonLines(out: Writable, rows: Readable, signal?: AbortSignal): Promise<void> {
  const stop = (): void => {
    rows.destroy()
  }
  signal?.addEventListener('abort', stop, { once: true })
  try {
    for await (const row of rows) await writeOut(out, JSON.stringify(row) + '\n')
  } catch (err) {
    if (!signal?.aborted) throw err
  } finally {
    signal?.removeEventListener('abort', stop)
  }
}
