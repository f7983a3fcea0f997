/** How a stopped command ends: the exit code a signal gives, and a holder that stops under it. */
import { KappaError } from '../errors.js'
import { EXIT_SIGINT, EXIT_SIGTERM } from './errors.js'

/** The abort reason of commands a holder cuts off because it stops. */
export const HOLDER_STOPPED = 'holder-stopped'

/** The signal an abort stands for: SIGTERM when it says so, else Ctrl-C's SIGINT. */
export function stopSignalOf(signal: AbortSignal): 'SIGINT' | 'SIGTERM' {
  return signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'
}

export function interruptedExitCode(signal: AbortSignal): number {
  return stopSignalOf(signal) === 'SIGTERM' ? EXIT_SIGTERM : EXIT_SIGINT
}

/** The holder this command ran in stopped under it: that is a failure, not the user's stop. */
export function holderStopped(signal: AbortSignal, dir: string): KappaError | null {
  if (!signal.aborted || signal.reason !== HOLDER_STOPPED) return null
  return new KappaError('ERR_CLOSED', `the hyperkv process holding ${dir} stopped`)
}
