/** Writing to stdout with backpressure: JSON lines from an object stream, or single values. */
import { once } from 'node:events'
import type { Readable, Writable } from 'node:stream'

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

export async function writeOut(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain')
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
