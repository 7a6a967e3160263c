/**
 * Opens the store engine the `store:` setting names. Each engine is imported only when selected, so a process
 * never loads a driver it does not use (a Lambda bundle carries neither SQLite nor PostgreSQL).
 */
import type { Clock } from '../core/clock.js';
import type { Store } from '../core/store.js';
import type { Logger } from '../logger.js';
import type { PostgresOptions } from './postgres/options.js';

export interface OpenStoreOptions {
  clock?: Clock;
  /** Pool and schema settings, used only by a `postgres://` store. */
  postgres?: Partial<PostgresOptions>;
  /** Where an engine reports what happens to it beyond one call (a SQLite file found corrupt while running). */
  logger?: Logger;
}

/**
 * `sqlite:<path>` (`sqlite::memory:` for throwaway runs) or `postgres://…` / `postgresql://…` (a libpq-style URL).
 * `aws` is refused: the AWS profile has no pull queue, and its functions build their store themselves.
 */
export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  const { clock, postgres, logger } = opts;
  if (url.startsWith('sqlite:')) {
    const { openSqliteStore } = await import('./sqlite/index.js');
    return openSqliteStore(url.slice('sqlite:'.length), { ...(clock ? { clock } : {}), ...(logger ? { logger } : {}) });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { openPostgresStore } = await import('./postgres/index.js');
    return openPostgresStore(url, { ...postgres, ...(clock ? { clock } : {}) });
  }
  if (url === 'aws') {
    throw new Error(
      'store: aws runs only under the AWS Lambda entries (src/entry/lambda-http.ts, lambda-sqs.ts and lambda-media.ts, ' +
        'deployed by deploy/aws); the Node server needs store: sqlite:<path> or postgres://…',
    );
  }
  throw new Error(`unsupported store URL "${url.replace(/\/\/[^@/]*@/, '//***@')}"`);
}
