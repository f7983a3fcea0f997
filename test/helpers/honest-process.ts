/**
 * Starts test/helpers/honest-store.ts — an honest Multifeed serving replication — in a child
 * process, so a hang or a memory blow-up an attack causes is caught by a deadline and an RSS bound
 * instead of stalling the test runner. Everything the child writes to stdout is kept: the tests
 * assert it stays empty. `HONEST_STDERR=1` passes its stderr through (for debugging).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'
import type { ReplicateOptions } from '../../src/feeds/types.js'
import { deadline } from './until.js'

const STORE = fileURLToPath(new URL('./honest-store.ts', import.meta.url))

export interface HonestConfig {
  dir: string
  maxFeeds?: number
  /** The Multifeed's `coreIdleTime` (ms). */
  coreIdleTime?: number
  replicate?: Omit<ReplicateOptions, 'beforeDone' | 'beforeHello'>
  entries?: unknown[]
}

export interface FeedStatus {
  id: string
  length: number
  writable: boolean
  /** Whether the feed's core is open now (feeds are lazy: idle cores close). */
  coreOpen: boolean
}

export interface Status {
  feeds: FeedStatus[]
  rss: number
  heapUsed: number
  peakRss: number
  /** Sockets of served connections still open. */
  sockets: number
}

export interface Report {
  event: string
  code?: string
  feed?: string
  message?: string
  port?: number
  plainPort?: number
}

export interface HonestProcess {
  child: ChildProcess
  /** Replicates with the config's options. */
  port: number
  /** Replicates with the defaults (not live). */
  plainPort: number
  /** Everything the child wrote to stdout. */
  readonly stdout: string
  /** Everything it wrote to stderr. */
  readonly stderr: string
  /** Reports of this event so far (also those already awaited). */
  reports(event: string): Report[]
  /** The next report of this event not yet taken, within `ms`. */
  next(event: string, ms?: number): Promise<Report>
  /** Runs a command in the child; fails when no answer comes within `ms` (a blocked event loop). */
  command<R = Record<string, unknown>>(cmd: string, args?: object, ms?: number): Promise<R>
  status(ms?: number): Promise<Status>
  /** Closes the store and waits for the process to exit; resolves with its exit code. */
  close(): Promise<number | null>
}

export async function startHonest(t: TestContext, config: HonestConfig): Promise<HonestProcess> {
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', STORE, JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  let stderr = ''
  child.stdout!.setEncoding('utf-8').on('data', (d: string) => (stdout += d))
  child.stderr!.setEncoding('utf-8').on('data', (d: string) => (stderr += d))
  if (process.env.HONEST_STDERR) child.stderr!.on('data', (d: string) => process.stderr.write(d))
  const all: Report[] = []
  const taken = new Set<Report>()
  const replies = new Map<number, (reply: Record<string, unknown>) => void>()
  const wakers = new Set<() => void>()
  child.on('message', (message: Record<string, unknown>) => {
    if (typeof message.reply === 'number') {
      replies.get(message.reply)?.(message)
      replies.delete(message.reply)
      return
    }
    all.push(message as unknown as Report)
    for (const wake of wakers) wake()
  })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  void exited.then(() => {
    for (const wake of wakers) wake()
  })
  let nextId = 0

  const next = async (event: string, ms = 30_000): Promise<Report> => {
    const found = (): Report | undefined => all.find((r) => r.event === event && !taken.has(r))
    const wait = async () => {
      for (;;) {
        const report = found()
        if (report) {
          taken.add(report)
          return report
        }
        if (child.exitCode !== null) throw new Error(`honest store exited before '${event}': ${stderr}`)
        await new Promise<void>((resolve) => {
          const wake = () => {
            wakers.delete(wake)
            resolve()
          }
          wakers.add(wake)
        })
      }
    }
    return deadline(wait(), ms, `the honest store reporting '${event}'`)
  }

  const command = <R>(cmd: string, args: object = {}, ms = 10_000): Promise<R> => {
    const id = nextId++
    const answer = new Promise<R>((resolve, reject) => {
      replies.set(id, (reply) => {
        if (typeof reply.error === 'string') reject(Object.assign(new Error(String(reply.message)), reply))
        else resolve(reply as R)
      })
      child.send({ id, cmd, ...args })
    })
    return deadline(answer, ms, `the honest store answering '${cmd}'`)
  }

  const { port, plainPort } = await next('listening', 20_000)
  return {
    child,
    port: port!,
    plainPort: plainPort!,
    get stdout() {
      return stdout
    },
    get stderr() {
      return stderr
    },
    reports: (event) => all.filter((r) => r.event === event),
    next,
    command,
    status: (ms) => command<Status>('status', {}, ms),
    async close() {
      await command('close')
      return deadline(exited, 10_000, 'the honest store exiting')
    },
  }
}
