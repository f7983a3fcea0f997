/**
 * `block FEED [--drop]`, `unblock FEED`: this directory stops (or starts again) taking, serving
 * and showing one writer's feed. Kept in DIR, never replicated; `feeds` marks blocked feeds.
 */
import type { Prepare } from '../context.js'
import { UsageError } from '../errors.js'
import { toJson, writeOut } from '../output.js'

const HEX_KEY = /^[0-9a-fA-F]{64}$/

function feedArgument(command: string, given: string | undefined): string {
  if (given === undefined || !HEX_KEY.test(given)) {
    throw new UsageError(
      `${command}: FEED must be a feed key, 64 hex characters (see hyperkv feeds)`,
      command,
    )
  }
  return given.toLowerCase()
}

export const prepareBlock: Prepare = (inv) => {
  const feed = feedArgument('block', inv.args[0])
  const drop = inv.options.drop === true
  return async (kv, { io }) => {
    await kv.block(feed, { drop })
    await writeOut(io.stdout, toJson({ key: feed, blocked: true }) + '\n')
  }
}

export const prepareUnblock: Prepare = (inv) => {
  const feed = feedArgument('unblock', inv.args[0])
  return async (kv, { io }) => {
    await kv.unblock(feed)
    await writeOut(io.stdout, toJson({ key: feed, blocked: false }) + '\n')
  }
}
