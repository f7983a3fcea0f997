/**
 * How the command reports failure: one line `hyperkv: CODE: message` on stderr. Usage mistakes
 * (ERR_USAGE, exit 2) are told apart from failed operations (a KappaError code, exit 1).
 */
import { isKappaError, KappaError, type ErrorCode } from '../errors.js'
import { messageOf } from '../util/errors.js'

export const EXIT_OK = 0
export const EXIT_FAILED = 1
export const EXIT_USAGE = 2
/** 128 + the signal's number, as a shell reports a process a signal ended. */
export const EXIT_SIGINT = 130
export const EXIT_SIGTERM = 143
/** stdout's reader went away (`hyperkv list | head -1`): a quiet end, as SIGPIPE would be. */
export const EXIT_SIGPIPE = 141

/** A mistake in the command line: nothing was opened or written. */
export class UsageError extends Error {
  readonly code = 'ERR_USAGE'
  /** The command whose help the user should read. */
  readonly command: string | undefined

  constructor(message: string, command?: string) {
    super(message)
    this.name = 'UsageError'
    this.command = command
  }
}

export type CliErrorCode = ErrorCode | 'ERR_USAGE'

/** stdout was closed by its reader: the command ends quietly with EXIT_SIGPIPE. */
export class StdoutClosed extends Error {
  readonly code = 'EPIPE'
  constructor(cause?: unknown) {
    super('stdout was closed', { cause })
    this.name = 'StdoutClosed'
  }
}

/**
 * A failure of stdout (or stdin) as the command reports it: for push/pull/sync the stdio is the
 * peer, so its going away is the peer gone mid-sync (`ERR_PROTOCOL`); for any other command a
 * closed stdout is `StdoutClosed`.
 */
export function outputError(err: unknown, replicating: boolean): Error {
  const code = (err as { code?: unknown } | null)?.code
  const why = typeof code === 'string' ? code : 'closed'
  if (replicating) {
    return new KappaError('ERR_PROTOCOL', `the peer went away before the sync completed (${why})`, {
      cause: err,
    })
  }
  return new StdoutClosed(err)
}

export interface Failure {
  code: CliErrorCode
  message: string
  exitCode: number
}

/** Any thrown value as the one line the user sees, with the code scripts can match. */
export function describeFailure(err: unknown, dir?: string): Failure {
  if (err instanceof StdoutClosed) return { code: 'ERR_CLOSED', message: '', exitCode: EXIT_SIGPIPE }
  if (err instanceof UsageError) {
    const hint = err.command ? ` (see hyperkv ${err.command} --help)` : ' (see hyperkv --help)'
    return { code: 'ERR_USAGE', message: err.message + hint, exitCode: EXIT_USAGE }
  }
  if (isLockError(err)) {
    const where = dir ? `${dir} is` : 'the data directory is'
    return {
      code: 'ERR_LOCKED',
      message: `${where} in use by another hyperkv process`,
      exitCode: EXIT_FAILED,
    }
  }
  const fsCode = fileSystemCode(err)
  if (fsCode) {
    const where = dir ? ` ${dir}` : ''
    return {
      code: 'ERR_STORAGE',
      message: `cannot use the data directory${where}: ${fsCode}`,
      exitCode: EXIT_FAILED,
    }
  }
  const code: CliErrorCode = isKappaError(err) ? err.code : 'ERR_STORAGE'
  return { code, message: oneLine(err), exitCode: EXIT_FAILED }
}

/** The line on stderr; none for a closed stdout (its reader left, nobody is told). */
export function formatFailure(failure: Failure): string {
  if (failure.exitCode === EXIT_SIGPIPE) return ''
  return `hyperkv: ${failure.code}: ${failure.message}\n`
}

/** The storage lock is held: Corestore's, classic-level's (LEVEL_LOCKED), or ours (ERR_LOCKED). */
export function isLockError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (code === 'ERR_LOCKED' || code === 'LEVEL_LOCKED') return true
    if (
      /could not be locked|lock hold by current process|LOCK: Resource temporarily unavailable/i.test(
        e.message,
      )
    ) {
      return true
    }
  }
  return false
}

const FS_CODES = new Set(['EACCES', 'EPERM', 'ENOTDIR', 'EROFS', 'ENOSPC', 'EEXIST', 'ELOOP', 'ENAMETOOLONG'])

/** A file-system refusal anywhere in the cause chain (an unwritable or impossible directory). */
function fileSystemCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && FS_CODES.has(code)) return code
    const match = /\b(EACCES|EPERM|ENOTDIR|EROFS|ENOSPC)\b/.exec(e.message)
    if (match) return match[1]
  }
  return undefined
}

function oneLine(err: unknown): string {
  const message = messageOf(err)
  return message.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error'
}
