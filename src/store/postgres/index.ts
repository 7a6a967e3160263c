/**
 * Opens the PostgreSQL engine (`store: postgres://…`): the pool, and the schema brought up to date. Rejects when
 * the server is unreachable or the schema is newer than this dmbridge. The pool reconnects by itself once the
 * server is back: a call that fails because a connection broke rejects, the broken connection is discarded, the
 * next call opens a new one.
 */
import pg from 'pg';
import { systemClock, type Clock } from '../../core/clock.js';
import { migrate } from './migrations.js';
import { postgresOptionsSchema, type PostgresOptions } from './options.js';
import { PostgresStore } from './store.js';

export { PostgresStore } from './store.js';
export { postgresLeaseSql } from './sql.js';

export interface PostgresStoreOptions extends Partial<PostgresOptions> {
  clock?: Clock;
  /** `application_name` of the connections, as seen in pg_stat_activity (default `dmbridge`). */
  applicationName?: string;
}

export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
  const { clock, applicationName, ...settings } = opts;
  const parsed = postgresOptionsSchema.safeParse(settings);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid PostgreSQL option ${issue.path.join('.')}: ${issue.message}`);
  }
  const { schema, poolSize, connectionTimeoutMs, statementTimeoutMs } = parsed.data;
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: connectionTimeoutMs,
    statement_timeout: statementTimeoutMs,
    // The server bounds each statement; this bounds a call whose server went silent (network partition).
    query_timeout: statementTimeoutMs + 5000,
    idle_in_transaction_session_timeout: statementTimeoutMs + 5000,
    application_name: applicationName ?? 'dmbridge',
    keepAlive: true,
    idleTimeoutMillis: 30_000,
    // Lets a group commit send all its statements at once (pool.ts, pipelinedTransaction); statements awaited
    // one by one behave as without it.
    pipeline: true,
  });
  // An idle connection that breaks (server restart, pg_terminate_backend) is reported here and dropped by the
  // pool; without a listener Node would treat the event as an uncaught error and exit.
  pool.on('error', () => undefined);
  try {
    await migrate(pool, schema);
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
  return new PostgresStore(pool, clock ?? systemClock, schema);
}
