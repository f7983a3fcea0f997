/**
 * A Multifeed peer in its own process, for the feeds tests (real TCP on 127.0.0.1). Configured by
 * one JSON argument; reports JSON lines on stdout.
 *
 *   { dir, key?, tag, entries, mode: 'listen' | 'connect' | 'serve', port? }
 *
 * - listen / connect: write `entries` values `<tag>-<i>` to the writer, replicate once (no
 *   initiator flag: the roles are negotiated) over one TCP connection, then print
 *   { event: 'synced', feeds: [{ id, length, values }] } or { event: 'error', code } and exit.
 * - serve: accept connections until stdin says "close"; report every stream's error code as
 *   { event: 'stream-error', code } and every clean end as { event: 'stream-end' }.
 */
import net from 'node:net'
import { Multifeed } from '../../src/feeds/multifeed.js'

interface PeerConfig {
  dir: string
  key?: string
  tag: string
  entries: number
  mode: 'listen' | 'connect' | 'serve'
  port?: number
}

const config = JSON.parse(process.argv[2]) as PeerConfig
const report = (line: object) => process.stdout.write(JSON.stringify(line) + '\n')

const m = new Multifeed<string>(config.dir, config.key ? { key: config.key } : {})
const writer = await m.writer()
if (config.entries > 0) {
  await writer.append(Array.from({ length: config.entries }, (_, i) => `${config.tag}-${i}`))
}

async function summary() {
  return Promise.all(
    m.feeds().map(async (feed) => ({
      id: feed.id,
      length: feed.length,
      values: await feed.getBatch(0, feed.length),
    })),
  )
}

function replicateOnce(socket: net.Socket): void {
  const stream = m.replicate(socket)
  let error: (Error & { code?: string }) | null = null
  stream.on('error', (err: Error & { code?: string }) => (error ??= err))
  stream.on('close', () => {
    void (async () => {
      if (error) report({ event: 'error', code: error.code ?? 'NONE' })
      else report({ event: 'synced', feeds: await summary() })
      await m.close()
      process.exit(0)
    })()
  })
}

if (config.mode === 'listen') {
  const server = net.createServer((socket) => {
    server.close()
    replicateOnce(socket)
  })
  server.listen(0, '127.0.0.1', () =>
    report({ event: 'listening', port: (server.address() as net.AddressInfo).port }),
  )
} else if (config.mode === 'connect') {
  const socket = net.connect(config.port!, '127.0.0.1')
  socket.setNoDelay(true)
  replicateOnce(socket)
} else {
  const server = net.createServer((socket) => {
    const stream = m.replicate(socket)
    let error: (Error & { code?: string }) | null = null
    stream.on('error', (err: Error & { code?: string }) => (error ??= err))
    stream.on('close', () =>
      report(error ? { event: 'stream-error', code: error.code ?? 'NONE' } : { event: 'stream-end' }),
    )
  })
  server.listen(0, '127.0.0.1', () =>
    report({ event: 'listening', port: (server.address() as net.AddressInfo).port }),
  )
  process.stdin.setEncoding('utf-8')
  process.stdin.on('data', (data: string) => {
    if (!data.includes('close')) return
    server.close()
    void m.close().then(() => {
      report({ event: 'closed' })
      process.exit(0)
    })
  })
}
