/**
 * The benchmarks' server processes (bench/servers.ts, one process each so its CPU time and RSS can be read):
 * start one, stop it, read its CPU time and memory from Linux /proc.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SERVERS_JS = join(import.meta.dirname, 'servers.js');

export interface ServerProcess {
  child: ChildProcess;
  url: string;
}

/**
 * Starts `node [nodeFlags] bench/servers.js <args>` and resolves with its URL once it prints "ready <url>".
 * `nodeFlags` are V8/Node options for that process only (e.g. heap limits).
 */
export function startServerProcess(args: string[], nodeFlags: string[] = []): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...nodeFlags, SERVERS_JS, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /ready (\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    });
    child.once('exit', (code) => reject(new Error(`${args[0]} exited with ${code}`)));
  });
}

/** SIGTERM, then SIGKILL if it has not exited after `killAfterMs`; resolves when it has exited. */
export function stop(child: ChildProcess, killAfterMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), killAfterMs).unref();
  });
}

/** CPU time (user + system) a process has used so far, in ms (Linux /proc; clock ticks are 10 ms). */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Peak and current resident set size of a process, in MB (Linux /proc). */
export function rssOf(pid: number): { peakMb: number; nowMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { peakMb: kb('VmHWM') / 1024, nowMb: kb('VmRSS') / 1024 };
}
