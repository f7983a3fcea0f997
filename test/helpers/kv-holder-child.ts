// A process that holds a directory as a library user would (no hyperkv command, no local socket):
// opens hyperkv(DIR), prints "ready", and closes the store when stdin ends.
import { hyperkv } from '../../src/index.js'

const kv = hyperkv(process.argv[2]!)
await kv.ready()
process.stdout.write('ready\n')
process.stdin.resume()
process.stdin.once('end', () => void kv.close())
