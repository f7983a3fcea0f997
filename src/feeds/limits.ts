/**
 * What one entry may be, in every layer: the same bounds for a local write (refused with
 * `ERR_INVALID_ARGUMENT` before anything is acknowledged) and for an entry a peer sends (refused
 * like an entry that does not decode). docs/DESIGN.md, "Entry limits".
 */
import { KappaError } from '../errors.js'

/**
 * The largest encoded entry (a feed entry's bytes: a hyperlog node with its links and value, a
 * HyperKV document inside one), 8 MiB: below Hypercore's 15 MiB block limit with room for the block
 * header, and a size every layer can hold in memory at once.
 */
export const MAX_ENTRY_BYTES = 8 * 1024 * 1024

/**
 * The deepest nesting of arrays and objects in a JSON value (`[]` is depth 1). Recursive code —
 * `JSON.stringify`, deep equality, the application's own — overflows the stack somewhere between
 * one and a few thousand levels; 512 leaves every such consumer room.
 */
export const MAX_VALUE_DEPTH = 512

/** Refuses a local entry larger than MAX_ENTRY_BYTES (`what` names it in the message). */
export function checkEntrySize(bytes: number, what = 'an entry'): void {
  if (bytes > MAX_ENTRY_BYTES) {
    throw KappaError.invalid(`${what} of ${bytes} bytes is larger than MAX_ENTRY_BYTES (${MAX_ENTRY_BYTES})`)
  }
}

/**
 * Whether JSON text nests arrays and objects deeper than `max`. Every level takes two bytes (its
 * brackets), so text of at most `2 * max` bytes never does: the common small value costs one
 * comparison. Longer text is scanned once, strings skipped.
 */
export function jsonTooDeep(text: Uint8Array, max = MAX_VALUE_DEPTH): boolean {
  if (text.byteLength <= 2 * max) return false
  let depth = 0
  for (let i = 0; i < text.byteLength; i++) {
    const b = text[i]
    if (b === 0x22) {
      // A string: skip to its closing quote (a backslash escapes the byte after it).
      for (i++; i < text.byteLength; i++) {
        const s = text[i]
        if (s === 0x5c) i++
        else if (s === 0x22) break
      }
    } else if (b === 0x5b || b === 0x7b) {
      if (++depth > max) return true
    } else if (b === 0x5d || b === 0x7d) depth--
  }
  return false
}
