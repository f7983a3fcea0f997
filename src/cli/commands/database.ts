/**
 * `init [--key HEX] [--owned | --owner HEX]`, `key`, `feeds`: which database a directory is (its
 * key, and whether it is owned), and which feeds it holds.
 * `init` and `key` work on the directory itself, never through a holder and never opening a
 * store first: `init` must find no database there, `key` reads only DIR/db.key.
 */
import { randomBytes } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { OPEN_DATABASE_KEY } from '../../feeds/index.js'
import type { PrepareDirectory, Prepare } from '../context.js'
import { initialisedAlready, readDatabaseKey, writeDatabaseFile } from '../database-key.js'
import type { MembershipOption } from '../../kappa/index.js'
import { UsageError } from '../errors.js'
import { databaseExists, openStore } from '../open.js'
import { toJson, writeOut } from '../output.js'
import { memberStatus } from './members.js'

export const prepareInit: PrepareDirectory = (inv) => {
  const key = typeof inv.options.key === 'string' ? parseKeyOption(inv.options.key, '--key') : undefined
  const owner =
    typeof inv.options.owner === 'string' ? parseKeyOption(inv.options.owner, '--owner') : undefined
  const owned = inv.options.owned === true
  if (owned && owner !== undefined) {
    throw new UsageError(
      'init: --owned makes this directory the owner; --owner names another one, not both',
      'init',
    )
  }
  if (owned && key !== undefined) {
    throw new UsageError(
      'init: --owned makes a new database (its key is new); to join an owned one: init --key HEX --owner HEX',
      'init',
    )
  }
  if (owner !== undefined && key === undefined) {
    throw new UsageError(
      "init: --owner joins an owned database: give its key too (--key HEX, the owner's hyperkv key)",
      'init',
    )
  }
  const membership: MembershipOption = owned
    ? { owner: true }
    : owner !== undefined
      ? { owner: owner.toString('hex') }
      : 'open'
  return async (dir, io) => {
    await mkdir(dir, { recursive: true })
    if (await databaseExists(dir)) throw initialisedAlready(dir)
    const chosen = key ?? randomBytes(32)
    await writeDatabaseFile(dir, { key: chosen, membership })
    // Made now, so the directory is a database (read-only commands work on it) from here on.
    const kv = await openStore(dir)
    const self = kv.members?.self
    await kv.close()
    await writeOut(io.stdout, chosen.toString('hex') + '\n')
    if (owner !== undefined && self !== undefined) {
      io.stderr.write(
        `hyperkv: this directory writes once an admin adds its writer: hyperkv members add ${self}\n`,
      )
    }
  }
}

/** A 32-byte key given on the command line as 64 hex characters. */
function parseKeyOption(given: string, option: string): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(given))
    throw new UsageError(`init: ${option} must be 64 hex characters`, 'init')
  return Buffer.from(given, 'hex')
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
    const members = kv.members
    const blocked = new Set(await kv.blocked())
    for (const feed of kv.log.kappa.feeds()) {
      const row = {
        key: feed.id,
        ...(feed.name !== undefined ? { name: feed.name } : {}),
        length: feed.length,
        blocked: blocked.has(feed.id),
        // In an owned database: whether this feed's writer may write (and up to where, removed).
        ...(members !== null ? memberStatus(members.get(feed.id)) : {}),
      }
      text += toJson(row) + '\n'
    }
    await writeOut(io.stdout, text)
  }
