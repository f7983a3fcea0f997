export { writeBatch } from './level-batch.js'
export { readKeys, readKeysSync } from './read-keys.js'
export type { LevelDb, LevelOperation, LevelSublevel } from './types.js'
