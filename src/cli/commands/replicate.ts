/**
 * `push | pull | sync [--live]`: the hyperlog replication protocol over stdin/stdout. Two processes
 * cross-connected (a's stdout to b's stdin and back) settle their roles themselves; nothing but
 * the protocol goes to stdout.
 *
 * When is it over? Ending our stdout does not give the peer an end-of-file (a pipe only reports
 * EOF once the writing process exits or closes it), so neither side can wait for the other's EOF.
 * Instead, the protocol itself ends our outgoing stream once both sides said "done" (or once it
 * failed, in which case an error follows at once): when our side of the stream has ended without
 * an error, everything was exchanged, and exiting gives the peer its EOF.
 */
import type { Duplex, Writable } from 'node:stream'
import type { Prepare } from '../context.js'
import { ReceivedCounter } from '../progress.js'

export type Mode = 'push' | 'pull' | 'sync'

export function prepareReplicate(mode: Mode): Prepare {
  return (inv) => {
    const live = inv.options.live === true
    return async (kv, { io, signal, progress }) => {
      // Live: a line whenever nodes arrive. Not live: one summary line at the end.
      const counter = new ReceivedCounter(kv, live ? progress : () => {})
      const stream: Duplex = kv.log.replicate({ mode, live })
      let failure: Error | null = null
      stream.on('error', (err: Error) => {
        failure ??= err
      })
      const over = new Promise<void>((resolve) => {
        stream.once('end', resolve)
        stream.once('close', resolve)
      })
      const stop = (): void => {
        stream.destroy()
      }
      signal.addEventListener('abort', stop, { once: true })
      io.stdin.pipe(stream).pipe(io.stdout)
      try {
        await over
        // A failure ends our side first and raises its error right after: let it land.
        await new Promise((resolve) => setImmediate(resolve))
        await flushed(io.stdout)
      } finally {
        signal.removeEventListener('abort', stop)
        io.stdin.unpipe(stream)
        io.stdin.pause()
        stream.destroy()
      }
      // Stopped on purpose (Ctrl-C on a live replication) is a clean exit, whatever the stream says.
      if (failure && !signal.aborted) {
        counter.stop()
        throw failure
      }
      // What arrived is in the register before we report (and before the store closes).
      await kv.ready()
      counter.stop()
      const n = counter.total
      if (!live) progress(`${mode} done: ${n} new ${n === 1 ? 'node' : 'nodes'} (${kv.log.changes} in total)`)
    }
  }
}

/** Resolves once what was written to `out` so far has been handed to the system. */
function flushed(out: Writable): Promise<void> {
  if (out.writableEnded || out.destroyed) return Promise.resolve()
  return new Promise((resolve) => out.write('', () => resolve()))
}
