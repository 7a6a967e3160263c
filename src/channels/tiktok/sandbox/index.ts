/** TikTok's part of the sandbox: the fake Business API, the sandbox connection, the customer it plays. */
import { randomUUID } from 'node:crypto';
import type { ChannelSandbox, SandboxCall, SandboxDelivery, SandboxFake } from '../../../core/channel.js';
import { TIKTOK_SANDBOX, echoToBridge, sendSandboxTikTokDm, sendSandboxTikTokMention, sendSandboxTikTokReaction, type PostedTikTokEvent } from './customer.js';
import { startFakeTikTok, type FakeTikTok } from './fake-tiktok.js';

/** The running fake, where a customer's image is hosted: TikTok serves DM media itself (key fact 25). */
let running: FakeTikTok | undefined;

export const tiktokSandbox: ChannelSandbox = {
  connectionId: TIKTOK_SANDBOX.connectionId,
  integrationId: TIKTOK_SANDBOX.integrationId,
  genesysWebhookSecret: TIKTOK_SANDBOX.genesysWebhookSecret,
  customerId: TIKTOK_SANDBOX.customer.id,
  customerName: TIKTOK_SANDBOX.customer.username,

  async startFake({ port, bridgeUrl, clock = Date.now }): Promise<SandboxFake> {
    const tiktok = await startFakeTikTok({
      ...(port !== undefined ? { port } : {}),
      appId: TIKTOK_SANDBOX.appId,
      appSecret: TIKTOK_SANDBOX.appSecret,
      businessId: TIKTOK_SANDBOX.businessId,
      accessToken: TIKTOK_SANDBOX.accessToken,
      refreshToken: TIKTOK_SANDBOX.refreshToken,
      conversations: [TIKTOK_SANDBOX.conversationId],
    });
    running = tiktok;
    const echoes: SandboxCall[] = [];
    tiktok.onMessageSent(async ({ messageId, body }) => {
      const sent = await echoToBridge(bridgeUrl, messageId, body, clock());
      if (sent) echoes.push({ at: sent.webhook.at, direction: 'to-bridge', request: `POST ${sent.webhook.path} (echo)`, body: JSON.parse(sent.webhook.body), answer: `${sent.status} ${sent.body}` });
    });
    const base = new URL(tiktok.url).pathname;
    return {
      url: tiktok.url,
      calls: () =>
        [
          ...tiktok.sends.map((send): SandboxCall => sendCall(base, send)),
          ...tiktok.uploads.map((u): SandboxCall => ({ at: u.at, direction: 'to-platform', request: `POST ${base}/business/message/media/upload/ (multipart)`, body: { media_type: 'IMAGE', file: { bytes: u.bytes, mime: u.mime, filename: u.filename } }, answer: 'code 0' })),
          ...echoes,
        ].sort((a, b) => a.at - b.at),
      async close() {
        if (running === tiktok) running = undefined;
        await tiktok.close();
      },
    };
  },

  connection: (fakeUrl) => ({
    id: TIKTOK_SANDBOX.connectionId,
    channel: 'tiktok',
    businessId: TIKTOK_SANDBOX.businessId,
    appId: TIKTOK_SANDBOX.appId,
    appSecret: TIKTOK_SANDBOX.appSecret,
    accessToken: TIKTOK_SANDBOX.accessToken,
    refreshToken: TIKTOK_SANDBOX.refreshToken,
    apiBaseUrl: fakeUrl,
    genesys: { integrationId: TIKTOK_SANDBOX.integrationId, webhookSecret: TIKTOK_SANDBOX.genesysWebhookSecret },
  }),

  async send({ bridgeUrl, clock }, message) {
    if (message.from) throw new Error('the sandbox TikTok customer is always the one customer of the fake: drop --from');
    if (message.imageUrl && message.text) throw new Error('a TikTok DM is a text or an image, never both: send them one at a time');
    let imageMediaId: string | undefined;
    if (message.imageUrl) {
      const fake = running;
      if (!fake) throw new Error('the TikTok sandbox fake is not running: an image is hosted by it (start the sandbox first)');
      const image = await fetchImage(message.imageUrl);
      imageMediaId = `v10044g50000${randomUUID().replace(/-/g, '').slice(0, 16)}`;
      fake.addMedia(imageMediaId, image.bytes, image.contentType);
    }
    const sent = await sendSandboxTikTokDm(bridgeUrl, message.text ?? '', { at: clock(), ...(imageMediaId ? { imageMediaId } : {}) });
    return delivery(sent, `TikTok ${imageMediaId ? 'image' : 'DM'} ${sent.messageId}`, (genesys) => messageIdOf(genesys) === sent.messageId);
  },

  actions: {
    mention: {
      help: 'a TikTok video mentioning the brand',
      async play({ bridgeUrl, clock }) {
        const sent = await sendSandboxTikTokMention(bridgeUrl, clock());
        return delivery(sent, `brand mention in video ${sent.videoId}`, (genesys) => JSON.stringify(genesys).includes(sent.videoId));
      },
    },
    react: {
      help: "the customer reacts to the brand's latest TikTok message",
      about: 'brand-message',
      takesText: 'emoji',
      async play({ bridgeUrl, clock }, { text, messageId }) {
        if (!messageId) throw new Error('a reaction is about one of the brand’s messages, and the brand has sent none yet: reply as the agent first');
        const emoji = text?.trim() || '👍';
        const sent = await sendSandboxTikTokReaction(bridgeUrl, messageId, emoji, clock());
        return delivery(sent, `TikTok reaction ${emoji}`, (genesys) => String((genesys as { text?: unknown }).text ?? '').includes(`reacted ${emoji}`));
      },
    },
  },
};

function delivery(sent: PostedTikTokEvent, label: string, matches: SandboxDelivery['matches']): SandboxDelivery {
  return { status: sent.status, body: sent.body, label, webhooks: [sent.webhook], matches };
}

function messageIdOf(genesys: Record<string, unknown>): string | undefined {
  return (genesys.channel as { messageId?: string } | undefined)?.messageId;
}

/** A send call as the console shows it: the message the customer's phone receives, if it was one. */
function sendCall(base: string, send: { body: unknown; messageId: string; at: number }): SandboxCall {
  const body = send.body as { message_type?: string; text?: { body?: string } };
  const text = body.message_type === 'TEXT' ? body.text?.body : `[${(body.message_type ?? 'message').toLowerCase()}]`;
  return {
    at: send.at,
    direction: 'to-platform',
    request: `POST ${base}/business/message/send/`,
    body: send.body,
    answer: 'code 0',
    ...(send.messageId ? { delivered: { messageId: send.messageId, ...(text !== undefined ? { text } : {}) } } : {}),
  };
}

/** The customer's image, fetched once so that the fake can serve it as TikTok would. */
async function fetchImage(url: string): Promise<{ bytes: Uint8Array; contentType: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const contentType = res.headers.get('content-type') ?? '';
  if (!res.ok || !contentType.startsWith('image/')) throw new Error(`${url} did not answer with an image (HTTP ${res.status}, ${contentType || 'no content type'})`);
  return { bytes: new Uint8Array(await res.arrayBuffer()), contentType };
}
