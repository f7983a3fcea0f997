#!/usr/bin/env node
import { main } from './main.js'

main(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
}).then(
  (code) => {
    process.exitCode = code
  },
  (err: unknown) => {
    process.stderr.write(`hyperkv: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  },
)
