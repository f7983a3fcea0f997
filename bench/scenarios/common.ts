/**
 * Shared helpers of kappadb's bench scenarios. Each scenario runs in a fresh child process started
 * by bench/run.ts and prints exactly one line `RESULT <json>` on stdout (the same protocol as the
 * originals' scripts in bench/originals/scenarios).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { tmpdir as osTmpdir } from 'node:os'
import { join } from 'node:path'

export interface ScenarioResult {
  /** Operations counted (puts, rows, entries, …) and the seconds they took. */
  count?: number
  seconds: number
  unit?: string
  [extra: string]: unknown
}

export type Scenario = (backend: string, n: number) => Promise<ScenarioResult>

const dirs: string[] = []

/** A fresh temporary directory, removed when the scenario ends. */
export function tmpdir(label: string): string {
  const dir = mkdtempSync(join(osTmpdir(), `kappadb-bench-${label}-`))
  dirs.push(dir)
  return dir
}

export function now(): number {
  return Number(process.hrtime.bigint()) / 1e9
}

/**
 * Runs the timed part of a scenario and returns its seconds. With `BENCH_CPU_PROF=<dir>` in the
 * environment (bench/run.ts --cpu-prof), a V8 CPU profile of exactly this part is written there.
 */
export async function timed(label: string, fn: () => Promise<void>): Promise<number> {
  const dir = process.env.BENCH_CPU_PROF
  const session = dir ? new Session() : undefined
  if (session) {
    session.connect()
    await session.post('Profiler.enable')
    await session.post('Profiler.setSamplingInterval', { interval: 200 })
    await session.post('Profiler.start')
  }
  const t0 = now()
  await fn()
  const seconds = now() - t0
  if (session && dir) {
    const { profile } = await session.post('Profiler.stop')
    mkdirSync(dir, { recursive: true })
    writeFileSync(join(dir, `${label}.cpuprofile`), JSON.stringify(profile))
    session.disconnect()
  }
  return seconds
}

/** Peak resident set size of this process so far, in MB. */
export function peakRssMB(): number {
  return process.resourceUsage().maxRSS / 1024
}

/** Runs `scenarios[argv[2]](argv[3], argv[4])`, prints its result and exits. */
export function runScenarios(
  scenarios: Record<string, Scenario>,
  keep: (name: string) => boolean = () => false,
): void {
  const [name = '', backend = 'disk', n = '0'] = process.argv.slice(2)
  const scenario = scenarios[name]
  const main = async (): Promise<void> => {
    if (!scenario) throw new Error(`unknown scenario ${name}`)
    const result = await scenario(backend, Number(n))
    const out: Record<string, unknown> = { peakRssMB: peakRssMB(), ...result }
    if (result.count !== undefined) out.rate = result.count / result.seconds
    process.stdout.write(`RESULT ${JSON.stringify(out)}\n`)
    if (!keep(name)) for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    process.exit(0)
  }
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.stack : err)
    if (!keep(name)) for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
    process.exit(1)
  })
}
