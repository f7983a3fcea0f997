// Keep a directory syncing in the background with the `hyperkv` command, and use it from code
// meanwhile: while a `hyperkv` process holds the directory, every other command on it — also one
// run in process with `main` from kappadb/cli — runs through that process.
// In a project that installed kappadb (so `npx hyperkv` finds the command):
//   node --import tsx examples/background.ts
import { spawn } from 'node:child_process'
import { PassThrough } from 'node:stream'
import { main } from 'kappadb/cli'

const dir = process.env.KV_DB ?? './background-db'

/** Runs one `hyperkv` command on `dir` in this process; resolves with what it printed. */
async function hyperkv(...args: string[]): Promise<string> {
  const stdout = new PassThrough()
  let out = ''
  stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
  const code = await main(['-d', dir, ...args], {
    stdin: new PassThrough(),
    stdout,
    stderr: process.stderr,
    env: process.env,
  })
  if (code !== 0) throw new Error(`hyperkv ${args.join(' ')} exited with ${code}`)
  return out.trim()
}

interface Status {
  holder: { pid: number; command: string } | null
}

// The long-running peer: joins the topic and replicates with everyone on it until stopped.
const holder = spawn('npx', ['hyperkv', '-d', dir, 'join', 'kappadb-example-room'], { stdio: 'inherit' })
while (!(JSON.parse(await hyperkv('status', '--json')) as Status).holder) {
  await new Promise((resolve) => setTimeout(resolve, 200))
}

console.log('put:', await hyperkv('put', 'todo', 'buy milk')) // written by the holder, sent to its peers
console.log('get:', await hyperkv('get', 'todo'))
holder.kill('SIGINT') // leaves the topic cleanly
