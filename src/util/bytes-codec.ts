/**
 * compact-encoding's `buffer` codec, byte for byte (uint length, then the bytes), without the
 * `Uint8Array` view its encoder makes of every buffer (it is generic over typed arrays): a write
 * encodes several buffers per node, and each view was an allocation on the write path.
 */
import c from 'compact-encoding'

type State = ReturnType<typeof c.state>

export const bytes = {
  preencode(state: State, b: Uint8Array): void {
    c.uint.preencode(state, b.byteLength)
    state.end += b.byteLength
  },
  encode(state: State, b: Uint8Array): void {
    c.uint.encode(state, b.byteLength)
    ;(state.buffer as Uint8Array).set(b, state.start)
    state.start += b.byteLength
  },
  decode(state: State): Uint8Array {
    return c.buffer.decode(state) as Uint8Array
  },
}
