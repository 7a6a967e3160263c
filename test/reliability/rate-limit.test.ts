/**
 * Reliability 4: the fake Genesys answers 429 with `Retry-After: 2` mid-burst, twice: first to one request only
 * (one instance learns of it; the other two can only know through the pause it stores), then to every request
 * for 300 ms. The bridge pauses the OAuth client's key in the shared store, so no instance sends Genesys a
 * request before the time it was given; then everything drains, in order, nothing lost, no duplicate (a 429
 * accepts nothing).
 *
 * THE MARGIN. When the fake answers 429 at T, requests may still arrive after T that were decided before any
 * instance could know: the instance that got the 429 needs one round trip to store the pause, and a job that
 * checked the pause just before that still reads the customer's profile and conversation (two store reads) and
 * then posts. On this loaded 2-core machine that window measured 20 to 200 ms (reported as "in flight"). So a
 * request is in flight when it arrives within IN_FLIGHT_MS of a 429, and a violation when it arrives later but
 * before that 429's Retry-After ran out. In the second episode in-flight requests are answered 429 too (their
 * Retry-After counts from their own answer, and they extend the pause).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers.js';
import { Cluster, allArrived, conversations, outcome, report, sendAll, sleep } from './harness.js';

const CUSTOMERS = 150;
const PER_CUSTOMER = 10;
const RETRY_AFTER_S = 2;
const LIMITED_FOR_MS = 300;
const IN_FLIGHT_MS = 500;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await Cluster.create({ genesysLatencyMs: 20 });
});
afterAll(async () => {
  await cluster?.close();
});

describe('reliability: Genesys rate limit (429, Retry-After: 2)', () => {
  it('sends nothing before the time Genesys gave, from any instance, then drains', async () => {
    // A 429 counts as an attempt; jobs that only waited for the pause do not.
    const bridges = await cluster.start(3, { queue: { maxAttempts: 100 } });
    const convs = conversations(CUSTOMERS, PER_CUSTOMER);
    const started = Date.now();
    const sending = sendAll(convs, () => bridges.map((b) => b.url), { deadline: started + 60_000 });

    const delivered = async () => (await cluster.genesys.read()).messages.length;
    const tooManyRequests = { status: 429, headers: { 'retry-after': String(RETRY_AFTER_S) } };
    expect(await eventually(async () => (await delivered()) >= 150, 30_000, 20)).toBe(true);
    await cluster.genesys.failNext(1, tooManyRequests);
    await sleep(RETRY_AFTER_S * 1000 + 500);
    expect(await eventually(async () => (await delivered()) >= 600, 30_000, 20)).toBe(true);
    await cluster.genesys.outage(LIMITED_FOR_MS, tooManyRequests);

    const stats = await sending;
    expect(stats.acked).toBe(CUSTOMERS * PER_CUSTOMER);
    expect(await allArrived(cluster.genesys, convs, 30_000)).toBe(true);
    expect(await cluster.drained(10_000)).toBe(true);
    const o = await outcome(convs, cluster.genesys);
    const jobs = await cluster.jobStates();

    const requests = cluster.genesys.requests.filter((r) => r.endpoint === 'message');
    const limited = requests.filter((r) => r.status === 429);
    const violations = new Set<(typeof requests)[number]>();
    const inFlight = new Set<(typeof requests)[number]>();
    for (const l of limited) {
      for (const r of requests) {
        if (r === l || r.at < l.answeredAt || r.at >= l.answeredAt + RETRY_AFTER_S * 1000) continue;
        if (r.at <= l.answeredAt + IN_FLIGHT_MS) inFlight.add(r);
        else violations.add(r);
      }
    }
    for (const r of violations) inFlight.delete(r);
    const latestInFlight = Math.max(0, ...[...inFlight].map((r) => r.at - Math.max(...limited.filter((l) => l.answeredAt <= r.at).map((l) => l.answeredAt))));
    const firsts = [limited[0], limited.find((l) => l.answeredAt > limited[0]!.answeredAt + RETRY_AFTER_S * 1000)].filter((l) => l !== undefined);
    const resumed = firsts.map((first) => {
      const after = requests.filter((r) => r.status !== 429 && r.at > first.answeredAt + IN_FLIGHT_MS)[0];
      return after ? `${after.at - first.answeredAt} ms` : 'never';
    });
    report(
      '4 (429 Retry-After: 2: one request, then all for 300 ms)',
      o,
      started,
      `${limited.length} answered 429, ${inFlight.size} arrived in flight (latest ${latestInFlight} ms after a 429), ` +
        `${violations.size} too early; sending resumed ${resumed.join(' and ')} after the first 429 of each episode; jobs ${JSON.stringify(jobs)}`,
    );

    expect(firsts).toHaveLength(2);
    expect(violations.size).toBe(0);
    expect(o).toEqual({ sent: 1500, acked: 1500, delivered: 1500, duplicated: 0, lost: 0, outOfOrder: 0, unknown: 0 });
    expect(jobs).toEqual({ pending: 0, leased: 0, done: 1500, dead: 0 });
  }, 90_000);
});
