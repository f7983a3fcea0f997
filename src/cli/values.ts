/** Turning command-line text into what the library takes. */
import { UsageError } from './errors.js'

/** VALUE is JSON when it parses as JSON, else the text itself (`put greeting hello` → "hello"). */
export function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}

const HASH = /^[0-9a-f]{64}$/

/** `--links h1,h2` → hashes; `--links=` → [] (a new fork); absent → undefined (the key's heads). */
export function parseLinks(text: string | boolean | undefined, command: string): string[] | undefined {
  if (text === undefined || typeof text === 'boolean') return undefined
  const links = text
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '')
  for (const link of links) {
    if (!HASH.test(link))
      throw new UsageError(`${command}: --links: ${JSON.stringify(link)} is not a node hash`, command)
  }
  return links
}

export function parseCount(
  text: string | boolean | undefined,
  name: string,
  command: string,
): number | undefined {
  if (text === undefined || typeof text === 'boolean') return undefined
  if (!/^\d+$/.test(text)) throw new UsageError(`${command}: --${name} must be a whole number`, command)
  return Number(text)
}

export function parseFlag(
  text: string | boolean | undefined,
  name: string,
  command: string,
): boolean | undefined {
  if (text === undefined || typeof text === 'boolean') return text
  if (text === 'true') return true
  if (text === 'false') return false
  throw new UsageError(`${command}: --${name} must be true or false`, command)
}

export function optionalString(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined
}
