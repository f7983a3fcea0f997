// A small app on the installed kappadb tarball (test/package/consumer.test.ts builds and runs it):
// its own Hypercore, two stores syncing with a chat list view, a typed HyperKV, the command in
// process. Prints one JSON line of what it saw.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import Hypercore from 'hypercore'
import Corestore from 'corestore'
import { MemoryLevel } from 'memory-level'
import { hyperkv, kappa, listView, type Entry, type Kappa, type ListViewApi } from 'kappadb'
import { main } from 'kappadb/cli'

interface Msg {
  text: string
  time: number
}

type Chat = Kappa<Msg, { chat: ListViewApi<Msg> }>

const byTime = (entry: Entry<Msg>): number => entry.value.time

async function texts(core: Chat): Promise<string[]> {
  return (await core.api.chat.read().toArray()).map((entry) => entry.value.text)
}

const dir = await mkdtemp(join(tmpdir(), 'kappadb-app-'))
try {
  const own = new Hypercore(join(dir, 'own'), { valueEncoding: 'utf-8' })
  await own.ready()
  await own.append('written by the app itself')
  const ownLength = own.length

  const alice: Chat = kappa<Msg>(join(dir, 'alice'), { valueEncoding: 'json' }).use(
    'chat',
    listView(new MemoryLevel(), byTime),
  )
  const store = new Corestore(join(dir, 'bob'))
  const bob: Chat = kappa<Msg>(store, { valueEncoding: 'json' }).use(
    'chat',
    listView(new MemoryLevel(), byTime),
  )
  await (
    await alice.writer()
  ).append([
    { text: 'hi bob', time: 2 },
    { text: 'see you', time: 3 },
  ])
  await (await bob.writer()).append({ text: 'hi alice', time: 1 })
  const a = alice.replicate(true)
  const b = bob.replicate(false)
  a.pipe(b).pipe(a)
  await Promise.all([a.finished(), b.finished()])
  await Promise.all([alice.ready(), bob.ready()])
  const lists = [await texts(alice), await texts(bob)]

  const kv = hyperkv<{ n: number }>(join(dir, 'kv'))
  await kv.put('count', { n: 1 })
  const counts: number[] = []
  for await (const row of kv.createReadStream()) {
    for (const head of Object.values(row.values)) if ('value' in head) counts.push(head.value.n)
  }

  let help = ''
  const stdout = new PassThrough()
  stdout.on('data', (chunk: Buffer) => (help += chunk.toString()))
  const code = await main(['--help'], {
    stdin: new PassThrough(),
    stdout,
    stderr: new PassThrough(),
    env: {},
  })

  await Promise.all([alice.close(), bob.close(), kv.close(), own.close()])
  await store.close()
  console.log(JSON.stringify({ own: ownLength, lists, counts, help: code === 0 && help.includes('hyperkv') }))
} finally {
  await rm(dir, { recursive: true, force: true })
}
