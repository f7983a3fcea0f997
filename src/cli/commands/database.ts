/**
 * `init [--key HEX]`, `key`, `feeds`: which database a directory is, and which feeds it holds.
 * `init` and `key` work on the directory itself, never through a holder and never opening a
 * store first: `init` must find no database there, `key` reads only DIR/db.key.
 */
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { OPEN_DATABASE_KEY } from '../../feeds/index.js'
import type { PrepareDirectory, Prepare } from '../context.js'
import { initialisedAlready, readDatabaseKey, writeDatabaseKey } from '../database-key.js'
import { UsageError } from '../errors.js'
import { databaseExists, openStore } from '../open.js'
import { toJson, writeOut } from '../output.js'

export const prepareInit: PrepareDirectory = (inv) => {
  const given = inv.options.key
  let key: Buffer | undefined
  if (typeof given === 'string') {
    if (!/^[0-9a-fA-F]{64}$/.test(given))
      throw new UsageError('init: --key must be 64 hex characters', 'init')
    key = Buffer.from(given, 'hex')
  }
  return async (dir, io) => {
    await mkdir(dir, { recursive: true })
    if (await databaseExists(dir)) throw initialisedAlready(dir)
    const chosen = key ?? randomBytes(32)
    await writeDatabaseKey(dir, chosen)
    // Made now, so the directory is a database (read-only commands work on it) from here on.
    const kv = await openStore(dir)
    await kv.close()
    await writeOut(io.stdout, chosen.toString('hex') + '\n')
  }
}

export const prepareKey: PrepareDirectory = () => async (dir, io) => {
  const key = await readDatabaseKey(dir)
  if (key === null) {
    io.stderr.write(
      'hyperkv: open key: every directory not made by `hyperkv init` shares it (hyperkv -d NEWDIR init makes a database with its own key)\n',
    )
  }
  await writeOut(io.stdout, (key ?? OPEN_DATABASE_KEY).toString('hex') + '\n')
}

export const prepareFeeds: Prepare =
  () =>
  async (kv, { io }) => {
    let text = ''
    for (const feed of kv.log.kappa.feeds()) {
      const row = {
        key: feed.id,
        ...(feed.name !== undefined ? { name: feed.name } : {}),
        length: feed.length,
      }
      text += toJson(row) + '\n'
    }
    await writeOut(io.stdout, text)
  }
