/**
 * Reliability 3: the fake Genesys is down for 3 s mid-burst, answering 503 and holding requests until they time
 * out (in turn). Webhooks are still acknowledged (they only need the store); the backlog drains once Genesys is
 * back, in order per conversation, with nothing lost and no duplicate. A held request is never recorded by the
 * fake (Genesys did not accept it), so a timeout cannot create a duplicate here; the bridges' Genesys timeout is
 * 1 s so that held requests do time out in the bridge during the outage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers.js';
import { Cluster, allArrived, conversations, outcome, report, sendAll, sleep } from './harness.js';

const CUSTOMERS = 100;
const PER_CUSTOMER = 10;
const OUTAGE_MS = 3000;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await Cluster.create({ genesysLatencyMs: 5 });
});
afterAll(async () => {
  await cluster?.close();
});

describe('reliability: Genesys down for a while', () => {
  it('keeps acknowledging, then drains the backlog in order with nothing lost and no duplicate', async () => {
    // Retries every 25–500 ms through the outage: many attempts, so maxAttempts must not dead-letter them.
    const bridges = await cluster.start(3, { genesysTimeoutMs: 1000, queue: { maxAttempts: 100, backoffBaseMs: 50, backoffMaxMs: 500 } });
    const convs = conversations(CUSTOMERS, PER_CUSTOMER);
    const started = Date.now();
    const sending = sendAll(convs, () => bridges.map((b) => b.url), { deadline: started + 60_000 });

    expect(await eventually(async () => (await cluster.genesys.read()).messages.length >= 150, 20_000, 20)).toBe(true);
    const { from: outageStart, until: outageEnd } = await cluster.genesys.outage(OUTAGE_MS, [{ status: 503 }, 'timeout']);
    await sleep(Math.max(0, outageEnd - Date.now()));
    const ackedByOutageEnd = convs.flat().filter((m) => m.acked).length;
    await cluster.genesys.read();
    const deliveredByOutageEnd = cluster.genesys.messages.length;

    const stats = await sending;
    expect(stats.acked).toBe(CUSTOMERS * PER_CUSTOMER);
    expect(await allArrived(cluster.genesys, convs, 30_000)).toBe(true);
    const drainedAt = Date.now();
    expect(await cluster.drained(10_000)).toBe(true);
    const o = await outcome(convs, cluster.genesys);
    const jobs = await cluster.jobStates();
    const during = cluster.genesys.requests.filter((r) => r.at >= outageStart && r.at < outageEnd);
    const refused503 = during.filter((r) => r.status === 503).length;
    const timedOut = during.filter((r) => r.timedOut).length;
    // A message is recorded after the fake's latency: one that arrived just before the outage may land just inside.
    const acceptedDuring = cluster.genesys.messages.filter((m) => m.at >= outageStart + 50 && m.at < outageEnd).length;
    report(
      '3 (Genesys down 3 s: 503 and timeouts)',
      o,
      started,
      `outage refused ${refused503} with 503 and held ${timedOut} until timeout; backlog at its end ${ackedByOutageEnd - deliveredByOutageEnd}, ` +
        `drained ${((drainedAt - outageEnd) / 1000).toFixed(1)} s after; jobs ${JSON.stringify(jobs)}`,
    );

    expect(refused503).toBeGreaterThan(0);
    expect(timedOut).toBeGreaterThan(0);
    expect(acceptedDuring).toBe(0);
    expect(o).toEqual({ sent: 1000, acked: 1000, delivered: 1000, duplicated: 0, lost: 0, outOfOrder: 0, unknown: 0 });
    expect(jobs).toEqual({ pending: 0, leased: 0, done: 1000, dead: 0 });
  }, 90_000);
});
