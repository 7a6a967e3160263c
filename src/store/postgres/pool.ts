/** Connections out of the pg pool, and the transactions run on them. */
import type pg from 'pg';

/**
 * Checks a connection out of the pool with an 'error' listener on it. pg-pool listens only on idle connections;
 * a checked-out connection that breaks while none of its statements is running (pg_terminate_backend, a server
 * restart, a network reset) emits 'error', which with no listener is an uncaught exception: the whole process
 * exits. The listener must be attached synchronously in pg-pool's callback, not after `await pool.connect()`:
 * a connection is often handed over while pg is still parsing a socket chunk (the previous user's last result),
 * and when that same chunk ends with the server's FATAL message, pg emits 'error' before any promise continuation
 * could run. The caller still learns of the break, from its next statement (a broken connection rejects every
 * query); `release(err)` discards the connection, and so does `release()` after such an error.
 */
export function checkOut(pool: pg.Pool): Promise<{ client: pg.PoolClient; release(err?: unknown): void }> {
  return new Promise((resolve, reject) => {
    pool.connect((err, client) => {
      if (err || !client) return reject(err ?? new Error('the pool returned no connection'));
      let broken: Error | undefined;
      const onError = (error: Error) => void (broken ??= error);
      client.on('error', onError);
      resolve({
        client,
        release(error?: unknown) {
          client.release(error === undefined ? broken : error instanceof Error ? error : true);
          // After release: the pool has put its own idle listener back by then.
          client.off('error', onError);
        },
      });
    });
  });
}

/**
 * Runs `fn` in a transaction. On any error the connection is destroyed rather than reused (its state is
 * unknown; the server rolls back), and the caller gets the error.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const { client, release } = await checkOut(pool);
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    release();
    return result;
  } catch (err) {
    release(err);
    throw err;
  }
}

/** Sends one statement of a pipelined transaction; `onResult` reads its answer when it comes. */
export type Send = (query: pg.QueryConfig, onResult?: (result: pg.QueryResult) => void) => void;

/**
 * One transaction sent as a pipeline: `build` hands its statements to `send` without waiting for any answer,
 * and BEGIN, those statements and COMMIT reach the server together, so a flush costs one round trip instead
 * of one per statement (the pool's connections run in pg's pipeline mode). The server still runs them one
 * after the other, each with a fresh snapshot. If one fails, PostgreSQL refuses the rest and turns COMMIT into
 * a rollback; the failed statement's rejection is what the caller gets, and the connection is discarded.
 */
export async function pipelinedTransaction<T>(pool: pg.Pool, begin: string, build: (send: Send) => () => T): Promise<T> {
  const { client, release } = await checkOut(pool);
  const sent: Promise<unknown>[] = [client.query(begin)];
  try {
    const finish = build((query, onResult) => {
      const answer = client.query(query);
      sent.push(onResult ? answer.then(onResult) : answer);
    });
    sent.push(client.query('COMMIT'));
    await Promise.all(sent);
    release();
    return finish();
  } catch (err) {
    // Every statement was sent: wait for their answers before the connection goes, so none rejects unheard.
    await Promise.allSettled(sent);
    release(err);
    throw err;
  }
}
