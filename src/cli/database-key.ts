/**
 * This directory's database, kept in DIR/db.key (mode 0600) by `hyperkv init`: its key and who
 * may write (open, or owned by a writer). A directory never initialised has none and uses the open
 * key (every such directory replicates with every other), so the original command's sessions
 * work unchanged.
 */
import { join } from 'node:path'
import { KappaError } from '../errors.js'
import { decodeDatabaseKeyFile, encodeDatabaseKeyFile, type DatabaseFile } from './messages.js'
import { readPrivate, writePrivate } from './private-file.js'

export type { DatabaseFile } from './messages.js'

export const DATABASE_KEY_FILE = 'db.key'

/** What `hyperkv init` stored in `dir`, or null (the open key, open membership). */
export async function readDatabaseFile(dir: string): Promise<DatabaseFile | null> {
  const path = join(dir, DATABASE_KEY_FILE)
  const bytes = await readPrivate(path)
  if (bytes === null) return null
  try {
    return decodeDatabaseKeyFile(bytes)
  } catch (err) {
    throw new KappaError(
      'ERR_STORAGE',
      `${path} is damaged: restore it from a backup, or \`hyperkv key\` on another replica prints the key`,
      { cause: err },
    )
  }
}

/** The key `hyperkv init` stored in `dir`, or null (the open key). */
export async function readDatabaseKey(dir: string): Promise<Buffer | null> {
  return (await readDatabaseFile(dir))?.key ?? null
}

/** Stores `file` in `dir`; a database file already there is `ERR_INVALID_ARGUMENT`, never replaced. */
export async function writeDatabaseFile(dir: string, file: DatabaseFile): Promise<void> {
  try {
    await writePrivate(join(dir, DATABASE_KEY_FILE), encodeDatabaseKeyFile(file), true)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw initialisedAlready(dir)
    throw err
  }
}

export function initialisedAlready(dir: string): KappaError {
  return KappaError.invalid(`${dir} holds a database already (hyperkv key prints its key)`)
}
