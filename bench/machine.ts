/** A description of the machine and the code a bench run measured. */
import { execFileSync } from 'node:child_process'
import os from 'node:os'

export interface MachineInfo {
  cpu: string
  cores: number
  memoryGB: number
  os: string
  node: string
  loadAverage: number[]
  commit: string
  date: string
}

export function machineInfo(root: string): MachineInfo {
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim()
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], {
      cwd: root,
      encoding: 'utf8',
    }).trim()
    if (dirty) commit += ' + uncommitted src changes'
  } catch {
    // not a git checkout: the commit stays unknown
  }
  return {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    commit,
    date: new Date().toISOString(),
  }
}

export function describeMachine(m: MachineInfo): string {
  return `${m.cpu}, ${m.cores} cores, ${m.memoryGB} GB, ${m.os}, Node ${m.node}; load average at start ${m.loadAverage.join(' ')}; kappadb ${m.commit}; ${m.date}`
}
