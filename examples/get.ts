// The hyperkv README's get.js: `get KEY` prints every current value of KEY by node hash.
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
void kv.get(key, function (err, values) {
  if (err) console.error(err)
  else console.log(values)
  void close()
})

async function close() {
  await kv.close()
  await log.close()
}
