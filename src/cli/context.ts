/** What a command runs with, and the shape every command has. */
import type { Readable, Writable } from 'node:stream'
import type { HyperKV } from '../kv/index.js'
import type { Invocation } from './args.js'
import type { Host } from './host.js'

export interface CliIO {
  stdin: Readable
  stdout: Writable
  stderr: Writable
  env: Readonly<Record<string, string | undefined>>
  /**
   * Aborting stops the command (bin.ts ties it to SIGINT/SIGTERM, with the signal's name as the
   * reason): a long-running one (`join`, `--live`) ends cleanly, a non-live sync is interrupted.
   */
  signal?: AbortSignal
}

export interface CommandContext {
  io: CliIO
  /** The data directory, for messages. */
  dir: string
  /** Names this side in progress lines: the directory as the user gave it. */
  label: string
  signal: AbortSignal
  /** A progress line on stderr (dropped with `-q`). */
  progress(line: string): void
  /** A line on stderr that `-q` keeps (warnings, an interruption). */
  warn(line: string): void
  /** The process that has DIR open: this one, or the holder serving this command. */
  host: Host
}

/** A command whose arguments checked out: it only needs the open store. Resolves with the exit code. */
export type Run = (kv: HyperKV, ctx: CommandContext) => Promise<number | void>

/** Checks the invocation (throwing UsageError, before anything is opened) and returns the work. */
export type Prepare = (inv: Invocation, env: CliIO['env']) => Run

/** A command that works on the data directory itself, without opening a store (`init`, `key`). */
export type RunOnDirectory = (dir: string, io: CliIO) => Promise<number | void>

/** Checks the invocation (throwing UsageError, before anything is touched) and returns the work. */
export type PrepareDirectory = (inv: Invocation, env: CliIO['env']) => RunOnDirectory
