// Two HyperKV stores sync over TCP: Bob listens, Alice connects, and each side awaits its
// stream's finished() — resolved once both sides hold everything the other had, rejected with a
// coded KappaError otherwise (no 'error' listener needed).
// Runnable as it is: node --import tsx examples/sync-tcp.ts
import { once } from 'node:events'
import net from 'node:net'
import { hyperkv } from 'kappadb'

const alice = hyperkv<string>('./sync-alice')
const bob = hyperkv<string>('./sync-bob')
await alice.put('greeting', 'hello from alice')
await bob.put('reply', 'hello from bob')

const bobSynced: Array<Promise<void>> = []
const server = net.createServer((socket) => {
  // A stream handed a socket runs over it, and ends and closes it when the replication is over.
  bobSynced.push(bob.log.replicate(socket).finished())
})
server.listen(0, '127.0.0.1')
await once(server, 'listening')
const { port } = server.address() as net.AddressInfo

await alice.log.replicate(net.connect(port, '127.0.0.1')).finished()
await Promise.all(bobSynced)
server.close()

console.log('bob reads', Object.values(await bob.get('greeting'))) // [ { value: 'hello from alice' } ]
console.log('alice reads', Object.values(await alice.get('reply'))) // [ { value: 'hello from bob' } ]
await Promise.all([alice.close(), bob.close()])
