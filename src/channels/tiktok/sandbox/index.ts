/** TikTok's part of the sandbox: the fake Business API, the sandbox connection, the customer it plays. */
import type { ChannelSandbox, SandboxFake } from '../../../core/channel.js';
import { TIKTOK_SANDBOX, echoToBridge, sendSandboxTikTokDm, sendSandboxTikTokMention } from './customer.js';
import { startFakeTikTok } from './fake-tiktok.js';

export const tiktokSandbox: ChannelSandbox = {
  connectionId: TIKTOK_SANDBOX.connectionId,
  integrationId: TIKTOK_SANDBOX.integrationId,
  genesysWebhookSecret: TIKTOK_SANDBOX.genesysWebhookSecret,
  customerId: TIKTOK_SANDBOX.customer.id,

  async startFake({ port, bridgeUrl }): Promise<SandboxFake> {
    const tiktok = await startFakeTikTok({
      ...(port !== undefined ? { port } : {}),
      appId: TIKTOK_SANDBOX.appId,
      appSecret: TIKTOK_SANDBOX.appSecret,
      businessId: TIKTOK_SANDBOX.businessId,
      accessToken: TIKTOK_SANDBOX.accessToken,
      refreshToken: TIKTOK_SANDBOX.refreshToken,
      conversations: [TIKTOK_SANDBOX.conversationId],
    });
    tiktok.onMessageSent(({ messageId, body }) => echoToBridge(bridgeUrl, messageId, body));
    let shown = 0;
    return {
      url: tiktok.url,
      takeTraffic: () => tiktok.sends.slice(shown, (shown = tiktok.sends.length)).map((send) => `bridge → TikTok: ${JSON.stringify(send.body)}`),
      close: () => tiktok.close(),
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

  async send(bridgeUrl, message) {
    if (message.imageUrl) throw new Error('the sandbox TikTok customer sends text only (TikTok images are fetched through its media API)');
    if (message.from) throw new Error('the sandbox TikTok customer is always the one customer of the fake');
    const sent = await sendSandboxTikTokDm(bridgeUrl, message.text ?? '');
    return {
      status: sent.status,
      body: sent.body,
      label: `TikTok DM ${sent.messageId}`,
      matches: (genesys) => (genesys.channel as { messageId?: string } | undefined)?.messageId === sent.messageId,
    };
  },

  actions: {
    mention: {
      help: 'a TikTok video mentioning the brand',
      async play(bridgeUrl) {
        const sent = await sendSandboxTikTokMention(bridgeUrl);
        return {
          status: sent.status,
          body: sent.body,
          label: `brand mention in video ${sent.videoId}`,
          matches: (genesys) => JSON.stringify(genesys).includes(sent.videoId),
        };
      },
    },
  },
};
