// The Holepunch packages ship no types: our declarations of them (types/, published with the
// package) are referenced here so a consumer's compiler sees them through dist's declarations too.
/* eslint-disable @typescript-eslint/triple-slash-reference -- ambient `declare module` files: no import can bring them in */
/// <reference path="../types/corestore.d.ts" preserve="true" />
/// <reference path="../types/hypercore.d.ts" preserve="true" />
/// <reference path="../types/hypercore-crypto.d.ts" preserve="true" />
/// <reference path="../types/hyperdht.d.ts" preserve="true" />
/// <reference path="../types/hyperswarm.d.ts" preserve="true" />
/// <reference path="../types/protomux.d.ts" preserve="true" />
/* eslint-enable @typescript-eslint/triple-slash-reference */
export { KappaError, ErrorCodes, isKappaError } from './errors.js'
export type { ErrorCode } from './errors.js'
export type { Callback } from './util/callback.js'
export type { TypedReadable } from './util/typed-readable.js'
export * from './feeds/index.js'
export * from './kappa/index.js'
export * from './views/index.js'
export * from './hyperlog/index.js'
export * from './kv/index.js'
export * from './net/index.js'
