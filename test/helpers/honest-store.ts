/**
 * An honest Multifeed in its own process, for the hostile-peer tests (test/helpers/honest-process.ts
 * starts it). It serves replication on 127.0.0.1 to every connection and answers commands over the
 * IPC channel; it never writes to stdout, so a test can assert that nothing (no layer, no
 * dependency) did. Configured by one JSON argument:
 *
 *   { dir, maxFeeds?, coreIdleTime?, replicate?: { live?, timeout?, liveTimeout? }, entries?: unknown[] }
 *
 * It listens twice: `port` replicates with `config.replicate`, `plainPort` with the defaults (for
 * the honest syncs a test runs beside an attack on a live server).
 * Reports (IPC): { event: 'listening', port, plainPort }, { event: 'error', code, feed? } for the store's
 * 'error' events, { event: 'stream', code } when a served stream closes ('END' for a clean end).
 * Commands (IPC, answered with { reply: id, ... }): status, ping, read, close.
 */
import net from 'node:net'
import { isKappaError } from '../../src/errors.js'
import type { HypercoreFeed } from '../../src/feeds/feed.js'
import { Multifeed } from '../../src/feeds/multifeed.js'
import type { ReplicateOptions } from '../../src/feeds/types.js'

interface Config {
  dir: string
  maxFeeds?: number
  coreIdleTime?: number
  replicate?: ReplicateOptions
  entries?: unknown[]
}

type Command =
  | { id: number; cmd: 'status' }
  | { id: number; cmd: 'ping' }
  | { id: number; cmd: 'read'; feed: string }
  | { id: number; cmd: 'close' }

const config = JSON.parse(process.argv[2]!) as Config
const send = (message: object) => process.send!(message)
const codeOf = (err: Error | null) => (err === null ? 'END' : isKappaError(err) ? err.code : 'UNCODED')

// The peak resident set size while it runs, sampled (the attacks under test allocate in bursts).
let peakRss = process.memoryUsage.rss()
setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage.rss())), 20).unref()

const m = new Multifeed<unknown>(config.dir, { maxFeeds: config.maxFeeds, coreIdleTime: config.coreIdleTime })
m.on('error', (err) => {
  const feed = (err as { feed?: string }).feed
  send({ event: 'error', code: isKappaError(err) ? err.code : 'UNCODED', feed, message: err.message })
})
const writer = await m.writer()
if (config.entries?.length) await writer.append(config.entries)

const sockets = new Set<net.Socket>()
function track(socket: net.Socket): void {
  sockets.add(socket)
  socket.on('error', () => undefined)
  socket.once('close', () => sockets.delete(socket))
}

/** Replicates over `socket`; resolves with how the stream ended. */
function replicate(socket: net.Socket, opts: ReplicateOptions): Promise<{ code: string; message?: string }> {
  const stream = m.replicate(socket, opts)
  let error: Error | null = null
  stream.on('error', (err: Error) => (error ??= err))
  return new Promise((resolve) =>
    stream.once('close', () => resolve({ code: codeOf(error), message: (error as Error | null)?.message })),
  )
}

function serve(opts: ReplicateOptions): Promise<net.Server> {
  const server = net.createServer((socket) => {
    track(socket)
    void replicate(socket, opts).then((outcome) => send({ event: 'stream', ...outcome }))
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)))
}
const servers = [await serve(config.replicate ?? {}), await serve({})]
const [port, plainPort] = servers.map((server) => (server.address() as net.AddressInfo).port)
send({ event: 'listening', port, plainPort })

async function status() {
  global.gc?.()
  const memory = process.memoryUsage()
  return {
    feeds: m.feeds().map((feed) => ({
      id: feed.id,
      length: feed.length,
      writable: feed.writable,
      coreOpen: (feed as HypercoreFeed<unknown>).coreOpen,
    })),
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    peakRss,
    sockets: sockets.size,
  }
}

async function run(command: Command): Promise<object> {
  switch (command.cmd) {
    case 'ping':
      return {}
    case 'status':
      return status()
    case 'read': {
      const feed = m.feed(command.feed)
      if (!feed) return { values: null }
      return { values: await feed.getBatch(0, feed.length) }
    }
    case 'close':
      for (const server of servers) server.close()
      await m.close()
      return { sockets: sockets.size }
  }
}

process.on('message', (command: Command) => {
  run(command).then(
    (result) => {
      send({ reply: command.id, ...result })
      if (command.cmd === 'close') process.disconnect()
    },
    (err: Error) => send({ reply: command.id, error: codeOf(err), message: err.message }),
  )
})
