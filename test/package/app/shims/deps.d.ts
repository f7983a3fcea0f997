// The app's own declarations of packages that ship no types. kappadb's declarations of them must
// leave these alone: the app's `new Hypercore(dir, opts)` compiles as declared here.
declare module 'hypercore' {
  export default class Hypercore {
    constructor(storage: string, opts?: { valueEncoding?: 'utf-8' | 'json' | 'binary' })
    readonly length: number
    readonly key: Buffer
    ready(): Promise<void>
    append(block: string | Buffer): Promise<{ length: number }>
    get(index: number): Promise<unknown>
    close(): Promise<void>
  }
}

declare module 'corestore'
