/**
 * `push | pull | sync [--live]`: the hyperlog replication protocol over stdin/stdout. Two processes
 * cross-connected (a's stdout to b's stdin and back) settle their roles themselves; nothing but
 * the protocol goes to stdout. Not live, both exit 0 once each holds what it asked for.
 */
import { finished } from 'node:stream/promises'
import type { Duplex } from 'node:stream'
import type { Prepare } from '../context.js'
import { ReceivedCounter } from '../progress.js'

export type Mode = 'push' | 'pull' | 'sync'

export function prepareReplicate(mode: Mode): Prepare {
  return (inv) => {
    const live = inv.options.live === true
    return async (kv, { io, signal, progress }) => {
      const counter = new ReceivedCounter(kv, progress)
      const stream: Duplex = kv.log.replicate(undefined, { mode, live })
      const stop = (): void => {
        stream.destroy()
      }
      signal.addEventListener('abort', stop, { once: true })
      io.stdin.pipe(stream).pipe(io.stdout)
      try {
        await finished(stream)
      } catch (err) {
        // Stopped on purpose (Ctrl-C on a live replication): a clean exit.
        if (!signal.aborted) throw err
      } finally {
        signal.removeEventListener('abort', stop)
        io.stdin.unpipe(stream)
        io.stdin.pause()
        counter.stop()
      }
      if (!live)
        progress(`${mode} done: received ${counter.total} entries (${kv.log.changes} nodes in total)`)
    }
  }
}
