/**
 * A 32-bit hash of a string with a seed: FNV-1a over the UTF-16 code units (the seed folded into
 * the offset basis), then murmur3's finalizer (FNV's low bits alone spread poorly). Used where a
 * fast, well-spread, non-cryptographic hash is enough: the kv key filter's probes, the tests'
 * seeded random streams.
 */
export function mix(seed: number, text: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
