/**
 * The `hyperkv` command: `main(argv, io)` resolves with the exit code, so tests drive it in process
 * as well as through bin.ts in a child process. The command line is checked completely before the
 * data directory is touched; every failure is one line on stderr.
 *
 * Where a command runs: when another `hyperkv` process holds DIR (a `join`, a sync, `list
 * --live`), the command runs in that process, through the local socket in DIR, with the same
 * output and exit code. Otherwise this process opens DIR itself, and while a long-running command
 * runs here, it serves the other commands on DIR the same way (docs/DESIGN.md, the holder).
 */
import {
  parseInvocation,
  traitsOf,
  isCommand,
  type CommandName,
  type CommandTraits,
  type Invocation,
} from './args.js'
import type { CliIO, CommandContext, Prepare, PrepareDirectory, Run, RunOnDirectory } from './context.js'
import { describeFailure, EXIT_OK, EXIT_USAGE, formatFailure, isLockError, UsageError } from './errors.js'
import { dataDirectory } from './data-dir.js'
import { COMMAND_HELP, USAGE } from './usage.js'
import { prepareDel, preparePut } from './commands/write.js'
import { prepareGet, prepareHistory, prepareList } from './commands/read.js'
import { prepareReplicate } from './commands/replicate.js'
import { prepareJoin } from './commands/join.js'
import { prepareStatus } from './commands/status.js'
import { prepareFeeds, prepareInit, prepareKey } from './commands/database.js'
import { prepareMembers, prepareWhoami } from './commands/members.js'
import { prepareBlock, prepareUnblock } from './commands/block.js'
import { packageVersion } from './version.js'
import { KappaError } from '../errors.js'
import type { HyperKV } from '../kv/index.js'
import { Host } from './host.js'
import type { LocalServer, RunRequest } from './holder/server.js'
import { messageOf } from '../util/errors.js'

export type { CliIO } from './context.js'
export { USAGE } from './usage.js'

/** Commands on the directory itself: never through a holder, never on an opened store. */
type DirectoryCommand = 'init' | 'key'
type StoreCommand = Exclude<CommandName, 'help' | DirectoryCommand>

const ON_DIRECTORY: Record<DirectoryCommand, PrepareDirectory> = {
  init: prepareInit,
  key: prepareKey,
}

function isDirectoryCommand(command: CommandName): command is DirectoryCommand {
  return Object.hasOwn(ON_DIRECTORY, command)
}

const PREPARE: Record<StoreCommand, Prepare> = {
  put: preparePut,
  get: prepareGet,
  del: prepareDel,
  list: prepareList,
  history: prepareHistory,
  push: prepareReplicate('push'),
  pull: prepareReplicate('pull'),
  sync: prepareReplicate('sync'),
  join: prepareJoin,
  status: prepareStatus,
  feeds: prepareFeeds,
  whoami: prepareWhoami,
  members: prepareMembers,
  block: prepareBlock,
  unblock: prepareUnblock,
}

/** While DIR is locked and no holder answers on its socket, keep trying this long (a holder starting). */
const LOCKED_WAIT = 2000
/** While DIR's holder says it is stopping, keep trying this long (it releases DIR when done). */
const STOPPING_WAIT = 30_000
const RETRY_INTERVAL = 100

/** A command whose line checked out, ready to run on a store. */
interface Prepared {
  inv: Invocation & { command: StoreCommand }
  run: Run
  traits: CommandTraits
}

/** A directory command whose line checked out. */
interface PreparedDirectory {
  runOnDirectory: RunOnDirectory
  inv: Invocation
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let dir: string | undefined
  try {
    const prepared = prepare(argv, io)
    if (typeof prepared === 'number') return prepared
    dir = dataDirectory(prepared.inv.dir, io.env)
    if ('runOnDirectory' in prepared) return (await prepared.runOnDirectory(dir, io)) ?? EXIT_OK
    return await runOnDirectory(prepared, argv, dir, io)
  } catch (err) {
    return report(io, err, dir)
  }
}

/**
 * Parses and checks the command line; answers help, usage and `--version` itself (an exit code).
 * Nothing here touches the data directory.
 */
function prepare(argv: readonly string[], io: CliIO): Prepared | PreparedDirectory | number {
  const inv = parseInvocation(argv)
  if (inv.command === undefined) {
    if (inv.version) {
      io.stdout.write(`hyperkv ${packageVersion()}\n`)
      return EXIT_OK
    }
    if (inv.help) {
      io.stdout.write(USAGE)
      return EXIT_OK
    }
    // Plain `hyperkv`: what it can do, and the usage-mistake exit status.
    io.stderr.write(USAGE)
    return EXIT_USAGE
  }
  if (inv.help) {
    io.stdout.write(COMMAND_HELP[inv.command] ?? USAGE)
    return EXIT_OK
  }
  if (inv.command === 'help') {
    io.stdout.write(helpFor(inv.args[0]))
    return EXIT_OK
  }
  const command = inv.command
  if (isDirectoryCommand(command)) return { inv, runOnDirectory: ON_DIRECTORY[command](inv, io.env) }
  const run = PREPARE[command](inv, io.env)
  const traits = traitsOf(inv)
  if (traits.stdio) refuseTerminal(command, io)
  return { inv: { ...inv, command }, run, traits }
}

async function runOnDirectory(
  prepared: Prepared,
  argv: readonly string[],
  dir: string,
  io: CliIO,
): Promise<number> {
  const { traits } = prepared
  const { runThroughHolder } = await import('./holder/client.js')
  const lockedUntil = Date.now() + LOCKED_WAIT
  const stoppingUntil = Date.now() + STOPPING_WAIT
  for (;;) {
    const through = await runThroughHolder({ dir, argv, io, readsStdin: traits.stdio })
    if (through.state === 'ran') return through.code
    if (through.state === 'stopping' && Date.now() < stoppingUntil) {
      await delay(RETRY_INTERVAL)
      continue
    }
    // No holder (or a stale socket of one that was killed): open DIR here.
    if (traits.readsOnly) {
      const { databaseExists } = await import('./open.js')
      if (!(await databaseExists(dir))) throw KappaError.notFound(`no database in ${dir}`)
    }
    const { openStore } = await import('./open.js')
    let kv: HyperKV
    try {
      kv = await openStore(dir)
    } catch (err) {
      // Locked with no socket: a holder that is starting (it listens right after opening).
      if (isLockError(err) && Date.now() < lockedUntil) {
        await delay(RETRY_INTERVAL)
        continue
      }
      throw err
    }
    return runHere(prepared, dir, kv, io)
  }
}

/** Runs the command on the store this process opened; a holding command serves others meanwhile. */
async function runHere(prepared: Prepared, dir: string, kv: HyperKV, io: CliIO): Promise<number> {
  const { inv, run, traits } = prepared
  const host = new Host(dir, kv)
  const { removeSocket, socketPath } = await import('./holder/socket.js')
  // We hold DIR: a socket still there is a killed holder's.
  await removeSocket(await socketPath(dir))
  const ctx = contextFor(inv, io, dir, host)
  // What the store reports while it runs (a peer's writer forked: ERR_FORK) is one line on
  // stderr; the command goes on, as the store does.
  const onStoreError = (err: Error): void => {
    io.stderr.write(formatFailure(describeFailure(err, dir)))
  }
  kv.on('error', onStoreError)
  let server: LocalServer | null = null
  let outcome: { code: number } | { failure: unknown }
  try {
    if (traits.holds) {
      host.hold(holdingOf(inv))
      server = await serve(host, ctx)
    }
    outcome = { code: (await run(kv, ctx)) ?? EXIT_OK }
  } catch (err) {
    outcome = { failure: err }
  }
  // A failure is reported once the store is closed, as every failure.
  await shutDown(server, kv)
  kv.off('error', onStoreError)
  return 'code' in outcome ? outcome.code : report(io, outcome.failure, dir)
}

async function shutDown(server: LocalServer | null, kv: HyperKV): Promise<void> {
  try {
    await server?.stop()
    await kv.close()
  } finally {
    await server?.close()
  }
}

/** Starts serving DIR's other commands; a socket that cannot be made is a warning, not a failure. */
async function serve(host: Host, ctx: CommandContext): Promise<LocalServer | null> {
  const { LocalServer } = await import('./holder/server.js')
  const { socketPath } = await import('./holder/socket.js')
  try {
    return await LocalServer.listen(await socketPath(host.dir), {
      holding: host.holding ?? '',
      execute: (request, io) => executeServed(host, request, io),
      readsStdin: (argv) => {
        try {
          const inv = parseInvocation(argv)
          return inv.command !== undefined && !inv.help && inv.command !== 'help' && traitsOf(inv).stdio
        } catch {
          return false
        }
      },
    })
  } catch (err) {
    const why = messageOf(err)
    ctx.warn(`other hyperkv commands on ${host.dir} cannot run while this one holds it: ${why}`)
    return null
  }
}

/** A command another process sent: run on the store this process holds, as it would have run there. */
async function executeServed(host: Host, request: RunRequest, io: CliIO): Promise<number> {
  try {
    const prepared = prepare(request.argv, io)
    if (typeof prepared === 'number') return prepared
    // A client runs these in its own process; one sent here anyway runs the same way.
    if ('runOnDirectory' in prepared) return (await prepared.runOnDirectory(request.dir, io)) ?? EXIT_OK
    const ctx = contextFor(prepared.inv, io, request.dir, host)
    return (await prepared.run(host.kv, ctx)) ?? EXIT_OK
  } catch (err) {
    return report(io, err, request.dir)
  }
}

function contextFor(inv: Invocation, io: CliIO, dir: string, host: Host): CommandContext {
  const line = (text: string): void => {
    io.stderr.write(`hyperkv: ${text}\n`)
  }
  return {
    io,
    dir,
    label: inv.dir ?? io.env.HYPERKV_DIR ?? '~/.hyperkv',
    signal: io.signal ?? new AbortController().signal,
    progress: inv.quiet ? () => {} : line,
    warn: line,
    host,
  }
}

/** What a holding command is, as status and the holder's clients see it (`join my-room`, `sync --live`). */
function holdingOf(inv: Invocation): string {
  return [inv.command, ...inv.args, ...(inv.options.live === true ? ['--live'] : [])].join(' ')
}

/** push/pull/sync speak binary on stdin/stdout: a terminal there is a mistake, not a peer. */
function refuseTerminal(command: string, io: CliIO): void {
  const tty = (stream: unknown): boolean => (stream as { isTTY?: boolean }).isTTY === true
  const which = tty(io.stdin) ? 'stdin' : tty(io.stdout) ? 'stdout' : null
  if (which === null) return
  throw new UsageError(
    `${command}: ${which} is a terminal; ${command} speaks the replication protocol on stdin and stdout, connect them to another hyperkv`,
    command,
  )
}

function report(io: CliIO, err: unknown, dir: string | undefined): number {
  const failure = describeFailure(err, dir)
  io.stderr.write(formatFailure(failure))
  return failure.exitCode
}

function helpFor(command: string | undefined): string {
  if (command === undefined) return USAGE
  if (!isCommand(command)) throw new UsageError(`help: unknown command ${JSON.stringify(command)}`, 'help')
  return COMMAND_HELP[command] ?? USAGE
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
