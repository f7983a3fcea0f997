export type * from './types.js'
export { Multifeed, multifeed, DEFAULT_WRITER_NAME } from './multifeed.js'
export type { MultifeedOptions, WriterOptions } from './multifeed.js'
export { OPEN_DATABASE_KEY } from './database-key.js'
