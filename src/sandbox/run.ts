/**
 * `npm start` without a config: fake Genesys + fake Instagram Graph API + a bridge wired to them, a demo DM
 * sent through the whole path, and every message the fake Genesys receives printed as an agent would see it.
 */
import { createLogger } from '../logger.js';
import { startServer } from '../entry/server.js';
import { SANDBOX, sandboxConfig, type SandboxPorts } from './config.js';
import { startFakeGenesys, type FakeGenesys } from './fake-genesys/index.js';
import { createServer, type AddressInfo } from 'node:net';
import { startFakeGraph, type FakeGraph } from './fake-graph.js';
import { startFakeTikTok, type FakeTikTok } from './fake-tiktok.js';
import { signMetaBody } from '../channels/instagram/verify.js';
import { postTikTokEvent, sendSandboxDm } from './send.js';

export interface SandboxOptions {
  ports?: Partial<SandboxPorts>;
  store?: string;
  logLevel?: string;
  out?: (line: string) => void;
}

export interface RunningSandbox {
  bridgeUrl: string;
  genesys: FakeGenesys;
  graph: FakeGraph;
  tiktok: FakeTikTok;
  close(): Promise<void>;
}

export async function runSandbox(opts: SandboxOptions = {}): Promise<RunningSandbox> {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const ports = { bridge: SANDBOX.bridgePort, genesys: SANDBOX.genesysPort, graph: SANDBOX.graphPort, tiktok: SANDBOX.tiktokPort, ...opts.ports };
  const genesys = await startFakeGenesys({
    port: ports.genesys,
    clientId: SANDBOX.genesysClientId,
    clientSecret: SANDBOX.genesysClientSecret,
    integrationIds: [SANDBOX.integrationId, SANDBOX.tiktok.integrationId],
  });
  const tiktok = await startFakeTikTok({
    port: ports.tiktok,
    appId: SANDBOX.tiktok.appId,
    appSecret: SANDBOX.tiktok.appSecret,
    businessId: SANDBOX.tiktok.businessId,
    accessToken: SANDBOX.tiktok.accessToken,
    refreshToken: SANDBOX.tiktok.refreshToken,
    conversations: [SANDBOX.tiktok.conversationId],
  });
  const graph = await startFakeGraph({
    port: ports.graph,
    accessToken: SANDBOX.instagramAccessToken,
    accountId: SANDBOX.instagramAccountId,
    profiles: { [SANDBOX.customer.igsid]: { name: SANDBOX.customer.name, username: SANDBOX.customer.username } },
  });
  const logLevel = opts.logLevel ?? 'warn';
  const logger = createLogger(logLevel);
  const config = sandboxConfig(
    // The bridge's port must be known before it starts: it is in the media links it hands out.
    { bridge: ports.bridge || (await freePort()), genesys: portOf(genesys.url), graph: portOf(graph.url), tiktok: portOf(tiktok.url) },
    opts.store ?? 'sqlite:./data/sandbox.db',
    logLevel,
  );
  const running = await startServer({ config, logger });
  let timer: NodeJS.Timeout | undefined;
  const sandbox: RunningSandbox = {
    bridgeUrl: running.url,
    genesys,
    graph,
    tiktok,
    async close() {
      clearInterval(timer);
      await running.close();
      await Promise.all([genesys.close(), graph.close(), tiktok.close()]);
    },
  };

  out(
    [
      '',
      'dmbridge sandbox: nothing here talks to Meta or Genesys; all three servers are local fakes.',
      `  bridge           ${running.url}   POST /webhooks/instagram, POST /webhooks/genesys/${SANDBOX.connectionId}, GET /healthz, GET /metrics`,
      `  fake Genesys     ${genesys.url}   GET /sandbox/messages and /sandbox/receipts: what agents received`,
      `  fake Graph API   ${graph.url}`,
      `  fake TikTok API  ${tiktok.url}   (POST /webhooks/tiktok on the bridge)`,
      '',
      'Play the customer from another terminal:',
      '  npm run dmbridge -- sandbox send "Hi, where is my order?"',
      '  npm run dmbridge -- sandbox send --image https://picsum.photos/200.jpg "Is this one in stock?"',
      '  npm run dmbridge -- sandbox send --tiktok "Is the blue mug in stock?"',
      '  npm run dmbridge -- sandbox mention          (a TikTok video mentioning the brand)',
      'and the agent:',
      '  npm run dmbridge -- sandbox reply "Your parcel ships today."',
      '  npm run dmbridge -- sandbox reply --tiktok "Yes, it ships today."',
      '',
    ].join('\n'),
  );
  // Like Meta, the fake Graph API echoes every message the account sends back as a webhook (is_echo).
  graph.onMessageSent(({ messageId, body }) => echoToBridge(running.url, messageId, body));
  // Like TikTok, every message the business sends comes back as an im_send_msg webhook.
  tiktok.onMessageSent(({ messageId, body }) => tiktokEchoToBridge(running.url, messageId, body));
  timer = printTraffic(genesys, graph, tiktok, out);

  const demo = await sendSandboxDm(running.url, { text: 'Hi! Is my order on its way? (demo DM sent by the sandbox)' });
  out(`customer → bridge: demo DM ${demo.mid.slice(0, 16)}… answered ${demo.status} ${demo.body}`);
  return sandbox;
}

async function tiktokEchoToBridge(bridgeUrl: string, messageId: string, body: unknown): Promise<void> {
  const sent = body as { recipient: string; text?: { body?: string } };
  const { businessId, customer } = SANDBOX.tiktok;
  await postTikTokEvent(bridgeUrl, 'im_send_msg', {
    from: 'acme_store',
    to: customer.username,
    unique_identifier: businessId,
    from_user: { id: businessId, role: 'business_account' },
    to_user: { id: customer.id, role: 'personal_account' },
    conversation_id: sent.recipient,
    message_id: messageId,
    timestamp: Date.now(),
    type: 'text',
    text: { body: sent.text?.body ?? '' },
    message_tag: { source: 'API' },
  }).catch(() => undefined);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Prints what crosses each fake: messages and receipts at Genesys, sends at Instagram. */
function printTraffic(genesys: FakeGenesys, graph: FakeGraph, tiktok: FakeTikTok, out: (line: string) => void): NodeJS.Timeout {
  let messages = 0;
  let receipts = 0;
  let sends = 0;
  let tiktokSends = 0;
  const timer = setInterval(() => {
    while (messages < genesys.messages.length) out(`bridge → Genesys: ${describeForAgent(genesys.messages[messages++]!.body)}`);
    while (sends < graph.sends.length) out(`bridge → Instagram: ${JSON.stringify(graph.sends[sends++]!.body)}`);
    while (tiktokSends < tiktok.sends.length) out(`bridge → TikTok: ${JSON.stringify(tiktok.sends[tiktokSends++]!.body)}`);
    while (receipts < genesys.receipts.length) {
      const receipt = genesys.receipts[receipts++]!.body as { id: string; status: string; reasons?: Array<{ code?: string; message: string }> };
      const reason = receipt.reasons?.[0];
      out(`bridge → Genesys receipt for ${receipt.id}: ${receipt.status}${reason ? ` (${reason.code}) ${reason.message}` : ''}`);
    }
  }, 100);
  timer.unref();
  return timer;
}

async function echoToBridge(bridgeUrl: string, messageId: string, body: unknown): Promise<void> {
  const sent = body as { recipient: { id: string }; message?: { text?: string } };
  const now = Date.now();
  const echo = {
    object: 'instagram',
    entry: [
      {
        id: SANDBOX.instagramAccountId,
        time: now,
        messaging: [
          {
            sender: { id: SANDBOX.instagramAccountId },
            recipient: { id: sent.recipient.id },
            timestamp: now,
            message: { mid: messageId, is_echo: true, ...(sent.message?.text ? { text: sent.message.text } : {}) },
          },
        ],
      },
    ],
  };
  const raw = JSON.stringify(echo);
  await fetch(`${bridgeUrl}/webhooks/instagram`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signMetaBody(raw, SANDBOX.metaAppSecret) },
    body: raw,
  }).catch(() => undefined);
}

function describeForAgent(body: unknown): string {
  const msg = body as {
    text?: string;
    content?: Array<{ attachment?: { mediaType?: string; url?: string } }>;
    channel?: { from?: { nickname?: string; id?: string }; metadata?: { customAttributes?: Record<string, string> } };
  };
  const who = msg.channel?.from?.nickname ?? msg.channel?.from?.id ?? 'unknown';
  const source = msg.channel?.metadata?.customAttributes?.['dmbridge.source'] ?? 'unknown source';
  const attachment = msg.content?.[0]?.attachment;
  const media = attachment ? ` [${attachment.mediaType} ${attachment.url}]` : '';
  return `[${source}] ${who}: ${msg.text ?? ''}${media}`;
}
