/**
 * Opening the data directory as a HyperKV (log and register inside it), created when missing.
 * Only called once the command line checked out, so bad input never creates or changes anything.
 */
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { hyperkv, type HyperKV } from '../kv/index.js'
import { readDatabaseFile } from './database-key.js'
import { safetyCatch } from '../util/errors.js'

/**
 * Whether DIR holds a database: `hyperkv(dir)` keeps its feeds in DIR/logs and its index in
 * DIR/index (README, hyperkv(dir)). A command that only reads checks this first, so it never
 * creates one.
 */
export async function databaseExists(dir: string): Promise<boolean> {
  const isDir = (path: string) =>
    stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    )
  const [logs, index] = await Promise.all([isDir(join(dir, 'logs')), isDir(join(dir, 'index'))])
  return logs && index
}

/**
 * Opens the store under DIR's database (DIR/db.key: its key and its membership, else the open key)
 * and waits until it is usable, so a held lock fails here, before any work. Every command, a
 * holder and `join` open DIR here, so all of them see an owned database as owned.
 */
export async function openStore(dir: string): Promise<HyperKV> {
  await mkdir(dir, { recursive: true })
  const file = await readDatabaseFile(dir)
  const kv = hyperkv(dir, file === null ? {} : { key: file.key, membership: file.membership })
  try {
    // A directory held by another process fails here with ERR_LOCKED (HyperKV waits for its log).
    await kv.ready()
    // An owned database's members answer from here on (kv.ready() may resolve before they open).
    await kv.members?.ready()
  } catch (err) {
    await kv.close().catch(safetyCatch)
    throw err
  }
  return kv
}
