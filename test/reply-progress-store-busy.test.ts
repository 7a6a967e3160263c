/**
 * A reply of several parts whose progress cannot be recorded for a moment: another process holds the SQLite file's
 * write lock, taken the instant Instagram accepted the first part and held past the store's busy timeout (5 s), so
 * recording that part as sent fails once. The bridge records it again once the lock is free instead of retrying the
 * job from that part: the customer gets every part once (docs/architecture.md, Settling).
 */
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { configSchema } from '../src/config/index.js';
import type { RunningServer } from '../src/entry/server.js';
import { silentLogger } from '../src/logger.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST, eventually, postInstagram, rawTestConfig, startTestServer, tempDir } from './helpers.js';

/** Past the SQLite store's busy timeout (5 s by default), so that a write waiting for the lock gives up once. */
const LOCK_HELD_MS = 6000;

let genesys: FakeGenesys;
let graph: FakeGraph;
let bridge: RunningServer;
const dir = tempDir();
const path = `${dir.path}/busy.db`;

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TEST.accountId });
  const config = configSchema.parse(rawTestConfig({ genesysUrl: genesys.url, graphUrl: graph.url, store: `sqlite:${path}` }));
  bridge = await startTestServer({ config, logger: silentLogger });
});
afterAll(async () => {
  await bridge?.close();
  await Promise.all([genesys?.close(), graph?.close()]);
  dir.cleanup();
});

type Receipt = { id: string; status: string };

describe('a reply of several parts while the store is locked by another process', () => {
  it('records the part sent once the lock is free, so the customer gets each part once', async () => {
    const customer = '8100000000042';
    const mid = fakeMid();
    expect((await postInstagram(bridge.url, instagramDmWebhook({ mid, timestamp: Date.now(), text: 'Tell me everything', from: customer }))).status).toBe(200);
    expect(await eventually(() => genesys.messages.some((m) => JSON.stringify(m.body).includes(mid)))).toBe(true);

    let released: Promise<void> | undefined;
    graph.onMessageSent(() => {
      if (released) return;
      const other = new Database(path);
      other.exec('BEGIN IMMEDIATE');
      released = new Promise((resolve) =>
        setTimeout(() => {
          other.exec('COMMIT');
          other.close();
          resolve();
        }, LOCK_HELD_MS),
      );
    });
    const text = Array.from({ length: 40 }, (_, i) => `Sentence ${i} about your order and its journey.`).join(' ');
    const { id, body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId: customer, text });
    expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/${TEST.connectionId}`, body, TEST.webhookSecret)).status).toBe(200);

    const receipt = () => genesys.receipts.map((r) => r.body as Receipt).find((r) => r.id === id);
    expect(await eventually(() => receipt() !== undefined, LOCK_HELD_MS + 20_000)).toBe(true);
    await released;
    expect(receipt()!.status).toBe('Delivered');
    const parts = graph.sends.map((s) => s.body as { recipient: { id: string }; message: { text?: string } }).filter((b) => b.recipient.id === customer);
    expect(parts.length).toBe(2);
    expect(parts.map((p) => p.message.text).join('')).toBe(text);
  }, 40_000);
});
