/**
 * Files only this user may read (DIR/peer.key, DIR/db.key): written whole under another name with
 * mode 0600 and renamed into place, so a reader never sees half a file and nobody else can read it.
 */
import { chmod, link, open, readFile, rename, stat, unlink } from 'node:fs/promises'

/** The file's bytes, or null when there is none; a copy readable by others is made ours alone again. */
export async function readPrivate(path: string): Promise<Buffer | null> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw err
  }
  // Readable by others (copied, restored from a backup): make it ours alone again.
  if (((await stat(path)).mode & 0o077) !== 0) await chmod(path, 0o600)
  return bytes
}

/**
 * Writes `bytes` at `path`. `exclusive`: fails with EEXIST when `path` exists, even when another
 * process writes it at the same moment (the rename becomes a hard link, which never replaces).
 */
export async function writePrivate(path: string, bytes: Buffer, exclusive = false): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`
  const file = await open(temporary, 'wx', 0o600)
  try {
    await file.writeFile(bytes)
    await file.sync()
  } finally {
    await file.close()
  }
  try {
    if (exclusive) await link(temporary, path)
    else await rename(temporary, path)
  } finally {
    await unlink(temporary).catch(ignoreMissing)
  }
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
}
