/**
 * `kappadb/cli`: the `hyperkv` command as a function. `main(argv, io)` runs it in process and
 * resolves with the exit code (what bin.ts runs on the real process).
 */
export { main, USAGE } from './main.js'
export type { CliIO } from './main.js'
