// The hyperkv README's put.js: `put KEY VALUE` prints the new node's hash.
// The store lives in /tmp/kv.db unless KV_DB names another directory. It is laid out as the
// `hyperkv` command lays out its directory (the log's feeds in DIR/logs, its index in DIR/index,
// the register in the index's sublevel `kv`), so `hyperkv -d DIR get KEY` reads what this wrote.
import { hyperkv, hyperlog } from 'kappadb'

const dir = process.env.KV_DB ?? '/tmp/kv.db'

const log = hyperlog(dir, { valueEncoding: 'json' })
const kv = hyperkv({
  log,
  db: log.db.sublevel('kv'),
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
  await log.close()
}
