/**
 * Every Instagram fixture (one per event kind) goes through the real bridge over HTTP, signed as Meta signs
 * it, and whatever the agent should see must be accepted by the fake Genesys's strict Open Messaging schema.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInstagramWebhook } from '../src/channels/instagram/parse.js';
import type { RunningServer } from '../src/entry/server.js';
import { silentLogger } from '../src/logger.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST, eventually, postInstagram, startTestServer, tempDir, testConfig } from './helpers.js';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'instagram');
const fixtures = readdirSync(FIXTURES).filter((f) => f.endsWith('.json')).sort();

let genesys: FakeGenesys;
let bridge: RunningServer;
const dir = tempDir();

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  bridge = await startTestServer({ config: testConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/fixtures.db` }), logger: silentLogger });
});
afterAll(async () => {
  await bridge?.close();
  await genesys?.close();
  dir.cleanup();
});

describe('every Instagram event kind, end to end', () => {
  it.each(fixtures)('%s: acknowledged, and every message for the agent accepted by Genesys', async (file) => {
    const raw = readFileSync(join(FIXTURES, file), 'utf8');
    const expected = parseInstagramWebhook(JSON.parse(raw)).events.filter((e) => e.kind === 'message' && e.accountId === TEST.accountId);
    const before = genesys.messages.length;
    const res = await postInstagram(bridge.url, raw);
    expect(res.status).toBe(200);
    expect(await eventually(() => genesys.messages.length >= before + expected.length, 5000)).toBe(true);
    const received = genesys.messages.slice(before).map((m) => m.body as { channel: { messageId: string }; text?: string; content?: unknown[] });
    expect(received.map((m) => m.channel.messageId)).toEqual(expected.map((e) => (e.kind === 'message' ? e.messageId : '')));
    for (const m of received) expect(Boolean(m.text?.trim()) || (m.content?.length ?? 0) > 0).toBe(true);
    expect(await bridge.bridge.store.listDead(100)).toEqual([]);
  });
});
