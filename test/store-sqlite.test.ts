import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import Database from 'better-sqlite3';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { LEASE_SQL, openSqliteStore } from '../src/store/sqlite/index.js';
import type { NewJob } from '../src/core/store.js';
import { storeContract } from './store-contract.js';

const ROOT = resolve(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'dmbridge-sqlite-'));
let files = 0;
const freshPath = () => join(dir, `store-${++files}.db`);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

storeContract('SqliteStore', async (clock) => openSqliteStore(freshPath(), { clock }));

function job(dedupeKey: string, conversationKey = 'conn:u1'): NewJob {
  return { dedupeKey, conversationKey, kind: 'test', payload: { dedupeKey } };
}

describe('SqliteStore', () => {
  describe('group commit', () => {
    it('answers every one of many concurrent enqueues with its own result, and keeps them all after reopen', async () => {
      const path = freshPath();
      const store = openSqliteStore(path);
      // Even callers repeat their key within the call, odd callers do not.
      const calls = Array.from({ length: 2000 }, (_, i) =>
        store.enqueue(i % 2 === 0 ? [job(`k${i}`, `c${i % 50}`), job(`k${i}`, `c${i % 50}`)] : [job(`k${i}`, `c${i % 50}`)]),
      );
      const results = await Promise.all(calls);
      results.forEach((result, i) => expect(result).toEqual({ accepted: 1, duplicates: i % 2 === 0 ? 1 : 0 }));
      await store.close();

      const reopened = openSqliteStore(path);
      expect((await reopened.stats()).pending).toBe(2000);
      expect(await reopened.enqueue([job('k0'), job('k1999')])).toEqual({ accepted: 0, duplicates: 2 });
      await reopened.close();
    });

    it('rejects every caller of a group whose transaction fails, and stores none of their jobs', async () => {
      const path = freshPath();
      const store = openSqliteStore(path, { busyTimeoutMs: 20 });
      const other = new Database(path);
      other.exec('BEGIN IMMEDIATE'); // another process holds the write lock past the busy timeout
      const calls = [store.enqueue([job('a')]), store.enqueue([job('b')]), store.enqueue([job('c')])];
      const outcomes = await Promise.allSettled(calls);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
      other.exec('ROLLBACK');
      other.close();

      expect(await store.enqueue([job('a')])).toEqual({ accepted: 1, duplicates: 0 });
      expect((await store.stats()).pending).toBe(1);
      await store.close();
    });

    it('rejects only the caller whose payload is not JSON-serialisable', async () => {
      const store = openSqliteStore(':memory:');
      const bad = store.enqueue([{ ...job('bad'), payload: { n: 1n } }]);
      const good = store.enqueue([job('good')]);
      await expect(bad).rejects.toThrow(TypeError);
      await expect(good).resolves.toEqual({ accepted: 1, duplicates: 0 });
      await store.close();
    });

    it('writes enqueues still waiting for their group before closing', async () => {
      const path = freshPath();
      const store = openSqliteStore(path);
      const pending = store.enqueue([job('last-words')]);
      await store.close();
      await expect(pending).resolves.toEqual({ accepted: 1, duplicates: 0 });
      await expect(store.enqueue([job('after-close')])).rejects.toThrow(/closed/);

      const reopened = openSqliteStore(path);
      expect((await reopened.stats()).pending).toBe(1);
      await reopened.close();
    });
  });

  describe('the file on disk', () => {
    it('keeps jobs, states, dedupe keys and pauses across close and reopen', async () => {
      let now = Date.UTC(2025, 0, 1);
      const path = freshPath();
      const store = openSqliteStore(path, { clock: () => now });
      await store.enqueue([job('a1', 'A'), job('a2', 'A'), job('b1', 'B'), job('c1', 'C')]);
      const leased = await store.lease({ owner: 'w', limit: 10, leaseMs: 60_000 });
      await store.complete(leased.find((j) => j.dedupeKey === 'a1')!.id, 'w');
      await store.deadLetter(leased.find((j) => j.dedupeKey === 'b1')!.id, 'w', 'PermanentError: blocked');
      await store.pause('ig:1', now + 60_000);
      await store.close();

      const reopened = openSqliteStore(path, { clock: () => now });
      expect(await reopened.stats()).toEqual({ pending: 1, leased: 1, dead: 1, done: 1 });
      expect(await reopened.pausedUntil('ig:1')).toBe(now + 60_000);
      expect(await reopened.enqueue([job('a1', 'A')])).toEqual({ accepted: 0, duplicates: 1 });
      expect((await reopened.listDead(10))[0]?.lastError).toBe('PermanentError: blocked');
      now += 60_001;
      const next = await reopened.lease({ owner: 'w2', limit: 10, leaseMs: 60_000 });
      expect(next.map((j) => j.dedupeKey).sort()).toEqual(['a2', 'c1']);
      await reopened.close();
    });

    it('creates the parent directory of a new database file', async () => {
      const path = join(dir, 'nested', 'deeper', 'bridge.db');
      const store = openSqliteStore(path);
      await store.enqueue([job('a')]);
      await store.close();
      expect(readFileSync(path).subarray(0, 15).toString()).toBe('SQLite format 3');
    });

    it('records its schema version and refuses a database from a newer dmbridge', async () => {
      const path = freshPath();
      await openSqliteStore(path).close();
      const raw = new Database(path);
      expect(raw.pragma('user_version', { simple: true })).toBe(2);
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      raw.pragma('user_version = 99');
      raw.close();
      expect(() => openSqliteStore(path)).toThrow(/schema version 99 is newer/);
    });

    it('leases through indexes only, never scanning the jobs table', () => {
      const path = freshPath();
      openSqliteStore(path).close();
      const raw = new Database(path, { readonly: true });
      const plan = raw.prepare(`EXPLAIN QUERY PLAN ${LEASE_SQL}`).all({ owner: 'w', until: 2, now: 1, limit: 16 }) as { detail: string }[];
      raw.close();
      const details = plan.map((row) => row.detail);
      expect(details.filter((d) => /^SCAN jobs\b/.test(d))).toEqual([]);
      expect(details.some((d) => d.includes('jobs_ready'))).toBe(true);
      expect(details.some((d) => d.includes('jobs_leased'))).toBe(true);
    });
  });

  describe('crash safety', () => {
    it('opens after a SIGKILL mid-enqueue with every acknowledged job present', async () => {
      const code = compileStoreForChild();
      const path = freshPath();
      const acked = await runChildUntilKilled(join(code, 'child.mjs'), path, 300 + Math.floor(Math.random() * 1500));
      expect(acked.length).toBeGreaterThan(0);

      const raw = new Database(path);
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      const counts = raw.prepare('SELECT (SELECT count(*) FROM jobs) AS jobs, (SELECT count(*) FROM dedupe) AS keys').get() as {
        jobs: number;
        keys: number;
      };
      raw.close();
      expect(counts.jobs).toBe(counts.keys); // a job and its dedupe key are stored together or not at all

      const store = openSqliteStore(path);
      const again = await store.enqueue(acked.map((key) => job(key)));
      expect(again).toEqual({ accepted: 0, duplicates: acked.length });
      await store.close();
    });
  });
});

/** Enqueues in a loop, printing each key once its enqueue resolved (= the webhook would be acknowledged). */
const CHILD = `
import { openSqliteStore } from './src/store/sqlite/index.js';
const store = openSqliteStore(process.argv[2]);
for (let n = 0; ; ) {
  const keys = Array.from({ length: 25 }, () => 'k' + n++);
  await Promise.all(keys.map(async (key) => {
    await store.enqueue([{ dedupeKey: key, conversationKey: 'c' + (n % 17), kind: 'test', payload: { key } }]);
    process.stdout.write(key + '\\n');
  }));
}
`;

/**
 * The child runs plain Node, so the store and its relative imports are transpiled (TypeScript is a dev
 * dependency) into a temp dir that links the project's node_modules.
 */
function compileStoreForChild(): string {
  const out = join(dir, 'child-code');
  const pending = [join(ROOT, 'src', 'store', 'sqlite', 'index.ts')];
  const done = new Set<string>();
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (done.has(file)) continue;
    done.add(file);
    const source = readFileSync(file, 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const target = join(out, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, js);
    for (const match of source.matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) pending.push(resolve(dirname(file), `${match[1]}.ts`));
  }
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
  writeFileSync(join(out, 'child.mjs'), CHILD);
  return out;
}

/** Returns the keys the child printed as complete lines before it was killed. */
function runChildUntilKilled(script: string, dbPath: string, killAfterKeys: number): Promise<string[]> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [script, dbPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.split('\n').length > killAfterKeys) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`child exited without being killed: ${err}`));
      resolvePromise(out.split('\n').slice(0, -1)); // the last piece may be a half-written line
    });
  });
}
