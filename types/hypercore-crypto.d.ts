// Declarations for the parts of hypercore-crypto 3 kappadb calls. It ships no types.
declare module 'hypercore-crypto' {
  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }
  export function keyPair(seed?: Buffer): KeyPair
  export function discoveryKey(publicKey: Buffer): Buffer
  export function randomBytes(n: number): Buffer
  export function hash(data: Buffer | Buffer[]): Buffer
  export function sign(message: Buffer, secretKey: Buffer): Buffer
  export function verify(message: Buffer, signature: Buffer, publicKey: Buffer): boolean
  /** The Merkle tree hash of these roots. */
  export function tree(roots: Array<{ index: number; size: number; hash: Buffer }>): Buffer
  const crypto: {
    keyPair: typeof keyPair
    discoveryKey: typeof discoveryKey
    randomBytes: typeof randomBytes
    hash: typeof hash
    sign: typeof sign
    verify: typeof verify
    tree: typeof tree
  }
  export default crypto
}
