/**
 * Reliability 6: every PostgreSQL connection of the three bridges is killed (`pg_terminate_backend`) mid-burst,
 * again and again. Each bridge's pool drops the broken connections and opens new ones; a webhook whose batch
 * was lost is answered 5xx and the sender delivers it again (as platforms do). Nothing is acknowledged that was
 * not stored: every acknowledged message reaches Genesys, in order per conversation. And since no worker dies,
 * nothing reaches Genesys twice: a completion lost with a connection is tried again on a fresh one while the job's
 * lease (2 s) lasts (src/queue/worker.ts, SETTLE RETRIES), instead of the job running again after its lease.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers.js';
import { Cluster, allArrived, conversations, outcome, report, sendAll, sleep } from './harness.js';

const CUSTOMERS = 200;
const PER_CUSTOMER = 10;
const CONCURRENCY = 16;
const ROUNDS = 6;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await Cluster.create({ genesysLatencyMs: 10 });
});
afterAll(async () => {
  await cluster?.close();
});

describe('reliability: PostgreSQL connections killed mid-burst, repeatedly', () => {
  it('reconnects, answers 5xx for what it could not store, loses nothing it acknowledged, and delivers nothing twice', async () => {
    // Store errors inside a job count as attempts; many rounds of kills must not dead-letter anything.
    const bridges = await cluster.start(3, { queue: { leaseMs: 2000, concurrency: CONCURRENCY, maxAttempts: 100 } });
    const convs = conversations(CUSTOMERS, PER_CUSTOMER);
    const started = Date.now();
    const sending = sendAll(convs, () => bridges.map((b) => b.url), { deadline: started + 60_000, retryDelayMs: 50 });

    expect(await eventually(() => convs.flat().filter((m) => m.acked).length >= 150, 20_000, 5)).toBe(true);
    let terminated = 0;
    let midBurst = 0;
    for (let round = 0; round < ROUNDS; round++) {
      if (convs.flat().some((m) => !m.acked)) midBurst++;
      terminated += await cluster.terminateBackends();
      await sleep(250 + Math.floor(Math.random() * 150));
    }
    const stats = await sending;
    expect(stats.acked).toBe(CUSTOMERS * PER_CUSTOMER);

    expect(await allArrived(cluster.genesys, convs, 30_000)).toBe(true);
    expect(await cluster.drained(15_000)).toBe(true);
    const o = await outcome(convs, cluster.genesys);
    const jobs = await cluster.jobStates();
    const runAgain = await cluster.jobsRunAgain();
    const answers5xx = Object.entries(stats.refused).filter(([status]) => /^5\d\d$/.test(status)).reduce((n, [, c]) => n + c, 0);
    report(
      `6 (pg_terminate_backend × ${ROUNDS} rounds, ${midBurst} mid-burst, ${terminated} connections)`,
      o,
      started,
      `${answers5xx} webhooks answered 5xx and re-sent, refused ${JSON.stringify(stats.refused)}, ${runAgain} jobs ran more than once; ` +
        `jobs ${JSON.stringify(jobs)}`,
    );

    expect(midBurst).toBeGreaterThanOrEqual(2);
    expect(terminated).toBeGreaterThan(0);
    expect(answers5xx).toBeGreaterThan(0);
    // Refusals are 5xx (nothing stored, try again) or connection-level failures; never a 4xx.
    expect(Object.keys(stats.refused).filter((status) => /^[1-4]\d\d$/.test(status))).toEqual([]);
    expect(o).toMatchObject({ sent: 2000, acked: 2000, delivered: 2000, duplicated: 0, lost: 0, outOfOrder: 0, unknown: 0 });
    expect(jobs).toEqual({ pending: 0, leased: 0, done: 2000, dead: 0 });
    expect(bridges.every((b) => b.alive())).toBe(true);
  }, 90_000);
});
