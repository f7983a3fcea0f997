#!/usr/bin/env node
/**
 * The `hyperkv` executable: runs `main` on the real process. Ctrl-C / SIGTERM stop the command
 * (the abort's reason names the signal): a long-running one (`join`, `--live`) ends cleanly, a
 * non-live sync is interrupted (exit 130 / 143); a second signal exits at once.
 */
import { main } from './main.js'
import { messageOf } from '../util/errors.js'

const stop = new AbortController()
let signals = 0
const onSignal = (signal: NodeJS.Signals): void => {
  if (++signals > 1) process.exit(signal === 'SIGINT' ? 130 : 143)
  stop.abort(signal)
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

// A broken stdout or stdin (the reader of a pipe gone) is the command's to report, as the
// commands' own listeners do; one that comes after them must not crash the process.
process.stdout.on('error', () => undefined)
process.stdin.on('error', () => undefined)

// A live command may wait on nothing but events (`list --live` on a quiet store): keep the process
// alive for as long as main() runs.
const keepAlive = setInterval(() => {}, 1 << 30)

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: stop.signal,
}).then(
  (code) => {
    clearInterval(keepAlive)
    process.exitCode = code
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  },
  (err: unknown) => {
    clearInterval(keepAlive)
    process.stderr.write(`hyperkv: ERR_INTERNAL: ${messageOf(err)}\n`)
    process.exitCode = 1
  },
)
