/**
 * The sandbox: a bridge wired to local fakes of Genesys and the Instagram Graph API, with well-known
 * secrets (they protect nothing: everything listens on 127.0.0.1). Used by `npm start` without a config.
 */
import { configSchema, type Config } from '../config.js';

export const SANDBOX = {
  bridgePort: 8080,
  genesysPort: 9100,
  graphPort: 9200,
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
} as const;

export interface SandboxPorts {
  bridge: number;
  genesys: number;
  graph: number;
}

export function sandboxConfig(ports: SandboxPorts, store: string, logLevel: string): Config {
  return configSchema.parse({
    server: { host: '127.0.0.1', port: ports.bridge },
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
    ],
  });
}
