import type { Readable, Writable } from 'node:stream'

export interface CliIO {
  stdin: Readable
  stdout: Writable
  stderr: Writable
  env: NodeJS.ProcessEnv
}

export const USAGE = `usage: hyperkv [-d DIR] COMMAND

  put KEY VALUE [--links h1,h2]   insert a JSON VALUE at KEY
  get KEY                         print the values at KEY
  list                            print every key and its values, one JSON row per line
  push | pull | sync              replicate over stdin and stdout
`

/** Placeholder until the command lands (issue 5): prints usage. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  const wantsHelp = argv.length === 0 || argv.includes('--help') || argv.includes('-h')
  io[wantsHelp ? 'stdout' : 'stderr'].write(USAGE)
  return wantsHelp ? 0 : 1
}
