/** `put KEY VALUE [--links]` and `del KEY [--links]`: one node each; its hash on stdout. */
import type { Prepare } from '../context.js'
import { writeOut } from '../output.js'
import { parseLinks, parseValue } from '../values.js'

export const preparePut: Prepare = (inv) => {
  const [key, text] = inv.args as [string, string]
  const value = parseValue(text)
  const links = parseLinks(inv.options.links, 'put')
  return async (kv, { io }) => {
    const node = await kv.put(key, value, links === undefined ? {} : { links })
    await writeOut(io.stdout, node.key + '\n')
  }
}

export const prepareDel: Prepare = (inv) => {
  const [key] = inv.args as [string]
  const links = parseLinks(inv.options.links, 'del')
  return async (kv, { io }) => {
    const node = await kv.del(key, links === undefined ? {} : { links })
    await writeOut(io.stdout, node.key + '\n')
  }
}
