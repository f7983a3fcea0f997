/**
 * The one error class of kappadb. `code` is stable and documented in the README's error table;
 * messages may change. Tests assert codes, never messages.
 */
import { messageOf } from './util/errors.js'
export const ErrorCodes = {
  /** A key, node, feed or view that does not exist. Also carries `notFound: true`. */
  ERR_NOT_FOUND: 'ERR_NOT_FOUND',
  /** An argument of the wrong type or shape; nothing was changed. */
  ERR_INVALID_ARGUMENT: 'ERR_INVALID_ARGUMENT',
  /** The peer uses a different database key. */
  ERR_KEY_MISMATCH: 'ERR_KEY_MISMATCH',
  /** The peer sent bytes that break the replication protocol. */
  ERR_PROTOCOL: 'ERR_PROTOCOL',
  /** The peer speaks an incompatible protocol version. */
  ERR_VERSION_MISMATCH: 'ERR_VERSION_MISMATCH',
  /** Both sides of a replication asked for the same one-way mode (push+push, pull+pull). */
  ERR_MODE_CONFLICT: 'ERR_MODE_CONFLICT',
  /** The resource was closed. */
  ERR_CLOSED: 'ERR_CLOSED',
  /** A view's `map` (or its state storage) failed; the view stopped. */
  ERR_VIEW_FAILED: 'ERR_VIEW_FAILED',
  /** A peer or an operation did not answer in time. */
  ERR_TIMEOUT: 'ERR_TIMEOUT',
  /** The storage is held by another process (or another open instance). */
  ERR_LOCKED: 'ERR_LOCKED',
  /** A replicated node failed the application's `verify` hook or its hash check. */
  ERR_INVALID_SIGNATURE: 'ERR_INVALID_SIGNATURE',
  /** A node's content does not hash to the key it was announced under. */
  ERR_CHECKSUM: 'ERR_CHECKSUM',
  /** The log or view storage could not be read or written. */
  ERR_STORAGE: 'ERR_STORAGE',
  /** A documented limit was exceeded (e.g. `maxFeeds`); nothing beyond it was stored. */
  ERR_LIMIT: 'ERR_LIMIT',
  /** A feed's writer signed two histories; `feed` names it. */
  ERR_FORK: 'ERR_FORK',
  /**
   * This store's writer may not do that in an owned database: it was removed (its appends), or it
   * is not an admin (`members.add` / `members.remove`).
   */
  ERR_NOT_WRITABLE: 'ERR_NOT_WRITABLE',
  /** The feed is blocked in this store: a local write to it, or a writer of its key pair. */
  ERR_BLOCKED: 'ERR_BLOCKED',
} as const

export type ErrorCode = keyof typeof ErrorCodes

export class KappaError extends Error {
  readonly code: ErrorCode
  /** Set on `ERR_NOT_FOUND`, as the originals' level errors had it. */
  readonly notFound?: true
  /** The feed (hex key) the error is about, where there is one (`ERR_FORK`); absent otherwise. */
  declare readonly feed?: string

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; feed?: string }) {
    super(message, options)
    this.name = 'KappaError'
    this.code = code
    if (code === 'ERR_NOT_FOUND') this.notFound = true
    if (options?.feed !== undefined) this.feed = options.feed
  }

  static notFound(message: string): KappaError {
    return new KappaError('ERR_NOT_FOUND', message)
  }

  static invalid(message: string): KappaError {
    return new KappaError('ERR_INVALID_ARGUMENT', message)
  }

  static closed(what: string): KappaError {
    return new KappaError('ERR_CLOSED', `${what} is closed`)
  }

  static limit(message: string): KappaError {
    return new KappaError('ERR_LIMIT', message)
  }
}

export function isKappaError(err: unknown, code?: ErrorCode): err is KappaError {
  return err instanceof KappaError && (code === undefined || err.code === code)
}

/** Wraps any thrown value as a KappaError with `code`, keeping a KappaError as it is. */
export function asKappaError(err: unknown, code: ErrorCode): KappaError {
  if (err instanceof KappaError) return err
  const message = messageOf(err)
  return new KappaError(code, message, { cause: err })
}
