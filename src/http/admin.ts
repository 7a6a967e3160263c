/**
 * What an operator's tools call: the readiness probe, and — only when `admin.token` is set — the admin API over
 * the dead letters and the backlog, behind `Authorization: Bearer <admin.token>` (the same operations as
 * `dmbridge dead …`). With a token, `/metrics` needs it too. `/healthz` stays a cheap liveness probe.
 */
import { equalsInConstantTime } from '../core/secret-compare.js';
import type { Hono, MiddlewareHandler } from 'hono';
import type { Backlog, DeadLetters, Records } from '../core/store.js';
import { storeReturnsWhatItStores } from '../core/store-probe.js';
import { refuse } from '../intake/refuse.js';

export interface Readiness {
  ready: boolean;
  problems: string[];
}

export interface ReadinessDeps {
  store: Records & Backlog;
  clock: () => number;
  /** When the worker last settled a job (epoch ms); undefined when this process runs no worker. */
  lastProgressAt?: () => number;
  /** How long due work may wait with no progress before the process is not ready. */
  stallMs: number;
}

const PROBE = 'readiness-probe';

/**
 * Not ready when the store cannot be written (a write probe is read back) or when jobs have been due for longer than
 * `stallMs` while the worker settled nothing for as long: a bridge that acknowledges but delivers nothing.
 */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const problems: string[] = [];
  const now = deps.clock();
  try {
    if (!(await storeReturnsWhatItStores(deps.store, PROBE, 'last', now))) problems.push('the store did not return what was just written to it');
  } catch (err) {
    problems.push(`the store cannot be written: ${(err as Error).message}`);
  }
  if (deps.lastProgressAt) {
    try {
      const { oldestDueAt } = await deps.store.backlog();
      const idle = now - deps.lastProgressAt();
      if (oldestDueAt !== undefined && now - oldestDueAt > deps.stallMs && idle > deps.stallMs) {
        problems.push(`jobs have been due since ${new Date(oldestDueAt).toISOString()} and the worker settled none for ${Math.round(idle / 1000)} s`);
      }
    } catch (err) {
      problems.push(`the backlog cannot be read: ${(err as Error).message}`);
    }
  }
  return { ready: problems.length === 0, problems };
}

/** Bearer-token check in constant time (both sides hashed first, so neither length nor content leaks). */
export function bearerGuard(token: string): MiddlewareHandler {
  return async (c, next) => {
    const given = /^Bearer (.+)$/.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
    if (!equalsInConstantTime(given, token)) {
      const res = refuse('ADMIN_UNAUTHORIZED', 'this route needs Authorization: Bearer <admin.token>');
      res.headers.set('www-authenticate', 'Bearer');
      return res;
    }
    await next();
  };
}

/** The admin API: dead letters and the backlog. Payloads only for one job asked for by id. */
export function mountAdminApi(app: Hono, operations: DeadLetters & Backlog, guard: MiddlewareHandler): void {
  app.use('/admin/*', guard);
  app.get('/admin/backlog', async (c) => c.json(await operations.backlog()));
  app.get('/admin/dead', async (c) => {
    const limit = Math.min(1000, Math.max(1, Number(c.req.query('limit') ?? 100) || 100));
    return c.json((await operations.listDead(limit)).map(({ payload: _payload, ...job }) => job));
  });
  app.post('/admin/dead/retry-all', async (c) => c.json({ requeued: await operations.requeueAllDead() }));
  app.get('/admin/dead/:id', async (c) => {
    const job = await operations.getDead(c.req.param('id'));
    return job ? c.json(job) : refuse('NOT_FOUND', 'no such dead job');
  });
  app.post('/admin/dead/:id/retry', async (c) =>
    (await operations.requeueDead(c.req.param('id'))) ? c.json({ requeued: 1 }) : refuse('NOT_FOUND', 'no such dead job'),
  );
  app.delete('/admin/dead/:id', async (c) =>
    (await operations.dropDead(c.req.param('id'))) ? c.json({ dropped: 1 }) : refuse('NOT_FOUND', 'no such dead job'),
  );
}
