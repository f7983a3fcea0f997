// The hyperkv README's put.js: `put KEY VALUE` prints the new node's hash.
// The store lives in /tmp/kv.db unless KV_DB names another directory.
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { hyperkv, hyperlog } from '../src/index.js'

const dir = process.env.KV_DB ?? '/tmp/kv.db'

const db = new ClassicLevel(join(dir, 'kv'))
const kv = hyperkv({
  log: hyperlog(join(dir, 'log'), { valueEncoding: 'json' }),
  db,
})

const key = process.argv[2]!
const value = process.argv[3]

void kv.put(key, value, function (err, node) {
  if (err) console.error(err)
  else console.log(node!.key)
  void close()
})

async function close() {
  await kv.close()
  await kv.log.close()
  await db.close()
}
