/**
 * Reliability 2: `kill -9` one of three instances mid-burst. Its leased jobs are retaken by the others once their
 * 2 s leases expire; the webhooks it had not acknowledged are delivered again (as Meta does) to the surviving
 * instances. Nothing acknowledged is lost, order per conversation holds, and the only duplicates are jobs the
 * killed instance had in flight (delivered to Genesys, not yet marked done): at most its queue.concurrency, each
 * carrying the same channel.messageId as the first delivery.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers.js';
import { Cluster, allArrived, conversations, outcome, report, sendAll } from './harness.js';

const CUSTOMERS = 200;
const PER_CUSTOMER = 15;
const CONCURRENCY = 16;

let cluster: Cluster;
beforeAll(async () => {
  // 100 ms per Genesys call: delivery falls behind the burst, so every worker's slots are busy.
  cluster = await Cluster.create({ genesysLatencyMs: 100 });
});
afterAll(async () => {
  await cluster?.close();
});

describe('reliability: an instance killed with SIGKILL mid-burst', () => {
  it('loses nothing: its leases are retaken, unacknowledged webhooks go to the survivors, duplicates ≤ its concurrency', async () => {
    const bridges = await cluster.start(3, { queue: { leaseMs: 2000, concurrency: CONCURRENCY } });
    const victim = bridges[Math.floor(Math.random() * bridges.length)]!;
    const convs = conversations(CUSTOMERS, PER_CUSTOMER);
    const started = Date.now();

    // A load balancer stops routing to a dead instance; posts in flight to it fail and are sent again.
    let targets = bridges;
    const sending = sendAll(convs, () => targets.map((b) => b.url), { deadline: started + 60_000 });
    const killAt = 800 + Math.floor(Math.random() * 800);
    expect(await eventually(() => convs.flat().filter((m) => m.acked).length >= killAt, 30_000, 5)).toBe(true);
    // Kill when more conversations wait to run than all workers have slots: the victim's slots are full too.
    expect(await eventually(async () => (await cluster.readyHeads()) >= bridges.length * CONCURRENCY, 30_000, 5)).toBe(true);
    await cluster.kill(victim);
    targets = bridges.filter((b) => b !== victim);
    const ackedAtKill = convs.flat().filter((m) => m.acked).length;
    const stats = await sending;
    expect(stats.acked).toBe(CUSTOMERS * PER_CUSTOMER);

    expect(await allArrived(cluster.genesys, convs, 30_000)).toBe(true);
    expect(await cluster.drained(15_000)).toBe(true); // the victim's leases expire, its jobs run elsewhere
    const o = await outcome(convs, cluster.genesys);
    const jobs = await cluster.jobStates();
    const runAgain = await cluster.jobsRunAgain();
    const resent = convs.flat().filter((m) => m.posts > 1).length;
    report(
      `2 (SIGKILL ${victim.name} of 3 after ${ackedAtKill} acks)`,
      o,
      started,
      `${resent} webhooks re-sent to the survivors (${JSON.stringify(stats.refused)}), ${runAgain} jobs retaken after lease expiry; jobs ${JSON.stringify(jobs)}`,
    );

    expect(o).toMatchObject({ sent: CUSTOMERS * PER_CUSTOMER, acked: CUSTOMERS * PER_CUSTOMER, lost: 0, outOfOrder: 0, unknown: 0 });
    expect(o.delivered).toBe(o.sent);
    // Only jobs the victim had leased (delivered, not yet done) can reach Genesys twice.
    expect(o.duplicated).toBeLessThanOrEqual(CONCURRENCY);
    expect(o.duplicated).toBeLessThanOrEqual(runAgain);
    expect(runAgain).toBeGreaterThan(0); // the victim did hold leases, and others finished those jobs
    expect(jobs).toEqual({ pending: 0, leased: 0, done: CUSTOMERS * PER_CUSTOMER, dead: 0 });
    expect(targets.every((b) => b.alive())).toBe(true);
  }, 120_000);
});
