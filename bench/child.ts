/**
 * Runs one scenario in a fresh child process (so memory, caches and JIT state are its own) and
 * reads the `RESULT <json>` line it prints.
 */
import { spawn } from 'node:child_process'

export interface ChildResult {
  rate?: number
  seconds: number
  peakRssMB: number
  [extra: string]: unknown
}

export interface ChildCommand {
  /** Arguments after `node` (flags, script, scenario arguments). */
  args: string[]
  cwd: string
  timeoutMs: number
  /** Added to this process's environment. */
  env?: Record<string, string>
}

export function runChild(cmd: ChildCommand): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, cmd.args, {
      cwd: cmd.cwd,
      env: { ...process.env, ...cmd.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
    const timer = setTimeout(() => child.kill('SIGKILL'), cmd.timeoutMs)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '))
      if (code === 0 && line) return resolve(JSON.parse(line.slice('RESULT '.length)) as ChildResult)
      const why =
        signal === 'SIGKILL' ? `timed out after ${cmd.timeoutMs / 1000} s` : `exit ${code ?? signal}`
      const detail = errorLine(stderr || stdout) ?? lastLines(stderr || stdout, 6)
      reject(new Error(`${why}${detail ? `: ${detail}` : ''}`))
    })
  })
}

/** The first line naming an error (the message), rather than the stack under it. */
function errorLine(text: string): string | undefined {
  return text
    .split('\n')
    .find((l) => /\b\w*Error\b|\bERR_/.test(l) && !/^\s+at /.test(l))
    ?.trim()
    .slice(0, 600)
}

function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ').slice(0, 600)
}
