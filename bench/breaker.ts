/**
 * Breaker benchmark: Genesys down while 10, 200 or 5,000 conversations wait on one bridge (SQLite).
 *
 *   npm run bench:breaker [-- --outage-seconds 12 --sizes 10,200,5000]
 *
 * For each size: the fake Genesys answers 503 from the start; the bridge is sent one DM per conversation, with a
 * short backoff (50–500 ms) so that without a breaker every waiting job would call several times a second. Counts
 * the calls Genesys received in the outage after its first two seconds (the breaker opens in those), and, once it
 * ends, how long until the first delivery and until every conversation was delivered. Prints a Markdown table.
 */
import { cpus } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { signMetaBody } from '../src/channels/instagram/verify.js';
import { startServer } from '../src/entry/server.js';
import { silentLogger } from '../src/logger.js';
import { startFakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST, testConfig } from '../test/helpers.js';

const { values } = parseArgs({ options: { 'outage-seconds': { type: 'string', default: '12' }, sizes: { type: 'string', default: '10,200,5000' } } });
const OUTAGE_MS = Number(values['outage-seconds']) * 1000;
const SETTLE_MS = 2000;

interface Row {
  conversations: number;
  callsInOutage: number;
  callsPerSecond: number;
  firstDeliveryMs: number;
  allDeliveredMs: number;
}

async function measure(conversations: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'dmbridge-breaker-'));
  const genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [TEST.integrationId] });
  const { from, until } = genesys.outage(OUTAGE_MS, { status: 503 });
  const config = testConfig({ genesysUrl: genesys.url, store: `sqlite:${join(dir, 'bench.db')}`, queue: { concurrency: 64, maxAttempts: 100, backoffBaseMs: 50, backoffMaxMs: 500 } });
  const bridge = await startServer({ config, logger: silentLogger });
  try {
    for (let i = 0; i < conversations; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, conversations - i) }, (_, j) => {
          const raw = JSON.stringify(instagramDmWebhook({ mid: fakeMid(), timestamp: Date.now(), text: 'where is my order?', from: String(7_000_000 + i + j) }, TEST.accountId));
          return fetch(`${bridge.url}/webhooks/instagram`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, TEST.appSecret) }, body: raw });
        }),
      );
    }
    await new Promise((r) => setTimeout(r, Math.max(0, until - Date.now())));
    const deadline = Date.now() + 120_000;
    while (genesys.messages.length < conversations && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const calls = genesys.inboundRequests.filter((r) => r.endpoint === 'message');
    const inOutage = calls.filter((r) => r.at >= from + SETTLE_MS && r.at < until).length;
    const delivered = calls.filter((r) => r.status < 300 && r.at >= until).map((r) => r.at);
    return {
      conversations,
      callsInOutage: inOutage,
      callsPerSecond: inOutage / ((OUTAGE_MS - SETTLE_MS) / 1000),
      firstDeliveryMs: delivered.length > 0 ? Math.min(...delivered) - until : NaN,
      allDeliveredMs: genesys.messages.length >= conversations ? Math.max(...delivered) - until : NaN,
    };
  } finally {
    await bridge.close();
    await genesys.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: Row[] = [];
for (const size of values.sizes.split(',').map(Number)) {
  process.stderr.write(`measuring ${size} conversations…\n`);
  rows.push(await measure(size));
}
console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; Genesys down ${OUTAGE_MS / 1000} s (503), backoff 50–500 ms\n`);
console.log('| conversations waiting | calls to Genesys in the outage (after its first 2 s) | calls/s | first delivery after recovery | all delivered after recovery |');
console.log('|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.conversations} | ${r.callsInOutage} | ${r.callsPerSecond.toFixed(1)} | ${(r.firstDeliveryMs / 1000).toFixed(1)} s | ${(r.allDeliveredMs / 1000).toFixed(1)} s |`);
}
