/**
 * Command-line parsing: global options anywhere, then COMMAND and its arguments. Every mistake is a
 * `UsageError` found before anything is opened, so bad input never touches the data directory.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './errors.js'

type OptionSpecs = NonNullable<ParseArgsConfig['options']>

const GLOBAL_OPTIONS = {
  dir: { type: 'string', short: 'd' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies OptionSpecs

const LINKS = { links: { type: 'string' } } as const satisfies OptionSpecs
const LIVE = { live: { type: 'boolean' } } as const satisfies OptionSpecs
const RANGE = {
  gt: { type: 'string' },
  gte: { type: 'string' },
  lt: { type: 'string' },
  lte: { type: 'string' },
} as const satisfies OptionSpecs

interface CommandSpec {
  /** Positional argument names; a trailing `?` marks an optional one. */
  args: readonly string[]
  options: OptionSpecs
}

export const COMMANDS = {
  put: { args: ['KEY', 'VALUE'], options: LINKS },
  get: { args: ['KEY'], options: { fields: { type: 'boolean' } } },
  del: { args: ['KEY'], options: LINKS },
  list: {
    args: [],
    options: {
      ...LIVE,
      ...RANGE,
      limit: { type: 'string' },
      values: { type: 'string' },
      fields: { type: 'boolean' },
    },
  },
  history: { args: ['KEY'], options: {} },
  push: { args: [], options: LIVE },
  pull: { args: [], options: LIVE },
  sync: { args: [], options: LIVE },
  join: { args: ['TOPIC?'], options: { bootstrap: { type: 'string' } } },
  status: { args: [], options: { json: { type: 'boolean' } } },
  init: {
    args: [],
    options: { key: { type: 'string' }, owned: { type: 'boolean' }, owner: { type: 'string' } },
  },
  key: { args: [], options: {} },
  feeds: { args: [], options: {} },
  whoami: { args: [], options: {} },
  block: { args: ['FEED'], options: { drop: { type: 'boolean' } } },
  unblock: { args: ['FEED'], options: {} },
  members: {
    args: ['ACTION?', 'KEY?'],
    options: { admin: { type: 'boolean' }, 'up-to': { type: 'string' } },
  },
  help: { args: ['COMMAND?'], options: {} },
} as const satisfies Record<string, CommandSpec>

export type CommandName = keyof typeof COMMANDS

export interface Invocation {
  command: CommandName
  /** Positional arguments after the command, in order. */
  args: string[]
  options: Record<string, string | boolean | undefined>
  dir: string | undefined
  quiet: boolean
  help: boolean
}

/** What a command does with DIR and stdio, known from its command line alone. */
export interface CommandTraits {
  /**
   * It needs a database there (it only reads one, or works on its members): run on a directory
   * without one, it fails instead of creating one.
   */
  readsOnly: boolean
  /** Its stdin and stdout are a replication peer (push, pull, sync). */
  stdio: boolean
  /** It runs long (replication, `list --live`): while it runs it serves other commands on DIR. */
  holds: boolean
}

export function traitsOf(inv: Invocation): CommandTraits {
  const live = inv.options.live === true
  switch (inv.command) {
    case 'get':
    case 'history':
    case 'status':
    case 'key':
    case 'feeds':
    case 'whoami':
    case 'members':
    case 'block':
    case 'unblock':
      return { readsOnly: true, stdio: false, holds: false }
    case 'list':
      return { readsOnly: true, stdio: false, holds: live }
    case 'push':
      return { readsOnly: true, stdio: true, holds: true }
    case 'pull':
    case 'sync':
      return { readsOnly: false, stdio: true, holds: true }
    case 'join':
      return { readsOnly: false, stdio: false, holds: true }
    default:
      return { readsOnly: false, stdio: false, holds: false }
  }
}

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name)
}

/** No command given: plain `hyperkv`, `hyperkv --help` or `hyperkv --version`. */
export interface NoCommand {
  command: undefined
  help: boolean
  version: boolean
}

export function parseInvocation(argv: readonly string[]): Invocation | NoCommand {
  const name = findCommand(argv)
  if (name === undefined) {
    const { values } = parse(argv, GLOBAL_OPTIONS, 'hyperkv')
    return { command: undefined, help: values.help === true, version: values.version === true }
  }
  if (!isCommand(name)) throw new UsageError(`unknown command ${JSON.stringify(name)}`)
  const spec: CommandSpec = COMMANDS[name]
  const { values, positionals } = parse(argv, { ...GLOBAL_OPTIONS, ...spec.options }, name)
  const args = positionals.slice(1)
  const help = values.help === true
  if (!help) checkArity(name, spec, args)
  const { dir, quiet, help: _help, version, ...options } = values
  if (version === true) throw new UsageError(`--version takes no command (hyperkv --version)`)
  if (dir === '') throw new UsageError('-d needs a directory')
  return {
    command: name,
    args,
    options,
    dir: typeof dir === 'string' ? dir : undefined,
    quiet: quiet === true,
    help,
  }
}

/** The first positional token, skipping the values of global options that take one. */
function findCommand(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i] as string
    if (token === '--') return argv[i + 1]
    if (token === '-d' || token === '--dir') {
      i++
      continue
    }
    if (!token.startsWith('-') || token === '-') return token
  }
  return undefined
}

function parse(
  argv: readonly string[],
  options: OptionSpecs,
  where: string,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      options,
      allowPositionals: true,
      strict: true,
    })
    return { values: values as Record<string, string | boolean | undefined>, positionals }
  } catch (err) {
    // parseArgs' messages are clear but multi-line; keep the first line.
    const message = err instanceof Error ? (err.message.split('\n')[0] as string) : String(err)
    throw new UsageError(`${where}: ${message}`, where === 'hyperkv' ? undefined : where)
  }
}

function checkArity(name: CommandName, spec: CommandSpec, args: string[]): void {
  const required = spec.args.filter((a) => !a.endsWith('?'))
  if (args.length < required.length) {
    throw new UsageError(`${name}: missing ${required.slice(args.length).join(' ')}`, name)
  }
  if (args.length > spec.args.length) {
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(args[spec.args.length])}`, name)
  }
}
