// Keep a HyperKV in sync with every peer on a Hyperswarm topic, live, and print what changes.
// Run one per terminal (each with its own directory), on the public DHT or a local testnet
// ($HYPERKV_BOOTSTRAP, see the README's "Environment"):
//   KV_DB=./swarm-a node --import tsx examples/swarm.ts my-room
//   KV_DB=./swarm-b node --import tsx examples/swarm.ts my-room
import { hyperkv, isKappaError, join } from 'kappadb'

const kv = hyperkv<string>(process.env.KV_DB ?? './swarm-db')
const swarm = join(process.argv[2] ?? 'kappadb-example-room', {
  replicate: (socket, peer) => {
    const name = peer.id.slice(0, 8)
    const stream = kv.log.replicate(socket, { live: true })
    // Once per connection: we hold, and have indexed, everything the peer had when it connected.
    stream.once('caught-up', () => console.log(`caught up with ${name}`))
    // Resolves when the peer leaves cleanly; rejects with the code of what went wrong.
    stream.finished().then(
      () => console.log(`${name} left`),
      (err: unknown) => console.log(`${name} failed:`, isKappaError(err) ? err.code : err),
    )
    return stream
  },
})
swarm.on('connection', (peer) => console.log(`connected to ${peer.id.slice(0, 8)}`))
kv.on('update', (key, value) => console.log(`${key} = ${value}`))

await kv.put(`hello-${process.pid}`, `written by process ${process.pid}`)
console.log('joined; Ctrl-C to leave')
process.once('SIGINT', () => {
  void swarm.leave().then(() => kv.close())
})
