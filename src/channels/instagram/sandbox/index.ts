/** Instagram's part of the sandbox: the fake Graph API, the sandbox connection, the customer it plays. */
import type { ChannelSandbox, SandboxFake } from '../../../core/channel.js';
import { INSTAGRAM_SANDBOX, echoWebhook, postInstagramWebhook, sendSandboxDm } from './customer.js';
import { startFakeGraph } from './fake-graph.js';

const { customer } = INSTAGRAM_SANDBOX;

export const instagramSandbox: ChannelSandbox = {
  connectionId: INSTAGRAM_SANDBOX.connectionId,
  integrationId: INSTAGRAM_SANDBOX.integrationId,
  genesysWebhookSecret: INSTAGRAM_SANDBOX.genesysWebhookSecret,
  customerId: customer.igsid,

  async startFake({ port, bridgeUrl }): Promise<SandboxFake> {
    const graph = await startFakeGraph({
      ...(port !== undefined ? { port } : {}),
      accessToken: INSTAGRAM_SANDBOX.accessToken,
      accountId: INSTAGRAM_SANDBOX.accountId,
      profiles: { [customer.igsid]: { name: customer.name, username: customer.username } },
    });
    // Like Meta, the fake echoes every message the account sends back as a webhook.
    graph.onMessageSent(({ messageId, body }) =>
      postInstagramWebhook(bridgeUrl, echoWebhook(messageId, body as Parameters<typeof echoWebhook>[1])).then(
        () => undefined,
        () => undefined,
      ),
    );
    let shown = 0;
    return {
      url: graph.url,
      takeTraffic: () => graph.sends.slice(shown, (shown = graph.sends.length)).map((send) => `bridge → Instagram: ${JSON.stringify(send.body)}`),
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

  async send(bridgeUrl, message) {
    const sent = await sendSandboxDm(bridgeUrl, message);
    return {
      status: sent.status,
      body: sent.body,
      label: `Instagram DM ${sent.mid.slice(0, 16)}…`,
      matches: (genesys) => (genesys.channel as { messageId?: string } | undefined)?.messageId === sent.mid,
    };
  },
};
