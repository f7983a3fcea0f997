/** Two connected TCP sockets on 127.0.0.1 (no Nagle delay), for replication over a real socket. */
import net from 'node:net'

export async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  const accepted = new Promise<net.Socket>((resolve) => server.once('connection', resolve))
  const client = net.connect(port, '127.0.0.1')
  const [socket] = await Promise.all([
    accepted,
    new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject)),
  ])
  server.close()
  for (const s of [socket, client]) s.setNoDelay(true)
  return [socket, client]
}
