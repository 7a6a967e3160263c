/**
 * `dmbridge dead …`: the dead letters of the configured store, for an operator to look at and replay after a fix
 * (a wrong Genesys secret, a revoked token). `list` shows no message content; `show` does, for one job.
 */
import type { Config } from '../config/index.js';
import type { DeadJob, Store } from '../core/store.js';
import { openStore } from '../store/open.js';
import { UsageError, print } from './cli-common.js';

async function withStore<T>(config: Config, run: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config.store, { postgres: config.postgres });
  try {
    return await run(store);
  } finally {
    await store.close();
  }
}

/** One line a job, oldest failure first: what failed, when, how often, and why. */
export function deadLine(job: DeadJob): string {
  const error = job.lastError.length > 160 ? `${job.lastError.slice(0, 159)}…` : job.lastError;
  return `${job.id}  ${new Date(job.failedAt).toISOString()}  ${job.kind}  ${job.conversationKey}  attempts ${job.attempts}  ${error}`;
}

export async function listDead(config: Config, opts: { limit: number; json: boolean }): Promise<number> {
  const dead = await withStore(config, (store) => store.listDead(opts.limit));
  if (opts.json) print(JSON.stringify(dead.map(({ payload: _payload, ...job }) => job), null, 2));
  else if (dead.length === 0) print('no dead letters');
  else for (const job of dead) print(deadLine(job));
  return 0;
}

export async function showDead(config: Config, id: string): Promise<number> {
  const job = await withStore(config, (store) => store.getDead(id));
  if (!job) throw new UsageError(`no dead job ${id}`);
  print(JSON.stringify(job, null, 2));
  return 0;
}

export async function retryDead(config: Config, id: string | undefined, all: boolean): Promise<number> {
  if (all === (id !== undefined)) throw new UsageError('dead retry takes one job id or --all');
  if (all) {
    const n = await withStore(config, (store) => store.requeueAllDead());
    print(`requeued ${n} dead job${n === 1 ? '' : 's'}; a running bridge delivers them in order`);
    return 0;
  }
  if (!(await withStore(config, (store) => store.requeueDead(id!)))) throw new UsageError(`no dead job ${id}`);
  print(`requeued dead job ${id}; a running bridge delivers it before the later jobs of its conversation`);
  return 0;
}

export async function dropDead(config: Config, id: string): Promise<number> {
  if (!(await withStore(config, (store) => store.dropDead(id)))) throw new UsageError(`no dead job ${id}`);
  print(`dropped dead job ${id}`);
  return 0;
}
