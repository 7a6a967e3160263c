/**
 * Another process holding SQLite's write lock (a backup, the `sqlite3` shell, a second dmbridge command) must not
 * freeze the bridge (issue 12, point 4): writes wait for the lock asynchronously, the process keeps answering
 * meanwhile, and once the lock is free every write that waited commits, in order, each caller with its own result.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { configSchema } from '../src/config/index.js';
import type { EnqueueResult, NewJob } from '../src/core/store.js';
import { startServer } from '../src/entry/server.js';
import { silentLogger } from '../src/logger.js';
import { startFakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { openSqliteStore } from '../src/store/sqlite/index.js';
import { EVENT_LOOP_BUDGET_MS } from './event-loop.js';
import { TEST, eventually, postInstagram, rawTestConfig, tempDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '..');
const HOLD_MS = 2000;
const dir = tempDir('dmbridge-busy-');
let files = 0;
const freshPath = () => join(dir.path, `store-${++files}.db`);
const holders = new Set<ChildProcess>();
afterAll(() => {
  for (const child of holders) child.kill('SIGKILL');
  dir.cleanup();
});

/** Another process: takes the write lock (BEGIN IMMEDIATE), holds it until told, commits. */
const HOLDER = `
const Database = require('better-sqlite3');
const db = new Database(process.argv[1]);
db.exec('BEGIN IMMEDIATE');
process.stdout.write('locked\\n');
process.stdin.once('data', () => {
  db.exec('COMMIT');
  db.close();
  process.exit(0);
});
`;

async function holdWriteLock(path: string): Promise<{ release(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', HOLDER, path], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  holders.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the lock holder exited (${code})`)));
  });
  return {
    async release() {
      child.stdin.write('release\n');
      await exited;
      holders.delete(child);
    },
  };
}

/** The largest event-loop delay while `run` ran, in ms. */
async function longestBlockMs(run: () => Promise<void>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  try {
    await run();
  } finally {
    histogram.disable();
  }
  return histogram.max / 1e6;
}

/**
 * The best of up to three runs of a scenario that returns its longest block: the machines running the tests share
 * their cores, so one run can be preempted for tens of milliseconds (test/event-loop.ts). A synchronous wait for
 * the lock blocks every run for the whole 2 s.
 */
async function leastOfThree(scenario: () => Promise<number>): Promise<number> {
  let best = Infinity;
  for (let attempt = 0; attempt < 3 && best >= EVENT_LOOP_BUDGET_MS; attempt++) best = Math.min(best, await scenario());
  return best;
}

function job(dedupeKey: string, conversationKey: string): NewJob {
  return { dedupeKey, conversationKey, kind: 'test', payload: { dedupeKey } };
}

/** Ten callers write while another process holds the lock for 2 s; each gets its own result, in order, once it is free. */
async function writesDuringLock(): Promise<number> {
  const path = freshPath();
  const store = openSqliteStore(path);
  await store.enqueue([job('before', 'c-before')]);
  const lock = await holdWriteLock(path);
  const calls: Array<Promise<EnqueueResult>> = [];
  let settled = 0;
  const blocked = await longestBlockMs(async () => {
    const lockedAt = Date.now();
    // Writes keep coming in many event-loop turns: the first batch waits for the lock, the others queue behind it.
    for (let i = 0; i < 10; i++) {
      // Odd callers repeat their key within the call: each must still get its own counts.
      const call = store.enqueue([job(`k${i}`, `c${i}`), job(i % 2 === 1 ? `k${i}` : `x${i}`, `c${i}`)]);
      void call.finally(() => settled++);
      calls.push(call);
      await sleep(50);
    }
    await sleep(Math.max(0, HOLD_MS - (Date.now() - lockedAt)));
    expect(settled).toBe(0);
    await lock.release();
    await Promise.all(calls);
  });

  expect(await Promise.all(calls)).toEqual(calls.map((_, i) => (i % 2 === 1 ? { accepted: 1, duplicates: 1 } : { accepted: 2, duplicates: 0 })));
  // The heads of the conversations, by job id: the writes were committed in the order they were made.
  const heads = await store.lease({ owner: 'w', limit: 100, leaseMs: 60_000 });
  expect(heads.map((j) => j.dedupeKey)).toEqual(['before', ...calls.map((_, i) => `k${i}`)]);
  const stats = await store.stats();
  expect(stats.pending + stats.leased).toBe(1 + 10 + 5);
  await store.close();
  return blocked;
}

describe('SQLite while another process holds the write lock', () => {
  it('waits without blocking the event loop, then commits every queued write in order with its own result', async () => {
    expect(await leastOfThree(writesDuringLock)).toBeLessThan(EVENT_LOOP_BUDGET_MS);
  });

  it('still gives up after busyTimeoutMs, with SQLITE_BUSY for every caller and nothing stored', async () => {
    const blocked = await leastOfThree(async () => {
      const path = freshPath();
      const store = openSqliteStore(path, { busyTimeoutMs: 300 });
      const lock = await holdWriteLock(path);
      let outcomes: Array<PromiseSettledResult<EnqueueResult>> = [];
      const blockedNow = await longestBlockMs(async () => {
        outcomes = await Promise.allSettled([store.enqueue([job('a', 'A')]), store.enqueue([job('b', 'B')])]);
      });
      await lock.release();
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
      expect(String((outcomes[0] as PromiseRejectedResult).reason)).toMatch(/locked|busy/i);
      expect((await store.stats()).pending).toBe(0);
      await store.close();
      return blockedNow;
    });
    expect(blocked).toBeLessThan(EVENT_LOOP_BUDGET_MS);
  });

  it('keeps the bridge answering /healthz during a 2 s lock, and acknowledges the waiting webhook once it is free', async () => {
    const genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
    const path = freshPath();
    const server = await startServer({ config: configSchema.parse(rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${path}` })), logger: silentLogger });
    try {
      const blocked = await leastOfThree(async () => {
        const lock = await holdWriteLock(path);
        const mid = fakeMid();
        let webhookStatus = 0;
        const healthz: number[] = [];
        const blockedNow = await longestBlockMs(async () => {
          const lockedAt = Date.now();
          const webhook = postInstagram(server.url, instagramDmWebhook({ mid, timestamp: Date.now(), text: 'while locked' }, TEST.accountId)).then((res) => {
            webhookStatus = res.status;
          });
          while (Date.now() - lockedAt < HOLD_MS) {
            const asked = performance.now();
            expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
            healthz.push(performance.now() - asked);
            await sleep(50);
          }
          expect(webhookStatus).toBe(0); // still waiting for the lock: neither acknowledged nor refused
          await lock.release();
          await webhook;
        });
        expect(webhookStatus).toBe(200);
        expect(healthz.length).toBeGreaterThan(10);
        expect(Math.max(...healthz)).toBeLessThan(500);
        expect(await eventually(() => genesys.messages.some((m) => (m.body as { channel: { messageId: string } }).channel.messageId === mid), 5000)).toBe(true);
        return blockedNow;
      });
      expect(blocked).toBeLessThan(EVENT_LOOP_BUDGET_MS);
    } finally {
      await server.close();
      await genesys.close();
    }
  });
});
