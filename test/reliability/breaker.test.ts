/**
 * Reliability 7: Genesys down while hundreds of conversations wait, on two instances sharing PostgreSQL. Without a
 * breaker every waiting job retries on its own backoff, so an outage draws calls in proportion to the backlog; with
 * it, after a few failures the Genesys client is paused for every job and instance, one probe at a time tests it
 * with growing intervals, and the first success lets everything flow at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers.js';
import { Cluster, allArrived, conversations, outcome, report, sendAll, sleep } from './harness.js';

const CUSTOMERS = 300;
const PER_CUSTOMER = 2;
const OUTAGE_MS = 5000;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await Cluster.create({ genesysLatencyMs: 5 });
});
afterAll(async () => {
  await cluster?.close();
});

describe('reliability: a breaker in front of Genesys', () => {
  it('calls Genesys a handful of times during an outage however many conversations wait, and resumes within seconds', async () => {
    // Short backoffs: without a breaker each of the 300 waiting conversations would call several times a second.
    const bridges = await cluster.start(2, { genesysTimeoutMs: 1000, queue: { maxAttempts: 100, backoffBaseMs: 50, backoffMaxMs: 500 } });
    const { from: outageStart, until: outageEnd } = await cluster.genesys.outage(OUTAGE_MS, { status: 503 });
    const convs = conversations(CUSTOMERS, PER_CUSTOMER);
    const started = Date.now();
    const stats = await sendAll(convs, () => bridges.map((b) => b.url), { deadline: started + 60_000 });
    expect(stats.acked).toBe(CUSTOMERS * PER_CUSTOMER);
    await sleep(Math.max(0, outageEnd - Date.now()));
    expect(await allArrived(cluster.genesys, convs, 30_000)).toBe(true);
    expect(await cluster.drained(15_000)).toBe(true);

    await cluster.genesys.read();
    const calls = cluster.genesys.requests.filter((r) => r.endpoint === 'message');
    // The first second lets each instance see its failures and open the breaker; after that only probes go out.
    const duringOutage = calls.filter((r) => r.at >= outageStart + 1000 && r.at < outageEnd).length;
    const firstAccepted = calls.find((r) => r.at >= outageEnd && r.status < 300);
    const resumedAfterMs = firstAccepted ? firstAccepted.at - outageEnd : Number.POSITIVE_INFINITY;
    const o = await outcome(convs, cluster.genesys);
    report(
      '7 (Genesys down 5 s, 300 conversations waiting, 2 instances)',
      o,
      started,
      `${calls.filter((r) => r.at < outageEnd).length} calls during the outage, ${duringOutage} of them after its first second; first delivery ${resumedAfterMs} ms after it ended`,
    );

    expect(duringOutage).toBeLessThan(CUSTOMERS / 10);
    expect(resumedAfterMs).toBeLessThan(8000);
    expect(o).toEqual({ sent: 600, acked: 600, delivered: 600, duplicated: 0, lost: 0, outOfOrder: 0, unknown: 0 });
    expect(await eventually(async () => (await cluster.jobStates()).done === 600, 5000)).toBe(true);
  }, 90_000);
});
