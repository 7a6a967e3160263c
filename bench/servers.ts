/**
 * The servers the ingest benchmark compares, each started in its own process so its RSS can be read:
 *   genesys  <port> <latencyMs>          the fake Genesys
 *   empty    <port>                      the ceiling: same server stack (Hono on @hono/node-server), reads the body, answers 200
 *   dmbridge <port> <genesysUrl> <db> [deliver|hold]
 *                                        the real bridge: verify, parse, store (group commit), ack; its worker
 *                                        delivers meanwhile (deliver) or is not started (hold: ingest alone)
 *   forward  <port> <genesysUrl>         the naive design: verify, parse, POST to Genesys, then ack
 *   relay    <port> <genesysUrl> <storeUrl> <deliver|hold> [postgres schema]
 *                                        the bridge on any store (sqlite:…, postgres://…)
 * Prints "ready <url>" when listening.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { parseInstagramWebhook } from '../src/channels/instagram/parse.js';
import { verifyMetaSignature } from '../src/channels/instagram/verify.js';
import { startServer } from '../src/entry/server.js';
import { GenesysClient } from '../src/genesys/client.js';
import { buildGenesysInboundMessage } from '../src/genesys/translate.js';
import { silentLogger } from '../src/logger.js';
import { startFakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST, testConfig } from '../test/helpers.js';

const argv = process.argv.slice(2);
const [mode, portArg, arg1, arg2] = argv;
const port = Number(portArg ?? 0);

function listen(app: Hono): Promise<string> {
  return new Promise((resolve) => {
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }, () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

async function main(): Promise<string> {
  switch (mode) {
    case 'genesys': {
      const fake = await startFakeGenesys({
        port,
        clientId: TEST.genesysClientId,
        clientSecret: TEST.genesysClientSecret,
        integrationIds: [TEST.integrationId],
        latencyMs: Number(arg1 ?? 0),
      });
      return fake.url;
    }
    case 'empty': {
      const app = new Hono();
      app.post('/webhooks/instagram', async (c) => {
        await c.req.arrayBuffer();
        return c.text('EVENT_RECEIVED');
      });
      return listen(app);
    }
    case 'dmbridge': {
      const config = testConfig({ genesysUrl: arg1!, store: `sqlite:${arg2!}`, port, queue: { concurrency: 64, pollMs: 200 } });
      return (await startServer({ config, logger: silentLogger, worker: argv[3] !== 'hold' })).url;
    }
    case 'relay': {
      const config = testConfig({ genesysUrl: arg1!, store: arg2!, port, queue: { concurrency: 64, pollMs: 200 } });
      if (argv[5]) config.postgres.schema = argv[5];
      return (await startServer({ config, logger: silentLogger, worker: argv[4] !== 'hold' })).url;
    }
    case 'forward': {
      const config = testConfig({ genesysUrl: arg1!, store: 'sqlite::memory:' });
      const client = new GenesysClient({ config: config.genesys });
      const app = new Hono();
      app.post('/webhooks/instagram', async (c) => {
        const raw = new Uint8Array(await c.req.arrayBuffer());
        if (!verifyMetaSignature(raw, c.req.header('x-hub-signature-256'), [TEST.appSecret]).ok) return c.text('bad signature', 401);
        const { events } = parseInstagramWebhook(JSON.parse(new TextDecoder().decode(raw)));
        for (const event of events) {
          if (event.kind === 'message') {
            await client.sendInboundMessage(TEST.integrationId, buildGenesysInboundMessage(event, { connectionId: TEST.connectionId, source: 'Instagram DM' }));
          }
        }
        return c.text('EVENT_RECEIVED');
      });
      return listen(app);
    }
    default:
      throw new Error(`unknown mode ${mode}`);
  }
}

main().then(
  (url) => process.stdout.write(`ready ${url}\n`),
  (err: unknown) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  },
);
