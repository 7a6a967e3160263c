/**
 * A bridge with one TikTok connection (and the helpers' Instagram one) against the fake TikTok Business API and the
 * fake Genesys, over real HTTP; and the customer and the agent of one TikTok conversation. Shared by the TikTok
 * end-to-end tests that need their own bridge configuration.
 */
import net from 'node:net';
import { expect } from 'vitest';
import { signTikTokBody } from '../src/channels/tiktok/verify.js';
import { startFakeTikTok, type FakeTikTok } from '../src/channels/tiktok/sandbox/fake-tiktok.js';
import { parseConfig, type Config } from '../src/config/index.js';
import type { RunningServer } from '../src/entry/server.js';
import { silentLogger, type Logger } from '../src/logger.js';
import type { Resolver } from '../src/net/media-fetch.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST, eventually, rawTestConfig, startTestServer, tempDir } from './helpers.js';

export const TT = {
  connectionId: 'acme-tiktok',
  businessId: '-000aBcD1234',
  appId: '7600000000000000042',
  appSecret: 'tiktok-app-secret-for-tests',
  accessToken: 'act.initial-access-token',
  refreshToken: 'rft.initial-refresh-token',
  integrationId: '0a1b2c3d-3333-4222-8333-944455566677',
  webhookSecret: 'tiktok-genesys-webhook-secret-0123',
} as const;

export type GenesysBody = {
  text?: string;
  content?: Array<{ attachment: { url: string; mediaType: string; mime: string } }>;
  buttonResponse?: { type: string; text: string; payload: string };
  originatingMessageId?: string;
  channel: { messageId: string; time: string; from: { id: string; nickname?: string }; metadata: { customAttributes: Record<string, string> } };
};
export type Receipt = { id: string; status: string; reasons?: Array<{ code: string; message: string }> };

export interface TikTokBridge {
  genesys: FakeGenesys;
  tiktok: FakeTikTok;
  bridge: RunningServer;
  config: Config;
  /** A new customer and conversation, known to the fake. */
  newConversation(): { customer: string; conversationId: string };
  /** A signed `im_receive_msg` (or another event); `t` is the signed time in unix seconds. */
  deliver(event: string, content: unknown, opts?: { t?: number; contentType?: string | null }): Promise<Response>;
  /** The customer writes; waits until Genesys has it. */
  customerWrites(c: { customer: string; conversationId: string }, extra?: Record<string, unknown>): Promise<string>;
  dmContent(c: { customer: string; conversationId: string }, extra?: Record<string, unknown>): Record<string, unknown> & { message_id: string };
  agentReplies(customer: string, args?: Partial<Parameters<typeof outboundWebhookBody>[0]>): Promise<string>;
  receiptFor(id: string, timeoutMs?: number): Promise<Receipt>;
  genesysFor(customer: string): GenesysBody[];
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * `tiktok`, `instagram` and `top` are merged into the TikTok connection, the Instagram connection (TEST's) and the
 * top level of the raw configuration.
 */
export async function startTikTokBridge(
  opts: {
    tiktok?: Record<string, unknown>;
    instagram?: Record<string, unknown>;
    top?: Record<string, unknown>;
    queue?: Record<string, unknown>;
    logger?: Logger;
    /** Entries of `media.allowedOrigins` besides the fakes' origins, e.g. a fake CDN. */
    mediaOrigins?: string[];
    /** How media hosts resolve (default: no name resolves). */
    resolveHost?: Resolver;
    /** Sizes past which the fake Genesys refuses an inbound message. */
    genesysLimits?: { textChars?: number; customAttributesBytes?: number };
  } = {},
): Promise<TikTokBridge> {
  const dir = tempDir();
  const genesys = await startFakeGenesys({
    clientId: TEST.genesysClientId,
    clientSecret: TEST.genesysClientSecret,
    integrationIds: [TEST.integrationId, TT.integrationId],
    ...(opts.genesysLimits ? { inboundLimits: opts.genesysLimits } : {}),
  });
  const tiktok = await startFakeTikTok({ appId: TT.appId, appSecret: TT.appSecret, businessId: TT.businessId, accessToken: TT.accessToken, refreshToken: TT.refreshToken });
  const port = await freePort();
  const raw = rawTestConfig({
    genesysUrl: genesys.url,
    store: `sqlite:${dir.path}/tiktok.db`,
    port,
    mediaOrigins: [genesys.storageUrl, tiktok.url, ...(opts.mediaOrigins ?? [])],
    ...(opts.queue ? { queue: opts.queue } : {}),
  });
  const connection = {
    id: TT.connectionId,
    channel: 'tiktok',
    businessId: TT.businessId,
    appId: TT.appId,
    appSecret: TT.appSecret,
    accessToken: TT.accessToken,
    refreshToken: TT.refreshToken,
    apiBaseUrl: tiktok.url,
    genesys: { integrationId: TT.integrationId, webhookSecret: TT.webhookSecret },
    ...opts.tiktok,
  };
  const config = parseConfig(
    JSON.stringify({ ...raw, server: { ...raw.server, publicUrl: `http://127.0.0.1:${port}` }, connections: [{ ...raw.connections[0], ...opts.instagram }, connection], ...opts.top }),
    {},
  );
  const bridge = await startTestServer({ config, logger: opts.logger ?? silentLogger, ...(opts.resolveHost ? { resolveHost: opts.resolveHost } : {}) });

  let seq = 0;
  const genesysFor = (customer: string) => genesys.messages.map((m) => m.body as GenesysBody).filter((b) => b.channel.from.id === customer);
  const dmContent: TikTokBridge['dmContent'] = (c, extra = {}) => {
    seq++;
    return {
      from: `customer.${c.customer.slice(1, 8)}`,
      to: 'acme_store',
      unique_identifier: c.customer,
      from_user: { id: c.customer, role: 'personal_account' },
      to_user: { id: TT.businessId, role: 'business_account' },
      conversation_id: c.conversationId,
      message_id: `m${seq}${Math.random().toString(36).slice(2, 8)}Bu+qc6l==`,
      timestamp: Date.now(),
      type: 'text',
      text: { body: 'Is this in stock?' },
      message_tag: { source: 'APP' },
      ...extra,
    };
  };
  const deliver: TikTokBridge['deliver'] = (event, content, o = {}) => {
    const body = JSON.stringify({ client_key: TT.appId, event, create_time: Math.floor(Date.now() / 1000), user_openid: TT.businessId, content: JSON.stringify(content) });
    const t = o.t ?? Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = { 'tiktok-signature': signTikTokBody(body, TT.appSecret, t) };
    if (o.contentType !== null) headers['content-type'] = o.contentType ?? 'application/json';
    return fetch(`${bridge.url}/webhooks/tiktok`, { method: 'POST', headers, body });
  };
  let conversations = 0;
  return {
    genesys,
    tiktok,
    bridge,
    config,
    newConversation() {
      conversations++;
      const c = { customer: `+Tr${conversations}x${Math.random().toString(36).slice(2, 7)}Q`, conversationId: `c${conversations}${Math.random().toString(36).slice(2, 7)}+pse/Ah==` };
      tiktok.addConversation(c.conversationId);
      return c;
    },
    deliver,
    dmContent,
    async customerWrites(c, extra) {
      const content = dmContent(c, extra);
      expect((await deliver('im_receive_msg', content)).status).toBe(200);
      expect(await eventually(() => genesysFor(c.customer).some((m) => m.channel.messageId === content.message_id))).toBe(true);
      return content.message_id;
    },
    async agentReplies(customer, args = {}) {
      const { id, body } = outboundWebhookBody({ integrationId: TT.integrationId, customerId: customer, text: 'Yes, it ships today.', ...args });
      expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/${TT.connectionId}`, body, TT.webhookSecret)).status).toBe(200);
      return id;
    },
    async receiptFor(id, timeoutMs = 6000) {
      expect(await eventually(() => genesys.receipts.some((r) => (r.body as Receipt).id === id), timeoutMs)).toBe(true);
      return genesys.receipts.map((r) => r.body as Receipt).find((r) => r.id === id)!;
    },
    genesysFor,
    async close() {
      await bridge.close();
      await Promise.all([genesys.close(), tiktok.close()]);
      dir.cleanup();
    },
  };
}
