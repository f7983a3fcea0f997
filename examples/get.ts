// The hyperkv README's get.js: `get KEY` prints every current value of KEY by node hash.
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
void kv.get(key, function (err, values) {
  if (err) console.error(err)
  else console.log(values)
  void close()
})

async function close() {
  await kv.close()
  await kv.log.close()
  await db.close()
}
