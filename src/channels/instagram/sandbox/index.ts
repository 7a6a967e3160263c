/** Instagram's part of the sandbox: the fake Graph API, the sandbox connection, the customer it plays. */
import type { ChannelSandbox, SandboxCall, SandboxDelivery, SandboxFake } from '../../../core/channel.js';
import { INSTAGRAM_SANDBOX, echoWebhook, fakeMid, instagramCustomerEventWebhook, postInstagramWebhook, sendSandboxDm, type PostedWebhook } from './customer.js';
import { startFakeGraph } from './fake-graph.js';

const { customer } = INSTAGRAM_SANDBOX;
const TOKEN_AGE_MS = 3 * 24 * 60 * 60_000;

/** A story as Meta links it: a CDN URL that expires (the bridge forwards the link, never the media). */
const STORY_URL = 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=18040775032370013&signature=sandbox-story';

export const instagramSandbox: ChannelSandbox = {
  connectionId: INSTAGRAM_SANDBOX.connectionId,
  integrationId: INSTAGRAM_SANDBOX.integrationId,
  genesysWebhookSecret: INSTAGRAM_SANDBOX.genesysWebhookSecret,
  customerId: customer.igsid,
  customerName: customer.name,

  async startFake({ port, bridgeUrl, clock = Date.now }): Promise<SandboxFake> {
    const graph = await startFakeGraph({
      ...(port !== undefined ? { port } : {}),
      accessToken: INSTAGRAM_SANDBOX.accessToken,
      // As an operator's long-lived token usually is, a few days old: old enough for the bridge's first renewal
      // (Meta renews only tokens at least 24 hours old; instagram-messaging.md key fact 33).
      tokenIssuedAt: clock() - TOKEN_AGE_MS,
      clock,
      accountId: INSTAGRAM_SANDBOX.accountId,
      profiles: { [customer.igsid]: { name: customer.name, username: customer.username } },
    });
    const echoes: SandboxCall[] = [];
    // Like Meta, the fake echoes every message the account sends back as a webhook.
    graph.onMessageSent(({ messageId, body }) => {
      return postInstagramWebhook(bridgeUrl, echoWebhook(messageId, body as Parameters<typeof echoWebhook>[1], clock())).then(
        (sent) => void echoes.push({ at: sent.webhook.at, direction: 'to-bridge', request: `POST ${sent.webhook.path} (echo)`, body: JSON.parse(sent.webhook.body), answer: `${sent.status} ${sent.body}` }),
        () => undefined,
      );
    });
    return {
      url: graph.url,
      calls: () => [...graph.sends.map(graphCall), ...echoes].sort((a, b) => a.at - b.at),
      close: () => graph.close(),
    };
  },

  connection: (fakeUrl) => ({
    id: INSTAGRAM_SANDBOX.connectionId,
    channel: 'instagram',
    accountId: INSTAGRAM_SANDBOX.accountId,
    appSecret: INSTAGRAM_SANDBOX.appSecret,
    verifyToken: INSTAGRAM_SANDBOX.verifyToken,
    accessToken: INSTAGRAM_SANDBOX.accessToken,
    graphBaseUrl: fakeUrl,
    genesys: { integrationId: INSTAGRAM_SANDBOX.integrationId, webhookSecret: INSTAGRAM_SANDBOX.genesysWebhookSecret },
  }),

  async send({ bridgeUrl, clock }, message) {
    const sent = await sendSandboxDm(bridgeUrl, { ...message, timestamp: clock() });
    return delivery(sent, `Instagram DM ${sent.mid.slice(0, 16)}…`, sent.mid);
  },

  actions: {
    'story-mention': {
      help: 'the customer mentions the brand in their Instagram story',
      async play({ bridgeUrl, clock }) {
        const mid = fakeMid();
        const sent = await postInstagramWebhook(bridgeUrl, instagramCustomerEventWebhook({ kind: 'story_mention', mid, storyUrl: STORY_URL }, clock()));
        return delivery(sent, `Instagram story mention ${mid.slice(0, 16)}…`, mid);
      },
    },
    react: {
      help: "the customer reacts to the brand's latest Instagram message",
      about: 'brand-message',
      takesText: 'emoji',
      async play({ bridgeUrl, clock }, { text, messageId }) {
        if (!messageId) throw new Error('a reaction is about one of the brand’s messages, and the brand has sent none yet: reply as the agent first');
        const emoji = text?.trim() || '❤️';
        const sent = await postInstagramWebhook(bridgeUrl, instagramCustomerEventWebhook({ kind: 'reaction', mid: messageId, emoji }, clock()));
        // A reaction has no message id of its own: the agent sees it as a message naming the one it is about.
        return { ...delivery(sent, `Instagram reaction ${emoji}`, ''), matches: (genesys) => String((genesys as { text?: unknown }).text ?? '').includes(`reacted ${emoji}`) };
      },
    },
  },
};

function delivery(sent: PostedWebhook, label: string, mid: string): SandboxDelivery {
  return {
    status: sent.status,
    body: sent.body,
    label,
    webhooks: [sent.webhook],
    matches: (genesys) => (genesys.channel as { messageId?: string } | undefined)?.messageId === mid,
  };
}

/** A Send API call as the console shows it: the message the customer's phone receives, if any. */
function graphCall(send: { path: string; body: unknown; at: number; messageId?: string }): SandboxCall {
  const message = (send.body as { message?: { text?: string; attachment?: { type?: string; payload?: { url?: string } }; attachments?: Array<{ payload?: { url?: string } }> } }).message;
  const imageUrl = message?.attachment?.type === 'image' ? message.attachment.payload?.url : message?.attachments?.[0]?.payload?.url;
  const text = message?.text ?? (message?.attachment && message.attachment.type !== 'image' ? `[${message.attachment.type}]` : undefined);
  return {
    at: send.at,
    direction: 'to-platform',
    request: `POST ${send.path}`,
    body: send.body,
    answer: '200',
    ...(send.messageId ? { delivered: { messageId: send.messageId, ...(text !== undefined ? { text } : {}), ...(imageUrl ? { imageUrl } : {}) } } : {}),
  };
}
