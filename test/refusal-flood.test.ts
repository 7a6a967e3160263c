/**
 * A flood of unsigned requests against a running bridge: each is refused with 401, and the log gains one line for
 * the first and one summary for the rest, so the flood cannot fill the disk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/index.js';
import { startServer, type RunningServer } from '../src/entry/server.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST, capturedLogger, postInstagram, rawTestConfig, tempDir } from './helpers.js';

const dir = tempDir();
const logs = capturedLogger('warn');
let genesys: FakeGenesys;
let bridge: RunningServer;

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  const raw = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/flood.db` });
  bridge = await startServer({ config: configSchema.parse(raw), logger: logs.logger });
});
afterAll(async () => {
  await genesys?.close();
  dir.cleanup();
});

describe('a flood of forged webhooks', () => {
  it('is refused request by request but logged in two lines, the second counting the rest', async () => {
    const FLOOD = 300;
    for (let i = 0; i < FLOOD; i += 50) {
      const answers = await Promise.all(Array.from({ length: 50 }, () => postInstagram(bridge.url, { object: 'instagram', entry: [] }, { signature: `sha256=${'ab'.repeat(32)}` })));
      expect(answers.every((a) => a.status === 401)).toBe(true);
    }
    await bridge.close();
    const lines = logs.lines.map((l) => JSON.parse(l) as { msg: string; total?: number });
    expect(lines.map((l) => l.msg)).toEqual(['webhook refused', 'webhook refusals']);
    expect(lines[1]!.total).toBe(FLOOD - 1);
  });
});
