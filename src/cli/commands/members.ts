/**
 * `whoami`, `members`, `members add KEY [--admin]`, `members remove KEY [--up-to N]`: who may write
 * to an owned database. The records are written by this directory's writer (only an admin's
 * count: anyone else gets ERR_NOT_WRITABLE) in the membership log beside the data.
 */
import { KappaError } from '../../errors.js'
import type { HyperKV } from '../../kv/index.js'
import type { MemberInfo, Members } from '../../kappa/index.js'
import type { Prepare } from '../context.js'
import { UsageError } from '../errors.js'
import { toJson, writeOut } from '../output.js'
import { writerKeyOf } from './status.js'

const HEX_KEY = /^[0-9a-fA-F]{64}$/

/** `whoami`: this directory's writer key, the one to hand to an admin (`members add`). */
export const prepareWhoami: Prepare =
  () =>
  async (kv, { io }) => {
    await writeOut(io.stdout, (await writerKeyOf(kv)) + '\n')
  }

type Action =
  | { type: 'list' }
  | { type: 'add'; key: string; admin: boolean }
  | { type: 'remove'; key: string; upTo: number | undefined }

export const prepareMembers: Prepare = (inv) => {
  const action = parseAction(inv.args, inv.options)
  return async (kv, { io, dir }) => {
    const members = ownedMembers(kv, dir)
    if (action.type === 'list') {
      let text = ''
      for (const row of members.list()) text += toJson({ key: row.key, ...memberStatus(row) }) + '\n'
      await writeOut(io.stdout, text)
      return
    }
    if (action.type === 'add') await members.add(action.key, { role: action.admin ? 'admin' : 'writer' })
    else await members.remove(action.key, action.upTo === undefined ? {} : { upTo: action.upTo })
    await writeOut(io.stdout, toJson({ key: action.key, ...memberStatus(members.get(action.key)) }) + '\n')
  }
}

/** A member's role and status as the command prints them: `{ role, status, upTo? }`. */
export function memberStatus(info: MemberInfo): { role?: string; status: string; upTo?: number } {
  if (info.status === 'none') return { status: 'none' }
  if (info.status === 'removed') return { role: info.role, status: info.status, upTo: info.upTo }
  return { role: info.role, status: info.status }
}

function parseAction(args: readonly string[], options: Record<string, string | boolean | undefined>): Action {
  const [verb, key] = args
  const admin = options.admin === true
  const upToText = options['up-to']
  if (verb === undefined) {
    if (admin || upToText !== undefined)
      throw new UsageError('members: --admin and --up-to go with add and remove', 'members')
    return { type: 'list' }
  }
  if (verb !== 'add' && verb !== 'remove') {
    throw new UsageError(`members: unknown action ${JSON.stringify(verb)} (add or remove)`, 'members')
  }
  if (key === undefined)
    throw new UsageError(`members ${verb}: missing KEY (a writer key: its hyperkv whoami)`, 'members')
  if (!HEX_KEY.test(key)) throw new UsageError(`members ${verb}: KEY must be 64 hex characters`, 'members')
  const normal = key.toLowerCase()
  if (verb === 'add') {
    if (upToText !== undefined) throw new UsageError('members add: --up-to goes with remove', 'members')
    return { type: 'add', key: normal, admin }
  }
  if (admin) throw new UsageError('members remove: --admin goes with add', 'members')
  if (upToText === undefined) return { type: 'remove', key: normal, upTo: undefined }
  if (typeof upToText !== 'string' || !/^\d{1,15}$/.test(upToText)) {
    throw new UsageError('members remove: --up-to must be a whole number of entries', 'members')
  }
  return { type: 'remove', key: normal, upTo: Number(upToText) }
}

function ownedMembers(kv: HyperKV, dir: string): Members {
  const members = kv.members
  if (members === null) {
    throw KappaError.invalid(
      `${dir} is an open database: anyone with its key writes (hyperkv -d NEWDIR init --owned makes an owned one)`,
    )
  }
  return members
}
