/**
 * Driving the `hyperkv` command in tests: as a real child process (`node --import tsx bin.ts`), or
 * in process through `main(argv, io)` with in-memory stdio.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Transform } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { main } from '../../src/cli/main.js'
import { until } from './until.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = join(ROOT, 'src/cli/bin.ts')

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface CliOptions {
  /** Extra environment (HOME and HYPERKV_* are cleared unless given here). */
  env?: Record<string, string>
  /** Written to stdin, which is then ended. */
  input?: string
  /** Killed (SIGKILL) after this many ms: a stalled command fails the test instead of hanging it. */
  timeout?: number
}

/** A child `hyperkv` process with its output collected as it comes. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams
  stdout = ''
  stderr = ''
  private readonly exited: Promise<CliResult>

  constructor(args: readonly string[], opts: CliOptions = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
      cwd: ROOT,
      env: cliEnv(opts.env),
    })
    this.child.stderr.setEncoding('utf-8')
    this.child.stderr.on('data', (s: string) => (this.stderr += s))
    this.exited = once(this.child, 'close').then(([code, signal]) => ({
      code: code as number | null,
      signal: signal as NodeJS.Signals | null,
      stdout: this.stdout,
      stderr: this.stderr,
    }))
  }

  /** Collect stdout as text (not for processes whose stdout is piped elsewhere). */
  collectStdout(): this {
    this.child.stdout.setEncoding('utf-8')
    this.child.stdout.on('data', (s: string) => (this.stdout += s))
    return this
  }

  /** Resolves once stderr matches `pattern` (rejects if the process exits first or after `ms`). */
  async waitForStderr(pattern: RegExp, ms = 20000): Promise<RegExpMatchArray> {
    return this.waitFor(() => pattern.exec(this.stderr), `stderr to match ${pattern}`, ms)
  }

  async waitForStdout(pattern: RegExp, ms = 20000): Promise<RegExpMatchArray> {
    return this.waitFor(() => pattern.exec(this.stdout), `stdout to match ${pattern}`, ms)
  }

  exit(): Promise<CliResult> {
    return this.exited
  }

  /** SIGTERM, then the exit result. */
  stop(): Promise<CliResult> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM')
    return this.exited
  }

  private async waitFor<T>(check: () => T | null, what: string, ms: number): Promise<T> {
    return until(
      () => {
        const result = check()
        if (result) return result
        if (this.child.exitCode !== null || this.child.signalCode !== null) {
          throw new Error(`process exited (${this.child.exitCode}) before ${what}; stderr: ${this.stderr}`)
        }
        return null
      },
      () => `${what}; stderr: ${this.stderr}`,
      { ms, interval: 25 },
    ) as Promise<T>
  }
}

function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env }
  delete env.HYPERKV_DIR
  delete env.HYPERKV_BOOTSTRAP
  return { ...env, ...extra }
}

/** Runs `hyperkv ARGS` to completion in a child process. */
export async function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  const p = new CliProcess(args, opts).collectStdout()
  if (opts.input !== undefined) p.child.stdin.end(opts.input)
  else p.child.stdin.end()
  const timer = opts.timeout === undefined ? null : setTimeout(() => p.child.kill('SIGKILL'), opts.timeout)
  try {
    return await p.exit()
  } finally {
    if (timer) clearTimeout(timer)
  }
}

/**
 * `hyperkv -q sync` in DIRs `a` and `b`, cross-connected, to both exits; both are killed after `ms`
 * (a stalled sync fails the test instead of hanging it).
 */
export async function syncDirs(a: string, b: string, ms = 60_000): Promise<[CliResult, CliResult]> {
  const pa = new CliProcess(['-d', a, '-q', 'sync'])
  const pb = new CliProcess(['-d', b, '-q', 'sync'])
  crossConnect(pa, pb)
  const timer = setTimeout(() => {
    for (const p of [pa, pb]) p.child.kill('SIGKILL')
  }, ms)
  try {
    return await Promise.all([pa.exit(), pb.exit()])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * a's stdout → b's stdin and b's stdout → a's stdin, as `dupsh` or a pair of fifos would.
 * `bytesPerSecond` slows a → b down to that rate (a slow link: a sync then lasts long enough to
 * be stopped in the middle, however fast the machine). A process that dies leaves the other's
 * pipe broken, as it would between real processes: never an error in the test.
 */
export function crossConnect(a: CliProcess, b: CliProcess, opts: { bytesPerSecond?: number } = {}): void {
  for (const p of [a, b]) p.child.stdin.on('error', () => undefined)
  const rate = opts.bytesPerSecond
  if (rate === undefined) a.child.stdout.pipe(b.child.stdin)
  else a.child.stdout.pipe(throttle(rate)).pipe(b.child.stdin)
  b.child.stdout.pipe(a.child.stdin)
  // Once a process is gone, what the other still writes to it is read and dropped here: a pipe
  // left paused would never report its end, and its process never its close.
  const drainInto = (dead: CliProcess, writer: CliProcess): void => {
    dead.child.once('exit', () => {
      writer.child.stdout.unpipe()
      writer.child.stdout.resume()
    })
  }
  drainInto(b, a)
  drainInto(a, b)
}

function throttle(bytesPerSecond: number): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      // In slices, so one large chunk is spread out too.
      const slice = Math.max(1, Math.floor(bytesPerSecond / 20))
      let at = 0
      const next = (): void => {
        if (at >= chunk.byteLength) return done()
        const part = chunk.subarray(at, at + slice)
        at += part.byteLength
        this.push(part)
        setTimeout(next, (part.byteLength / bytesPerSecond) * 1000)
      }
      next()
    },
  })
}

/** Runs `main(argv, io)` in this process with in-memory stdio. */
export async function runMain(
  args: readonly string[],
  opts: {
    env?: Record<string, string | undefined>
    input?: string
    signal?: AbortSignal
    /** Make stdin or stdout claim to be a terminal. */
    tty?: 'stdin' | 'stdout'
  } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  if (opts.tty) Object.assign(opts.tty === 'stdin' ? stdin : stdout, { isTTY: true })
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.setEncoding('utf-8').on('data', (s: string) => (out += s))
  stderr.setEncoding('utf-8').on('data', (s: string) => (err += s))
  stdin.end(opts.input ?? '')
  const code = await main(args, {
    stdin,
    stdout,
    stderr,
    env: opts.env ?? {},
    ...(opts.signal ? { signal: opts.signal } : {}),
  })
  return { code, stdout: out, stderr: err }
}

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'kappadb-cli-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/** The one-line error format: `hyperkv: CODE: message`. Returns CODE. */
export function errorCode(stderr: string): string | undefined {
  const lines = stderr.split('\n').filter((l) => l !== '')
  if (lines.length !== 1) return undefined
  return /^hyperkv: (ERR_[A-Z_]+): \S.*$/.exec(lines[0] as string)?.[1]
}
