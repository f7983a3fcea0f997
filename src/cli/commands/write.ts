/** `put KEY VALUE [--links]` and `del KEY [--links]`: one node each; its hash on stdout. */
import type { HyperKV } from '../../kv/index.js'
import type { CommandContext, Prepare } from '../context.js'
import { writeOut } from '../output.js'
import { parseLinks, parseValue } from '../values.js'

export const preparePut: Prepare = (inv) => {
  const [key, text] = inv.args as [string, string]
  const value = parseValue(text)
  const links = parseLinks(inv.options.links, 'put')
  return async (kv, ctx) => {
    const node = await kv.put(key, value, links === undefined ? {} : { links })
    await writeOut(ctx.io.stdout, node.key + '\n')
    warnIfNotMember(kv, ctx)
  }
}

export const prepareDel: Prepare = (inv) => {
  const [key] = inv.args as [string]
  const links = parseLinks(inv.options.links, 'del')
  return async (kv, ctx) => {
    const node = await kv.del(key, links === undefined ? {} : { links })
    await writeOut(ctx.io.stdout, node.key + '\n')
    warnIfNotMember(kv, ctx)
  }
}

/**
 * A write of a directory whose writer no membership record names yet is stored, but counts
 * nowhere, this directory included, until an admin adds the writer: said, or the write would
 * seem lost.
 */
function warnIfNotMember(kv: HyperKV, ctx: CommandContext): void {
  const members = kv.members
  if (members === null || members.get(members.self).status !== 'none') return
  ctx.warn(
    `the write shows nowhere until an admin adds this directory's writer: hyperkv members add ${members.self}`,
  )
}
