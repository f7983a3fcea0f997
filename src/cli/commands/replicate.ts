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
 *
 * Stopped by a signal before that, a non-live sync is interrupted (exit 130 or 143, never "done"):
 * what arrived is kept, and the next sync goes on from there.
 */
import type { Duplex, Writable } from 'node:stream'
import { replicationStats } from '../../feeds/index.js'
import type { Prepare } from '../context.js'
import { outputError } from '../errors.js'
import { describeMoved, plural, ProgressTicker, ReceivedNodes, type Direction } from '../progress.js'
import { holderStopped, interruptedExitCode, stopSignalOf } from '../stop.js'

export function prepareReplicate(mode: Direction): Prepare {
  return (inv) => {
    const live = inv.options.live === true
    return async (kv, ctx) => {
      const { io, signal } = ctx
      const name = `${mode} [${ctx.label}]`
      const nodes = new ReceivedNodes(kv)
      const stream: Duplex = kv.log.replicate({ mode, live })
      const disconnect = ctx.host.connect('stdio', 'stdio', stream)
      const moved = (final = false): string =>
        describeMoved(mode, replicationStats(stream), nodes.total, final)
      const total = (): string => `${plural(kv.log.changes, 'node')} in total`
      const ticker = new ProgressTicker(() => {
        const stats = replicationStats(stream)
        if (stats.blocksReceived + stats.blocksSent === 0) return null
        return `${name}: ${moved()}; ${total()}`
      }, ctx.progress)

      let failure: Error | null = null
      stream.on('error', (err: Error) => {
        failure ??= err
      })
      // The peer is our stdio: a pipe that breaks under us is the peer gone, one coded line —
      // unless the exchange is over (our side ended), and the peer simply left first.
      let ended = false
      stream.once('end', () => (ended = true))
      const onStdioError = (err: Error): void => {
        if (ended) return
        failure ??= outputError(err, true)
        stream.destroy()
      }
      io.stdout.on('error', onStdioError)
      io.stdin.on('error', onStdioError)
      const over = new Promise<void>((resolve) => {
        stream.once('end', resolve)
        stream.once('close', resolve)
      })
      const stop = (): void => {
        stream.destroy()
      }
      if (signal.aborted) stop()
      else signal.addEventListener('abort', stop, { once: true })
      io.stdin.pipe(stream).pipe(io.stdout)
      try {
        await over
        // A failure ends our side first and raises its error right after: let it land.
        await new Promise((resolve) => setImmediate(resolve))
        await flushed(io.stdout)
      } finally {
        ticker.stop()
        signal.removeEventListener('abort', stop)
        io.stdin.unpipe(stream)
        io.stdin.pause()
        stream.destroy()
        disconnect()
        io.stdin.off('error', onStdioError)
        io.stdout.off('error', onStdioError)
      }
      nodes.stop()
      if (signal.aborted) {
        const stopped = holderStopped(signal, ctx.dir)
        if (stopped) throw stopped
        if (!live) {
          ctx.warn(
            `${name} interrupted (${stopSignalOf(signal)}): ${moved()}; the database is intact, run it again to finish`,
          )
          return interruptedExitCode(signal)
        }
        // Stopped on purpose (Ctrl-C on a live replication) is a clean exit, whatever the stream says.
        ctx.progress(`${name} stopped: ${moved(true)}; ${total()}`)
        return 0
      }
      if (failure) throw failure
      // What arrived is in the register before we report (and before the store closes).
      await kv.ready()
      ctx.progress(`${name} ${live ? 'ended by the peer' : 'done'}: ${moved(true)}; ${total()}`)
      return 0
    }
  }
}

/** Resolves once what was written to `out` so far has been handed to the system (or `out` failed). */
function flushed(out: Writable): Promise<void> {
  if (out.writableEnded || out.destroyed) return Promise.resolve()
  return new Promise((resolve) => out.write('', () => resolve()))
}
