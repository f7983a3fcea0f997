/** Gives the errors of the Noise/secret-stream and Hypercore layers a KappaError code. */
import { KappaError } from '../../errors.js'

export function replicationError(err: unknown): KappaError {
  if (err instanceof KappaError) return err
  const message = err instanceof Error ? err.message : String(err)
  const code = (err as { code?: unknown } | null)?.code
  if (/timed out/i.test(message) || code === 'REQUEST_TIMEOUT') {
    return new KappaError('ERR_TIMEOUT', message, { cause: err })
  }
  if (code === 'SESSION_CLOSED' || code === 'REQUEST_CANCELLED' || /corestore is closed/i.test(message)) {
    return new KappaError('ERR_CLOSED', message, { cause: err })
  }
  // Handshake failures, undecryptable or malformed messages, a peer closing mid-way: all the peer's doing.
  return new KappaError('ERR_PROTOCOL', `replication failed: ${message}`, { cause: err })
}
