/**
 * Reliability 1: three bridge processes on one PostgreSQL schema. 10,000 messages from 500 customers, each
 * customer sending its next message only once the previous one was acknowledged, webhooks spread round-robin
 * over the three instances (so consecutive messages of one conversation are stored by different instances and
 * delivered by whichever leases them): every message reaches Genesys exactly once, in order per conversation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, allArrived, conversations, outcome, report, sendAll } from './harness.js';

const CUSTOMERS = 500;
const PER_CUSTOMER = 20;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await Cluster.create();
});
afterAll(async () => {
  await cluster?.close();
});

describe('reliability: three instances on one PostgreSQL', () => {
  it('delivers 10,000 messages from 500 customers exactly once, in order per conversation', async () => {
    const bridges = await cluster.start(3);
    const convs = conversations(CUSTOMERS, PER_CUSTOMER);
    const started = Date.now();
    const stats = await sendAll(convs, () => bridges.map((b) => b.url), { deadline: started + 100_000 });
    expect(stats.acked).toBe(CUSTOMERS * PER_CUSTOMER);

    expect(await allArrived(cluster.genesys, convs, 60_000)).toBe(true);
    expect(await cluster.drained(10_000)).toBe(true);
    const o = await outcome(convs, cluster.genesys);
    const jobs = await cluster.jobStates();
    report('1 (3 instances, 500 conversations, round-robin)', o, started, `${stats.posts} posts, refused ${JSON.stringify(stats.refused)}; jobs ${JSON.stringify(jobs)}`);

    expect(o).toEqual({ sent: 10_000, acked: 10_000, delivered: 10_000, duplicated: 0, lost: 0, outOfOrder: 0, unknown: 0 });
    expect(jobs).toEqual({ pending: 0, leased: 0, done: 10_000, dead: 0 });
    expect(bridges.every((b) => b.alive())).toBe(true);
  }, 170_000);
});
