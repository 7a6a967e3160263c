/** `dmbridge sandbox ARGS` run in this process, as the console's CLI tests drive it: its exit code and what it printed. */
import { runSandboxCommand } from '../src/entry/sandbox-cli.js';

export interface SandboxCommandResult {
  code: number;
  out: string;
  err: string;
}

export async function sandboxCommand(args: string[]): Promise<SandboxCommandResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runSandboxCommand(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
