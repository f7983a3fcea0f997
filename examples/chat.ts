// A chat room for two. Each peer writes its messages to its own log; a listView orders everyone's
// messages by time; a live replication over TCP keeps the two rooms the same, and a watch shows
// each new message as it arrives.
// Runnable as it is: node --import tsx examples/chat.ts
import { once } from 'node:events'
import net from 'node:net'
import { MemoryLevel } from 'memory-level'
import { kappa, listView, type Entry } from 'kappadb'

interface Msg {
  author: string
  text: string
  time: number
}

/** A chat room kept in `dir`: its `messages` view lists every message by time. */
function openRoom(dir: string) {
  return kappa<Msg>(dir, { valueEncoding: 'json' }).use(
    'messages',
    listView(new MemoryLevel(), (entry) => entry.value.time),
  )
}

const alice = openRoom('./chat-alice')
const bob = openRoom('./chat-bob')
const aliceWriter = await alice.writer()
await aliceWriter.append({ author: 'alice', text: 'hi bob', time: Date.now() })
await (await bob.writer()).append({ author: 'bob', text: 'hi alice', time: Date.now() + 1 })

// Bob listens, Alice connects: each connection carries one live replication. 'caught-up': this
// side holds, and its view has indexed, everything the other had when they connected.
let bobCaughtUp: Promise<unknown> = Promise.resolve()
const server = net.createServer((socket) => {
  bobCaughtUp = once(bob.replicate(socket, { live: true }), 'caught-up')
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const { port } = server.address() as net.AddressInfo
const stream = alice.replicate(net.connect(port, '127.0.0.1'), { live: true })
await once(stream, 'caught-up')
await bobCaughtUp
for await (const entry of alice.api.messages.read()) {
  console.log(`${entry.value.author}: ${entry.value.text}`)
}

// From now on Bob sees each new message once his view has indexed it.
const watch = bob.api.messages.watch()
const arrived = new Promise<Entry<Msg>[]>((resolve) => watch.once('change', resolve))
await aliceWriter.append({ author: 'alice', text: 'are you there?', time: Date.now() + 2 })
const entries = await arrived
for (const entry of entries) console.log(`bob sees ${entry.value.author}: ${entry.value.text}`)

watch.close()
server.close()
await Promise.all([alice.close(), bob.close()]) // ends the live replication on both sides
