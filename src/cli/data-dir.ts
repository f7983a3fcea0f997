/** The data directory: `-d DIR`, else `$HYPERKV_DIR`, else `~/.hyperkv` (as the original command). */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export function dataDirectory(
  option: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (option !== undefined) return resolve(option)
  const fromEnv = env.HYPERKV_DIR
  if (fromEnv !== undefined && fromEnv !== '') return resolve(fromEnv)
  return join(homedir(), '.hyperkv')
}
