/**
 * What `dmbridge doctor` checks a configuration against in the tests: the fake Instagram Graph API of TEST's
 * account, and a fake Genesys whose one Open Messaging integration is TEST's, sending agent replies to `webhookBase`.
 */
import { startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST } from './helpers.js';

export async function startDoctorFakes(webhookBase: string): Promise<{ genesys: FakeGenesys; graph: FakeGraph }> {
  const graph = await startFakeGraph({ accountId: TEST.accountId, accessToken: TEST.accessToken });
  const genesys = await startFakeGenesys({
    clientId: TEST.genesysClientId,
    clientSecret: TEST.genesysClientSecret,
    integrationIds: [],
    openIntegrations: [
      {
        id: TEST.integrationId,
        name: 'dmbridge acme-instagram',
        outboundNotificationWebhookUrl: `${webhookBase}/webhooks/genesys/${TEST.connectionId}`,
        outboundNotificationWebhookSignatureSecretToken: TEST.webhookSecret,
      },
    ],
  });
  return { genesys, graph };
}
