/**
 * Reliability 5: the same webhook delivered 5 times at once, to different instances (as a platform retrying
 * through a load balancer might): every copy is acknowledged, and Genesys gets exactly one message. 200
 * messages from 50 customers, all copies in flight together, so the dedupe races between the instances'
 * group commits are likely.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster, allArrived, conversations, outcome, post, report, sleep, type Message } from './harness.js';

const CUSTOMERS = 50;
const PER_CUSTOMER = 4;
const COPIES = 5;

let cluster: Cluster;
beforeAll(async () => {
  cluster = await Cluster.create();
});
afterAll(async () => {
  await cluster?.close();
});

describe('reliability: one webhook delivered 5 times concurrently to different instances', () => {
  it('acknowledges every copy and delivers exactly one Genesys message per webhook', async () => {
    const bridges = await cluster.start(3);
    const convs = conversations(CUSTOMERS, PER_CUSTOMER);
    const started = Date.now();
    const refused: Record<string, number> = {};
    let posts = 0;

    /** One copy, sent again (to the next instance) until acknowledged, as the platform would. */
    const deliverCopy = async (m: Message, first: number) => {
      for (let i = first; ; i++) {
        const status = await post(bridges[i % bridges.length]!.url, m);
        posts++;
        if (status === 200) return;
        refused[status] = (refused[status] ?? 0) + 1;
        if (Date.now() - started > 60_000) throw new Error(`copy of ${m.mid} never acknowledged: ${status}`);
        await sleep(50);
      }
    };
    await Promise.all(
      convs.map(async (list, c) => {
        for (const m of list) {
          // Copy k goes to instance (c + k) mod 3: all three instances get the same webhook at the same time.
          await Promise.all(Array.from({ length: COPIES }, (_, k) => deliverCopy(m, c + k)));
          m.acked = true;
        }
      }),
    );

    expect(await allArrived(cluster.genesys, convs, 30_000)).toBe(true);
    expect(await cluster.drained(10_000)).toBe(true);
    await sleep(300); // a second job for the same webhook, if there were one, would have run by now
    const o = await outcome(convs, cluster.genesys);
    const jobs = await cluster.jobStates();
    const { rows } = await cluster.admin.query<{ n: string }>(`SELECT count(*) AS n FROM "${cluster.schema}".dedupe`);
    report(
      `5 (${COPIES} concurrent copies of each webhook over 3 instances)`,
      o,
      started,
      `${posts} posts (${COPIES}×${o.sent} copies${Object.keys(refused).length ? `, refused ${JSON.stringify(refused)}` : ''}), ${rows[0]!.n} dedupe keys; jobs ${JSON.stringify(jobs)}`,
    );

    expect(o).toEqual({ sent: 200, acked: 200, delivered: 200, duplicated: 0, lost: 0, outOfOrder: 0, unknown: 0 });
    expect(jobs).toEqual({ pending: 0, leased: 0, done: 200, dead: 0 });
    expect(Number(rows[0]!.n)).toBe(200);
  }, 90_000);
});
