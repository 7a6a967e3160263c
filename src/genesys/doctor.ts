/**
 * The Genesys half of `dmbridge doctor`: online checks that the bridge can deliver to Genesys and that Genesys
 * will send each connection's agent replies to this bridge, signed with the secret the bridge checks. Each check
 * says what it found and, when it failed, one sentence the operator can act on.
 *
 * The integration read (GET …/integrations/open/{id}) returns the signature secret in clear
 * (genesys-open-messaging.md key fact 29, https://github.com/MyPureCloud/platform-client-sdk-python), so the
 * configured secret can be compared without ever being printed.
 */
import type { Models } from 'purecloud-platform-client-v2';
import { NO_WEBHOOK_BASE, type DoctorCheck, type WebhookBase } from '../core/doctor.js';
import { PermanentError } from '../core/errors.js';
import { equalsInConstantTime } from '../core/secret-compare.js';
import type { GenesysTokenProvider } from './auth.js';
import { GenesysApiRefusal, type GenesysPlatformApi } from './platform-api.js';
import { genesysWebhookUrl, integrationState } from './setup.js';

export interface GenesysDoctorInput {
  genesys: { clientId: string; loginBaseUrl: string; apiBaseUrl: string };
  /** Where the bridge's webhook routes are reached (`server.webhookBaseUrl`, else `server.publicUrl`). */
  webhookBase: WebhookBase | undefined;
  connections: ReadonlyArray<{ id: string; genesys: { integrationId: string; webhookSecret: string } }>;
}

/**
 * The token check first; when no token can be had nothing else can be checked, so it is the only result. Then,
 * per connection: the integration exists; it is active; its webhook is this bridge's route; its secret is the
 * configured one. A connection whose integration cannot be read gets only the first of those.
 */
export async function checkGenesys(tokens: GenesysTokenProvider, api: GenesysPlatformApi, input: GenesysDoctorInput): Promise<DoctorCheck[]> {
  const token = await checkToken(tokens, input.genesys);
  if (!token.ok) return [token];
  const checks = [token];
  for (const connection of input.connections) checks.push(...(await checkConnection(api, input, connection)));
  return checks;
}

async function checkToken(tokens: GenesysTokenProvider, genesys: GenesysDoctorInput['genesys']): Promise<DoctorCheck> {
  const name = 'Genesys: the OAuth client gets a token';
  try {
    await tokens.getToken();
    return { name, ok: true, detail: `OAuth client ${genesys.clientId} got a token from ${genesys.loginBaseUrl}` };
  } catch (err) {
    const detail = (err as Error).message;
    if (err instanceof PermanentError) {
      return {
        name,
        ok: false,
        detail,
        fix: "Check genesys.clientId and genesys.clientSecret, and that genesys.region is your org's region; the OAuth client must use the Client Credentials grant.",
      };
    }
    return { name, ok: false, detail, fix: `Check that this machine can reach ${genesys.loginBaseUrl} (DNS, proxy, firewall), then run doctor again.` };
  }
}

async function checkConnection(
  api: GenesysPlatformApi,
  input: GenesysDoctorInput,
  connection: GenesysDoctorInput['connections'][number],
): Promise<DoctorCheck[]> {
  const { id } = connection;
  const { integrationId } = connection.genesys;
  const setup = `dmbridge genesys setup --connection ${id}`;
  const exists = `${id}: Genesys integration exists`;
  let integration: Models.OpenIntegration | undefined;
  try {
    integration = await api.getOpenIntegration(integrationId);
  } catch (err) {
    return [{ name: exists, ok: false, detail: (err as Error).message, fix: readFailureFix(err, input.genesys) }];
  }
  if (!integration) {
    return [
      {
        name: exists,
        ok: false,
        detail: `Genesys has no Open Messaging integration ${integrationId}`,
        fix: `Run \`${setup}\` to create one, or put the id shown in Admin → Message → Platforms in the connection's genesys.integrationId.`,
      },
    ];
  }
  return [
    { name: exists, ok: true, detail: `"${integration.name}" (${integration.id})` },
    checkReadiness(id, integration),
    checkWebhookUrl(id, integration, input.webhookBase, setup),
    checkSecret(id, integration, connection.genesys.webhookSecret, setup),
  ];
}

function readFailureFix(err: unknown, genesys: GenesysDoctorInput['genesys']): string {
  if (err instanceof GenesysApiRefusal && err.status === 403) {
    return "Give the OAuth client's role the permission messaging:integration:view (doctor and setup need it; the bridge itself does not).";
  }
  if (err instanceof GenesysApiRefusal && err.status === 401) {
    return `Set genesys.region (or genesys.apiBaseUrl, now ${genesys.apiBaseUrl}) to the region the token comes from (${genesys.loginBaseUrl}).`;
  }
  if (err instanceof PermanentError) return "Check the connection's genesys.integrationId against Admin → Message → Platforms.";
  return `Check that this machine can reach ${genesys.apiBaseUrl} (DNS, proxy, firewall), then run doctor again.`;
}

function checkReadiness(id: string, integration: Models.OpenIntegration): DoctorCheck {
  const name = `${id}: Genesys integration is active`;
  const state = `createStatus ${integration.createStatus ?? '(none)'}, status ${integration.status ?? '(none)'}`;
  switch (integrationState(integration)) {
    case 'active':
      return { name, ok: true, detail: state };
    case 'pending':
      return { name, ok: false, detail: `Genesys is still creating it (${state})`, fix: 'Wait a minute and run doctor again; creation takes Genesys a little while.' };
    case 'failed':
      return {
        name,
        ok: false,
        detail: `Genesys could not create it (${state}: ${integration.createError?.message ?? 'no reason given'})`,
        fix: `Delete the integration in Admin → Message → Platforms and run \`dmbridge genesys setup --connection ${id}\` without a genesys.integrationId.`,
      };
  }
}

function checkWebhookUrl(id: string, integration: Models.OpenIntegration, webhookBase: WebhookBase | undefined, setup: string): DoctorCheck {
  const name = `${id}: Genesys sends agent replies to this bridge`;
  if (!webhookBase) {
    return {
      name,
      ok: false,
      detail: `${NO_WEBHOOK_BASE}, so the webhook Genesys uses (${integration.outboundNotificationWebhookUrl}) cannot be checked`,
      fix: "Set server.publicUrl to the bridge's public HTTPS address.",
    };
  }
  let expected: string;
  try {
    expected = genesysWebhookUrl(webhookBase, id);
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message, fix: `Set ${webhookBase.key} to an https:// address on port 443 that reaches the bridge.` };
  }
  if (integration.outboundNotificationWebhookUrl === expected) return { name, ok: true, detail: expected };
  return {
    name,
    ok: false,
    detail: `Genesys sends them to ${integration.outboundNotificationWebhookUrl || '(nowhere)'}, the bridge receives them at ${expected}`,
    fix: `Run \`${setup}\`, or set the integration's Outbound Notification Webhook URL to ${expected}.`,
  };
}

function checkSecret(id: string, integration: Models.OpenIntegration, configured: string, setup: string): DoctorCheck {
  const name = `${id}: Genesys signs agent replies with the configured secret`;
  const actual = integration.outboundNotificationWebhookSignatureSecretToken;
  if (!actual) return { name, ok: true, detail: 'Genesys did not return the secret, so it could not be compared' };
  if (equalsInConstantTime(actual, configured)) return { name, ok: true, detail: "the connection's genesys.webhookSecret matches the integration's" };
  return {
    name,
    ok: false,
    detail: "the connection's genesys.webhookSecret differs from the integration's signature secret: every agent reply would be refused with 401",
    fix: `Copy the integration's Outbound Notification Webhook Signature Secret Token into genesys.webhookSecret, or run \`${setup}\` to set a new one.`,
  };
}
