/**
 * The abstract-level shapes every layer's storage code shares: a database of any encodings, its
 * sublevels, and a batch operation that may aim at a sublevel.
 */
import type { AbstractBatchOperation, AbstractLevel, AbstractSublevel } from 'abstract-level'

/** Any abstract-level database or sublevel, whatever its encodings. */
export type LevelDb = AbstractLevel<unknown, unknown, unknown>

/** A sublevel of some LevelDb. */
export type LevelSublevel = AbstractSublevel<LevelDb, unknown, unknown, unknown>

/** An operation of `db.batch(ops)`, possibly aimed at a sublevel of `db`. */
export type LevelOperation = AbstractBatchOperation<LevelDb, unknown, unknown>
