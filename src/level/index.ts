export { writeBatch } from './level-batch.js'
export type { LevelDb, LevelOperation, LevelSublevel } from './types.js'
