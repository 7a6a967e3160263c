/**
 * A damaged SQLite file is never acknowledged into (issue 12, point 4). At start the store refuses it with one
 * sentence naming the file and what to do (and `dmbridge serve` exits with that sentence); a file that turns out
 * damaged while running breaks the store: every webhook is answered 503 so the platform delivers it again, the
 * readiness probe fails, and one error line says what happened.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { configSchema } from '../src/config/index.js';
import { StoreCorruptError } from '../src/core/errors.js';
import type { NewJob } from '../src/core/store.js';
import { startServer } from '../src/entry/server.js';
import { startFakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { openSqliteStore, type SqliteStore } from '../src/store/sqlite/index.js';
import { TEST, capturedLogger, eventually, postInstagram, rawTestConfig, tempDir } from './helpers.js';
import { leafPages, overwritePages, overwriteWalFrames, touchFromAnotherConnection, walFrames } from './sqlite-damage.js';

const CLI = join(import.meta.dirname, '..', 'dist', 'src', 'entry', 'cli.js');
const dir = tempDir('dmbridge-corrupt-');
let files = 0;
const freshPath = () => join(dir.path, `store-${++files}.db`);
afterAll(() => dir.cleanup());

const CORRUPT_MSG = 'SQLite store corrupt: webhooks are refused (503) and nothing is delivered until the file is restored or replaced';

/** A backlog of `n` jobs, one conversation each, with payloads large enough to fill many pages. */
async function fill(store: SqliteStore, n: number, prefix = 'old'): Promise<void> {
  const jobs: NewJob[] = Array.from({ length: n }, (_, i) => ({
    dedupeKey: `${prefix}-${i}`,
    conversationKey: `${prefix}:${i}`,
    kind: 'backlog.test',
    payload: { pad: 'x'.repeat(400) },
  }));
  for (let i = 0; i < jobs.length; i += 100) await store.enqueue(jobs.slice(i, i + 100));
}

/** The sentence an operator must be able to act on: the file, that it is corrupt, the two ways out. */
function expectRemedy(message: string, path: string): void {
  expect(message).toContain(`the SQLite store ${path} is corrupt`);
  expect(message).toContain(`restore ${path} from a backup`);
  expect(message).toContain('move it aside together with its -wal and -shm files');
}

describe('a damaged SQLite file at start', () => {
  it('is refused when WAL frames were overwritten while the store ran and then checkpointed into the file', async () => {
    const path = freshPath();
    const store = openSqliteStore(path);
    await fill(store, 1500);
    expect(walFrames(path)).toBeGreaterThan(60);
    overwriteWalFrames(path, 10, 60);
    await store.close(); // closing checkpoints the WAL into the file, as the running bridge's checkpoints do

    const err = (() => {
      try {
        openSqliteStore(path).close();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StoreCorruptError);
    expectRemedy((err as Error).message, path);
  });

  it('is refused when pages of the file were overwritten', async () => {
    const path = freshPath();
    const store = openSqliteStore(path);
    await fill(store, 1000);
    await store.close();
    const leaves = leafPages(path, 'jobs');
    overwritePages(path, leaves.slice(leaves.length / 2, leaves.length / 2 + 3));
    expect(() => openSqliteStore(path)).toThrow(StoreCorruptError);
  });

  it('is refused when the file is not a database at all', async () => {
    const path = freshPath();
    await openSqliteStore(path).close();
    overwritePages(path, [1]);
    expect(() => openSqliteStore(path)).toThrow(/the SQLite store .* is corrupt \(file is not a database\)/);
  });

  it('makes `dmbridge serve` exit 1 with that one sentence and nothing else', async () => {
    const path = freshPath();
    const store = openSqliteStore(path);
    await fill(store, 1000);
    await store.close();
    const leaves = leafPages(path, 'jobs');
    overwritePages(path, leaves.slice(2, 5));
    const config = join(dir.path, 'serve.json');
    writeFileSync(config, JSON.stringify(rawTestConfig({ genesysUrl: 'http://127.0.0.1:9', store: `sqlite:${path}` })));

    const child = spawn(process.execPath, [CLI, 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A bridge that starts anyway is stopped, and the test fails on its exit code.
    const code = await new Promise<number | string | null>((resolve) => {
      const timer = setTimeout(() => (child.kill('SIGKILL'), resolve('still running after 10 s')), 10_000);
      child.once('exit', (exitCode) => (clearTimeout(timer), resolve(exitCode)));
    });

    expect(code).toBe(1);
    expect(stdout).toBe('');
    const lines = stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^dmbridge: the SQLite store /);
    expectRemedy(lines[0]!, path);
  });
});

describe('a SQLite file damaged while the store runs', () => {
  it('breaks the store on the first statement that meets the damage: every later call refuses, logged once', async () => {
    const path = freshPath();
    const { logger, lines } = capturedLogger('warn');
    const store = openSqliteStore(path, { logger });
    await fill(store, 600);
    await store.close();
    const reopened = openSqliteStore(path, { logger });
    const leaves = leafPages(path, 'jobs');
    overwritePages(path, leaves.slice(0, Math.floor(leaves.length / 3))); // the oldest jobs: the heads the worker leases next
    touchFromAnotherConnection(path);

    // Appending a job does not meet the damage: without the break, this is how a bridge acknowledged into a file
    // whose worker could lease nothing.
    await expect(reopened.lease({ owner: 'w', limit: 10, leaseMs: 30_000 })).rejects.toThrow(StoreCorruptError);
    await expect(reopened.enqueue([{ dedupeKey: 'new', conversationKey: 'new:1', kind: 'backlog.test', payload: {} }])).rejects.toThrow(StoreCorruptError);
    await expect(reopened.putRecord('probe', 'k', { ok: true }, Date.now() + 60_000)).rejects.toThrow(/became corrupt while running/);
    await expect(reopened.getRecord('probe', 'k')).rejects.toThrow(StoreCorruptError);
    await expect(reopened.lease({ owner: 'w', limit: 10, leaseMs: 30_000 })).rejects.toThrow(StoreCorruptError);

    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; file?: string; err?: { message: string } });
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 50, msg: CORRUPT_MSG, file: path });
    expect(logged[0]!.err!.message).toContain(`restore ${path} from a backup`);
    expect(await reopened.checkIntegrity()).not.toEqual([]);
    await reopened.close();
  });

  it('answers 503 to webhooks and fails /readyz once the worker met the damage, with one log line, and stays alive', async () => {
    const genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
    const path = freshPath();
    const seed = openSqliteStore(path);
    await fill(seed, 600);
    await seed.close();

    const { logger, lines } = capturedLogger('warn');
    const config = configSchema.parse(rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${path}` }));
    // The worker starts only once the file is damaged, so that it is the first to meet the damage.
    const server = await startServer({ config, logger, worker: false });
    try {
      const leaves = leafPages(path, 'jobs');
      overwritePages(path, leaves.slice(0, Math.floor(leaves.length / 3)));
      touchFromAnotherConnection(path);
      server.bridge.worker.start();
      expect(await eventually(() => lines.some((l) => l.includes(CORRUPT_MSG)), 10_000)).toBe(true);

      for (let i = 0; i < 5; i++) {
        const res = await postInstagram(server.url, instagramDmWebhook({ mid: fakeMid(), timestamp: Date.now(), text: `after ${i}` }, TEST.accountId));
        expect(res.status).toBe(503);
        expect(await res.json()).toMatchObject({ error: 'DMB_ERR_STORE_UNAVAILABLE' });
      }
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(503);
      const { problems } = (await ready.json()) as { problems: string[] };
      expect(problems.join(' ')).toContain(`the SQLite store ${path} became corrupt while running`);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/^dmbridge_webhooks_total\{route="instagram",outcome="store_corrupt"\} 5$/m);

      await server.bridge.worker.stop(); // a few more leases were refused meanwhile, silently
      expect(lines.filter((l) => JSON.parse(l).level >= 50)).toHaveLength(1);
      expect(genesys.messages).toHaveLength(0);
    } finally {
      await server.close();
      await genesys.close();
    }
  });
});
