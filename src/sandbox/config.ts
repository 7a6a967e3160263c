/**
 * The sandbox: a bridge wired to local fakes of Genesys and the Instagram Graph API, with well-known
 * secrets (they protect nothing: everything listens on 127.0.0.1). Used by `npm start` without a config.
 */
import { configSchema, type Config } from '../config.js';

export const SANDBOX = {
  bridgePort: 8080,
  genesysPort: 9100,
  graphPort: 9200,
  tiktokPort: 9300,
  genesysClientId: 'sandbox-client-id',
  genesysClientSecret: 'sandbox-client-secret',
  integrationId: '5a1dbe00-0000-4000-8000-00000000a001',
  genesysWebhookSecret: 'sandbox-genesys-webhook-secret',
  connectionId: 'sandbox-instagram',
  instagramAccountId: '17841400000000042',
  metaAppSecret: 'sandbox-meta-app-secret',
  metaVerifyToken: 'sandbox-verify-token',
  instagramAccessToken: 'sandbox-instagram-token',
  /** The customer who writes in the demo. */
  customer: { igsid: '9900112233445566', name: 'Jane Doe', username: 'jane.doe' },
  tiktok: {
    connectionId: 'sandbox-tiktok',
    integrationId: '5a1dbe00-0000-4000-8000-00000000a002',
    genesysWebhookSecret: 'sandbox-genesys-tiktok-webhook-secret',
    businessId: '-000aBcD1234',
    appId: '7600000000000000042',
    appSecret: 'sandbox-tiktok-app-secret',
    accessToken: 'act.sandbox-access-token',
    refreshToken: 'rft.sandbox-refresh-token',
    customer: { id: '+ZMM6I2kQ', username: 'jane.doe' },
    conversationId: 'u5Jh+pse/AhoPOlnH0tZ9y==',
  },
} as const;

export interface SandboxPorts {
  bridge: number;
  genesys: number;
  graph: number;
  tiktok: number;
}

export function sandboxConfig(ports: SandboxPorts, store: string, logLevel: string): Config {
  return configSchema.parse({
    server: { host: '127.0.0.1', port: ports.bridge, publicUrl: `http://127.0.0.1:${ports.bridge}` },
    store,
    log: { level: logLevel },
    queue: { pollMs: 200 },
    genesys: {
      region: 'mypurecloud.com',
      loginBaseUrl: `http://127.0.0.1:${ports.genesys}`,
      apiBaseUrl: `http://127.0.0.1:${ports.genesys}`,
      clientId: SANDBOX.genesysClientId,
      clientSecret: SANDBOX.genesysClientSecret,
    },
    connections: [
      {
        id: SANDBOX.connectionId,
        channel: 'instagram',
        accountId: SANDBOX.instagramAccountId,
        appSecret: SANDBOX.metaAppSecret,
        verifyToken: SANDBOX.metaVerifyToken,
        accessToken: SANDBOX.instagramAccessToken,
        graphBaseUrl: `http://127.0.0.1:${ports.graph}`,
        genesys: { integrationId: SANDBOX.integrationId, webhookSecret: SANDBOX.genesysWebhookSecret },
      },
      {
        id: SANDBOX.tiktok.connectionId,
        channel: 'tiktok',
        businessId: SANDBOX.tiktok.businessId,
        appId: SANDBOX.tiktok.appId,
        appSecret: SANDBOX.tiktok.appSecret,
        accessToken: SANDBOX.tiktok.accessToken,
        refreshToken: SANDBOX.tiktok.refreshToken,
        apiBaseUrl: `http://127.0.0.1:${ports.tiktok}/open_api/v1.3`,
        genesys: { integrationId: SANDBOX.tiktok.integrationId, webhookSecret: SANDBOX.tiktok.genesysWebhookSecret },
      },
    ],
  });
}
