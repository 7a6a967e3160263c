/**
 * Outcomes named for what they are: a reply the platform's rules refuse (the window closed) is a Failed receipt
 * for the agent, counted and logged at info — not a dead letter an operator is alerted to; every message crossing
 * the bridge leaves one info line with its ids and outcome, never its text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { configSchema } from '../src/config/index.js';
import { startServer, type RunningServer } from '../src/entry/server.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST, capturedLogger, eventually, postInstagram, rawTestConfig, tempDir } from './helpers.js';

const HOUR = 3_600_000;
const dir = tempDir();
const logs = capturedLogger('info');
let genesys: FakeGenesys;
let graph: FakeGraph;
let bridge: RunningServer;

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId: TEST.accountId });
  const raw = rawTestConfig({ genesysUrl: genesys.url, graphUrl: graph.url, store: `sqlite:${dir.path}/outcomes.db` });
  bridge = await startServer({ config: configSchema.parse({ ...raw, log: { level: 'info' } }), logger: logs.logger });
});
afterAll(async () => {
  await bridge?.close();
  await Promise.all([genesys?.close(), graph?.close()]);
  dir.cleanup();
});

const lines = () => logs.lines.map((l) => JSON.parse(l) as { level: number; msg: string; [k: string]: unknown });

async function conversation(customer: string, writtenAt: number, reply: string): Promise<{ mid: string; receipt: { status: string; reasons?: Array<{ code: string }> } }> {
  const mid = fakeMid();
  expect((await postInstagram(bridge.url, instagramDmWebhook({ mid, timestamp: writtenAt, text: 'private words of the customer', from: customer }, TEST.accountId))).status).toBe(200);
  expect(await eventually(() => genesys.messages.some((m) => (m.body as { channel: { messageId: string } }).channel.messageId === mid))).toBe(true);
  const { id, body } = outboundWebhookBody({ integrationId: TEST.integrationId, customerId: customer, text: reply });
  expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/${TEST.connectionId}`, body, TEST.webhookSecret)).status).toBe(200);
  const receipt = () => genesys.receipts.map((r) => r.body as { id: string; status: string }).find((r) => r.id === id);
  expect(await eventually(() => receipt() !== undefined, 8000)).toBe(true);
  return { mid, receipt: receipt()! };
}

describe('a reply refused by the platform rules', () => {
  it('is a Failed receipt counted as such and logged at info, and no dead letter', async () => {
    const { receipt } = await conversation('8200000001', Date.now() - 30 * HOUR, 'private words of the agent');
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'MessageExpired' }] });
    expect(await bridge.bridge.store.listDead(10)).toEqual([]);
    const outcomes = (await bridge.bridge.metrics.jobs.get()).values.map((v) => ({ outcome: v.labels.outcome, value: v.value }));
    expect(outcomes).toContainEqual({ outcome: 'failed_MessageExpired', value: 1 });
    expect(outcomes.find((o) => o.outcome === 'dead')).toBeUndefined();
    const refused = lines().find((l) => l.msg === 'agent reply refused by the platform rules')!;
    expect(refused).toMatchObject({ level: 30, connectionId: TEST.connectionId, outcome: 'Failed', reason: 'MessageExpired' });
    expect(lines().filter((l) => l.level >= 50)).toEqual([]);
  });
});

describe('every message crossing the bridge', () => {
  it('leaves one info line with its ids and outcome each way, and never its text', async () => {
    const { mid, receipt } = await conversation('8200000002', Date.now(), 'private words of the agent');
    expect(receipt.status).toBe('Delivered');
    expect(lines().filter((l) => l.msg === 'customer message delivered to Genesys' && l.messageId === mid)).toHaveLength(1);
    expect(lines().filter((l) => l.msg === 'agent reply delivered' && l.outcome === 'Delivered').length).toBeGreaterThanOrEqual(1);
    expect(logs.text()).not.toContain('private words');
  });
});
