/** What a command runs with, and the shape every command has. */
import type { Readable, Writable } from 'node:stream'
import type { HyperKV } from '../kv/index.js'
import type { Invocation } from './args.js'

export interface CliIO {
  stdin: Readable
  stdout: Writable
  stderr: Writable
  env: Readonly<Record<string, string | undefined>>
  /** Aborting stops a long-running command (`join`, `--live`) cleanly; bin.ts ties it to SIGINT/SIGTERM. */
  signal?: AbortSignal
}

export interface CommandContext {
  io: CliIO
  dir: string
  signal: AbortSignal
  /** A progress line on stderr (dropped with `-q`). */
  progress(line: string): void
}

/** A command whose arguments checked out: it only needs the open store. */
export type Run = (kv: HyperKV, ctx: CommandContext) => Promise<void>

/** Checks the invocation (throwing UsageError, before anything is opened) and returns the work. */
export type Prepare = (inv: Invocation, env: CliIO['env']) => Run
