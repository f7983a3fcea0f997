/** Runs test/helpers/feeds-peer.ts in a child process and reads its JSON lines. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'

const PEER = fileURLToPath(new URL('./feeds-peer.ts', import.meta.url))

export interface PeerProcess {
  child: ChildProcessWithoutNullStreams
  /** The next reported line with this event (lines already seen are kept for later calls). */
  next(event: string): Promise<Record<string, any>>
  exited: Promise<number | null>
}

export function startPeer(t: TestContext, config: object): PeerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', PEER, JSON.stringify(config)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  t.after(() => {
    if (child.exitCode === null) child.kill('SIGKILL')
  })
  const lines: Array<Record<string, any>> = []
  const waiters: Array<() => void> = []
  let buffered = ''
  let stderr = ''
  child.stderr.setEncoding('utf-8').on('data', (d: string) => (stderr += d))
  child.stdout.setEncoding('utf-8').on('data', (data: string) => {
    buffered += data
    let nl: number
    while ((nl = buffered.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buffered.slice(0, nl)) as Record<string, any>)
      buffered = buffered.slice(nl + 1)
    }
    for (const wake of waiters.splice(0)) wake()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => {
    for (const wake of waiters.splice(0)) wake()
  })
  return {
    child,
    exited,
    async next(event) {
      for (;;) {
        const i = lines.findIndex((line) => line.event === event)
        if (i >= 0) return lines.splice(i, 1)[0]
        if (child.exitCode !== null)
          throw new Error(`peer exited (${child.exitCode}) before '${event}': ${stderr}`)
        await new Promise<void>((resolve) => waiters.push(resolve))
      }
    },
  }
}
