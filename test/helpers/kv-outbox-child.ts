/**
 * Child process of test/kv/outbox-crash.test.ts: opens a HyperKV in argv[2], prints `ready`, then
 * does awaited un-linked puts for ever, printing one JSON line per acknowledged put, until the
 * parent kills it with SIGKILL. Acknowledged puts are indexed but reach the feed only when the
 * outbox flushes (a few ms later), so most kill points fall between the two.
 */
import { HyperKV } from '../../src/kv/index.js'

const [dir = '', startArg = '0'] = process.argv.slice(2)
const kv = new HyperKV(dir)
await kv.ready()
process.stdout.write(JSON.stringify({ event: 'ready' }) + '\n')
for (let i = Number(startArg); ; i++) {
  const key = `k${i % 7}`
  const node = await kv.put(key, i)
  process.stdout.write(JSON.stringify({ key, value: i, hash: node.key }) + '\n')
}
