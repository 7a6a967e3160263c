/**
 * `dmbridge genesys setup`: creates or updates a connection's Open Messaging integration so Genesys sends agent
 * replies to this bridge, signed with a secret only the two of them know, and waits until Genesys reports it
 * active. Returns exactly what goes into the connection's configuration.
 *
 * Genesys rules (genesys-open-messaging.md §4, key facts 16, 17, 29):
 * - the outbound notification webhook is HTTPS on port 443 only
 *   (https://help.mypurecloud.com/articles/configure-an-open-messaging-integration/);
 * - the signature secret is longer than 15 characters;
 * - creation is asynchronous: `createStatus` goes `Initiated` → `Completed`, or `Error` with `createError`
 *   (https://github.com/MyPureCloud/platform-client-sdk-python, models/open_integration.py). A read right after the
 *   create may not find it yet (the Genesys Terraform provider retries a 404 there), so a 404 while waiting is
 *   "not yet", not "gone".
 */
import { randomBytes } from 'node:crypto';
import type { Models } from 'purecloud-platform-client-v2';
import type { WebhookBase } from '../core/doctor.js';
import { PermanentError, RetryableError } from '../core/errors.js';
import { isLoopbackHost } from '../net/address-policy.js';
import type { GenesysPlatformApi } from './platform-api.js';

export interface GenesysSetupRequest {
  /** The connection's `id`: the bridge's route for its agent replies is `/webhooks/genesys/<id>`. */
  connectionId: string;
  /** Where the bridge's webhook routes are reached (`server.webhookBaseUrl`, else `server.publicUrl`). */
  webhookBase: WebhookBase;
  /**
   * The connection's `genesys.integrationId`, when the configuration names one: that integration is updated, and
   * none is ever created beside it.
   */
  integrationId?: string;
  /**
   * The integration's name (agents see it). Without an id, the integration of this name is updated, or created
   * when there is none. Default: the existing name when updating by id, else `dmbridge <connection id>`.
   */
  name?: string;
  /**
   * The signature secret to set, at least 16 characters. Default: a new random one. Passing the one the running
   * bridge already has keeps agent replies flowing while the configuration is not yet updated.
   */
  webhookSecret?: string;
  /** How long to wait for Genesys to report the integration active; default 120 s. */
  timeoutMs?: number;
  /** Pause between reads while waiting; default 2 s. */
  pollMs?: number;
  /** One line per step, for the terminal; never holds the secret. */
  onProgress?: (line: string) => void;
}

export interface GenesysSetupResult {
  action: 'created' | 'updated';
  integrationId: string;
  name: string;
  webhookUrl: string;
  webhookSecret: string;
  /** Genesys's `status` once active (its values are not documented; `Active` is expected). */
  status: string | undefined;
  /** What to put in the connection's configuration. */
  config: { genesys: { integrationId: string; webhookSecret: string } };
}

/** Whether Genesys has finished creating an integration. */
export type IntegrationState = 'active' | 'pending' | 'failed';

/**
 * `createStatus` decides: `Initiated` is pending, `Error` failed. `Completed`, and no `createStatus` at all
 * (an integration made before the field existed), is active. `status` is not used: its values are UNCONFIRMED.
 */
export function integrationState(integration: Pick<Models.OpenIntegration, 'createStatus'>): IntegrationState {
  const createStatus = integration.createStatus?.toLowerCase();
  if (createStatus === 'initiated') return 'pending';
  if (createStatus === 'error') return 'failed';
  return 'active';
}

/** Genesys requires more than 15 characters; 32 random bytes make 43 base64url characters. */
export function generateWebhookSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Where Genesys must send the connection's agent replies: the webhook base URL + `/webhooks/genesys/<connection id>`.
 * Throws a PermanentError naming the key when Genesys could not use it: not HTTPS, or HTTPS on a port other than
 * 443. Plain HTTP is let through on loopback only, for the sandbox's fake Genesys.
 */
export function genesysWebhookUrl(base: WebhookBase, connectionId: string): string {
  const said = `${base.key} (${base.url})`;
  let url: URL;
  try {
    url = new URL(base.url);
  } catch {
    throw new PermanentError(`${said} is not a URL`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
    throw new PermanentError(`${said} must be https: Genesys only sends agent replies over HTTPS on port 443`);
  }
  if (url.protocol === 'https:' && url.port !== '') {
    throw new PermanentError(`${said} must not name a port: Genesys only sends agent replies to port 443`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new PermanentError(`${said} must be an https URL`);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}/webhooks/genesys/${encodeURIComponent(connectionId)}`;
}

export async function setUpGenesysIntegration(api: GenesysPlatformApi, request: GenesysSetupRequest, clock: () => number = Date.now): Promise<GenesysSetupResult> {
  const progress = request.onProgress ?? (() => undefined);
  const webhookUrl = genesysWebhookUrl(request.webhookBase, request.connectionId);
  const webhookSecret = request.webhookSecret ?? generateWebhookSecret();
  if (webhookSecret.length < 16) throw new PermanentError('the webhook secret must be at least 16 characters (Genesys requires more than 15)');

  const existing = await findIntegration(api, request);
  let integration: Models.OpenIntegration;
  let action: GenesysSetupResult['action'];
  if (existing) {
    const name = request.name ?? existing.name;
    progress(`updating Open Messaging integration "${name}" (${existing.id}): webhook ${webhookUrl}, ${request.webhookSecret ? 'the given' : 'a new'} signature secret`);
    integration = await api.updateOpenIntegration(existing.id, {
      name,
      outboundNotificationWebhookUrl: webhookUrl,
      outboundNotificationWebhookSignatureSecretToken: webhookSecret,
    });
    action = 'updated';
  } else {
    const name = request.name ?? `dmbridge ${request.connectionId}`;
    progress(`creating Open Messaging integration "${name}": webhook ${webhookUrl}`);
    integration = await api.createOpenIntegration({
      name,
      outboundNotificationWebhookUrl: webhookUrl,
      outboundNotificationWebhookSignatureSecretToken: webhookSecret,
    });
    action = 'created';
  }

  const active = await waitUntilActive(api, integration, request, progress, clock);
  if (active.outboundNotificationWebhookUrl !== webhookUrl) {
    throw new PermanentError(
      `Genesys kept ${active.outboundNotificationWebhookUrl} as the webhook of integration ${active.id} instead of ${webhookUrl}; ` +
        'set it in Admin → Message → Platforms → Open Messaging',
    );
  }
  progress(`integration ${active.id} is active`);
  return {
    action,
    integrationId: active.id,
    name: active.name,
    webhookUrl,
    webhookSecret,
    status: active.status,
    config: { genesys: { integrationId: active.id, webhookSecret } },
  };
}

/** By id when configured (a missing one is an error, never a reason to create another), else by name. */
async function findIntegration(api: GenesysPlatformApi, request: GenesysSetupRequest): Promise<Models.OpenIntegration | undefined> {
  if (request.integrationId) {
    const found = await api.getOpenIntegration(request.integrationId);
    if (!found) {
      throw new PermanentError(
        `Genesys has no Open Messaging integration ${request.integrationId} (the connection's genesys.integrationId): ` +
          'correct the id, or remove it from the configuration to create a new integration',
      );
    }
    return found;
  }
  const name = request.name ?? `dmbridge ${request.connectionId}`;
  // Compared without case: Genesys's own Go client finds integrations by name that way (https://github.com/gildas/go-gcloudcx).
  const wanted = name.trim().toLowerCase();
  const matches = (await api.listOpenIntegrations()).filter((i) => i.name.trim().toLowerCase() === wanted);
  if (matches.length > 1) {
    throw new PermanentError(
      `${matches.length} Open Messaging integrations are named "${name}" (${matches.map((m) => m.id).join(', ')}): ` +
        "put the one to use in the connection's genesys.integrationId",
    );
  }
  return matches[0];
}

/** Reads the integration until it is active, failed, or the deadline passes; transient failures are waited out. */
async function waitUntilActive(
  api: GenesysPlatformApi,
  answer: Models.OpenIntegration,
  request: GenesysSetupRequest,
  progress: (line: string) => void,
  clock: () => number,
): Promise<Models.OpenIntegration> {
  const timeoutMs = request.timeoutMs ?? 120_000;
  const pollMs = request.pollMs ?? 2000;
  const deadline = clock() + timeoutMs;
  let latest: Models.OpenIntegration | undefined = answer;
  let pauseMs = pollMs;
  for (;;) {
    if (latest) {
      const readiness = integrationState(latest);
      if (readiness === 'active') return latest;
      if (readiness === 'failed') {
        const { message = 'no reason given', contextId } = latest.createError ?? {};
        throw new PermanentError(
          `Genesys could not create integration ${latest.id} (${message}${contextId ? `, contextId ${contextId}` : ''}); ` +
            'delete it in Admin → Message → Platforms and run setup again',
        );
      }
      progress(`waiting for Genesys to finish creating integration ${latest.id} (createStatus ${latest.createStatus})`);
    } else {
      progress(`waiting for integration ${answer.id} to become visible`);
    }
    if (clock() + pauseMs > deadline) {
      throw new RetryableError(
        `Genesys did not report integration ${answer.id} active within ${Math.round(timeoutMs / 1000)} s; run setup again later: it updates the same integration`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pauseMs = pollMs;
    try {
      latest = await api.getOpenIntegration(answer.id);
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      pauseMs = Math.max(pollMs, err.retryAfterMs ?? 0);
      progress(`${err.message}; trying again`);
    }
  }
}
