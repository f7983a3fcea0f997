/**
 * Options are checked by name as well as by value: a misspelt or unsupported option would
 * otherwise be silently ignored, and the caller would believe it had taken effect.
 */
import { KappaError } from '../errors.js'

/**
 * ERR_INVALID_ARGUMENT naming the first own property of `opts` that is not one of `known`
 * (`what` names the options in the message, e.g. `'hyperlog options'`). `opts` is an object.
 */
export function rejectUnknownOptions(opts: object, known: ReadonlySet<string>, what: string): void {
  for (const name of Object.keys(opts)) {
    if (!known.has(name)) throw KappaError.invalid(`${what}: unknown option ${JSON.stringify(name)}`)
  }
}

/**
 * The option names of `T` as a set for `rejectUnknownOptions`. The object lists every name, which
 * the compiler checks: an option added to `T` and not here, or listed here and not in `T`, is a type
 * error, so a new option can never be refused as unknown.
 */
export function optionNames<T extends object>(names: {
  readonly [K in keyof Required<T>]: true
}): ReadonlySet<string> {
  return new Set(Object.keys(names))
}
