/**
 * Proof of the database key. The channel id (the key's discovery key) is public — it is announced
 * on the DHT — so each side also proves it holds the key itself: an HMAC, keyed with the database
 * key, over its Noise role and the handshake hash (unique to this connection, so a proof cannot be
 * replayed elsewhere). Checked before anything else is sent.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'

const LABELS = {
  initiator: Buffer.from('kappadb/multifeed/proof/initiator'),
  responder: Buffer.from('kappadb/multifeed/proof/responder'),
}

export function computeProof(databaseKey: Buffer, handshakeHash: Buffer, isInitiator: boolean): Buffer {
  return createHmac('sha256', databaseKey)
    .update(isInitiator ? LABELS.initiator : LABELS.responder)
    .update(handshakeHash)
    .digest()
}

export function verifyProof(
  databaseKey: Buffer,
  handshakeHash: Buffer,
  remoteIsInitiator: boolean,
  mac: Buffer,
): boolean {
  const expected = computeProof(databaseKey, handshakeHash, remoteIsInitiator)
  return mac.byteLength === expected.byteLength && timingSafeEqual(mac, expected)
}
