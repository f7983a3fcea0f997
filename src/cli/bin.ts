#!/usr/bin/env node
/**
 * The `hyperkv` executable: runs `main` on the real process. Ctrl-C / SIGTERM stop a long-running
 * command (`join`, `--live`) cleanly; a second signal exits at once.
 */
import { main } from './main.js'

const stop = new AbortController()
let signals = 0
const onSignal = (signal: NodeJS.Signals): void => {
  if (++signals > 1) process.exit(signal === 'SIGINT' ? 130 : 143)
  stop.abort()
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  signal: stop.signal,
}).then(
  (code) => {
    process.exitCode = code
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  },
  (err: unknown) => {
    process.stderr.write(`hyperkv: ERR_INTERNAL: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  },
)
