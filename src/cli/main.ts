/**
 * The `hyperkv` command: `main(argv, io)` resolves with the exit code, so tests drive it in process
 * as well as through bin.ts in a child process. The command line is checked completely before the
 * data directory is touched; every failure is one line on stderr.
 */
import { isCommand, parseInvocation, type CommandName } from './args.js'
import type { CliIO, CommandContext, Prepare } from './context.js'
import { describeFailure, EXIT_OK, formatFailure, UsageError } from './errors.js'
import { dataDirectory } from './data-dir.js'
import { COMMAND_HELP, USAGE } from './usage.js'
import { prepareDel, preparePut } from './commands/write.js'
import { prepareGet, prepareHistory, prepareList } from './commands/read.js'
import { prepareReplicate } from './commands/replicate.js'
import { prepareJoin } from './commands/join.js'

export type { CliIO } from './context.js'
export { USAGE } from './usage.js'

const PREPARE: Record<Exclude<CommandName, 'help'>, Prepare> = {
  put: preparePut,
  get: prepareGet,
  del: prepareDel,
  list: prepareList,
  history: prepareHistory,
  push: prepareReplicate('push'),
  pull: prepareReplicate('pull'),
  sync: prepareReplicate('sync'),
  join: prepareJoin,
}

export async function main(argv: readonly string[], io: CliIO): Promise<number> {
  let dir: string | undefined
  try {
    const inv = parseInvocation(argv)
    if (inv.command === undefined) {
      if (!inv.help) throw new UsageError('missing COMMAND')
      io.stdout.write(USAGE)
      return EXIT_OK
    }
    if (inv.help) {
      io.stdout.write(COMMAND_HELP[inv.command] ?? USAGE)
      return EXIT_OK
    }
    if (inv.command === 'help') {
      io.stdout.write(helpFor(inv.args[0]))
      return EXIT_OK
    }
    const run = PREPARE[inv.command](inv, io.env)
    dir = dataDirectory(inv.dir, io.env)
    const ctx: CommandContext = {
      io,
      dir,
      signal: io.signal ?? new AbortController().signal,
      progress: inv.quiet ? () => {} : (line) => io.stderr.write(`hyperkv: ${line}\n`),
    }
    // Loaded only now: help and usage errors answer without loading the storage stack.
    const { openStore } = await import('./open.js')
    const kv = await openStore(dir)
    try {
      await run(kv, ctx)
    } finally {
      await kv.close()
    }
    return EXIT_OK
  } catch (err) {
    const failure = describeFailure(err, dir)
    io.stderr.write(formatFailure(failure))
    return failure.exitCode
  }
}

function helpFor(command: string | undefined): string {
  if (command === undefined) return USAGE
  if (!isCommand(command)) throw new UsageError(`help: unknown command ${JSON.stringify(command)}`, 'help')
  return COMMAND_HELP[command] ?? USAGE
}
