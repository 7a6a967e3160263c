/** What every `dmbridge` command shares: the configuration file, exit codes, and writing for a terminal. */
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { StoreCorruptError } from '../core/errors.js';

/** Exit codes (documented in `dmbridge --help` and docs/configuration.md). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Wrong arguments or no configuration: exit 2 with the message and a pointer to --help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface ConfigOption {
  config?: string;
}

/** `--config FILE`, else `DMBRIDGE_CONFIG`; neither is a usage error naming both. */
export function configFile(opts: ConfigOption, env: NodeJS.ProcessEnv = process.env): string {
  const file = opts.config ?? env.DMBRIDGE_CONFIG;
  if (!file) throw new UsageError('no configuration: pass --config FILE or set DMBRIDGE_CONFIG');
  return file;
}

export function readConfig(opts: ConfigOption): Config {
  return loadConfig(configFile(opts));
}

/** A URL with its password (and any token in its query) replaced, for printing. */
export function maskUrl(url: string): string {
  return url.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@').replace(/([?&](?:password|token|secret)=)[^&]*/gi, '$1***');
}

export function print(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/** How an error ends the process: its exit code and the one line on stderr. */
export function exitFor(err: unknown): { code: number; message: string } {
  if (err instanceof ConfigError) return { code: EXIT.usage, message: err.message };
  if (err instanceof UsageError) return { code: EXIT.usage, message: `${err.message}\nRun "dmbridge --help" for usage.` };
  // The sentence says which file and what to do; a stack trace would only hide it.
  if (err instanceof StoreCorruptError) return { code: EXIT.failed, message: err.message };
  return { code: EXIT.failed, message: (err as Error)?.stack ?? String(err) };
}
