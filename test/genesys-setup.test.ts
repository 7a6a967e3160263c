/**
 * `dmbridge genesys setup`'s procedure against the fake Genesys: what ends up in Genesys, what the operator is
 * told to put in the configuration, and every way Genesys can make it fail.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import { GenesysApiRefusal } from '../src/genesys/platform-api.js';
import { generateWebhookSecret, genesysWebhookUrl, setUpGenesysIntegration, type GenesysSetupRequest } from '../src/genesys/setup.js';
import { ADMIN, useAdminFixtures, type AdminFixture } from './genesys-admin-fixture.js';
import { rejectionOf } from './helpers.js';

const WEBHOOK = `${ADMIN.publicUrl}/webhooks/genesys/${ADMIN.connectionId}`;
const EXISTING = 'feed0000-1111-4222-8333-944455566677';
const seed = (over: Record<string, unknown> = {}) => ({
  id: EXISTING,
  name: `dmbridge ${ADMIN.connectionId}`,
  outboundNotificationWebhookUrl: 'https://old.example.com/hook',
  outboundNotificationWebhookSignatureSecretToken: 'the-old-secret-0123456789',
  ...over,
});

const fixture = useAdminFixtures();

function setup(f: AdminFixture, over: Partial<GenesysSetupRequest> = {}) {
  const lines: string[] = [];
  const result = setUpGenesysIntegration(f.api, {
    connectionId: ADMIN.connectionId,
    webhookBase: { url: ADMIN.publicUrl, key: 'server.publicUrl' },
    pollMs: 10,
    timeoutMs: 5000,
    onProgress: (line) => lines.push(line),
    ...over,
  });
  return { result, lines };
}

describe('genesys setup: creating', () => {
  it('creates the integration with the bridge route and a fresh secret, and says exactly what to configure', async () => {
    const f = await fixture();
    const result = await setup(f).result;
    const [integration] = f.fake.openIntegrations();
    expect(integration).toMatchObject({
      name: 'dmbridge acme-instagram',
      outboundNotificationWebhookUrl: WEBHOOK,
      outboundNotificationWebhookSignatureSecretToken: result.webhookSecret,
    });
    expect(result).toEqual({
      action: 'created',
      integrationId: integration!.id,
      name: 'dmbridge acme-instagram',
      webhookUrl: WEBHOOK,
      webhookSecret: result.webhookSecret,
      status: 'Active',
      config: { genesys: { integrationId: integration!.id, webhookSecret: result.webhookSecret } },
    });
    expect(result.webhookSecret.length).toBeGreaterThanOrEqual(16);
  });

  it('waits while Genesys is still creating it, saying so, then returns', async () => {
    const f = await fixture();
    f.fake.setIntegrationLifecycle({ hiddenReads: 1, pendingReads: 3 });
    const { result, lines } = setup(f);
    expect((await result).integrationId).toBe(f.fake.openIntegrations()[0]!.id);
    expect(lines.filter((l) => l.includes('createStatus Initiated')).length).toBeGreaterThanOrEqual(3);
    expect(lines.some((l) => l.includes('to become visible'))).toBe(true);
    expect(lines.join('\n')).not.toContain((await result).webhookSecret);
  });

  it('fails with Genesys’s reason when the creation ends in Error', async () => {
    const f = await fixture();
    f.fake.setIntegrationLifecycle({ pendingReads: 1, outcome: 'Error' });
    const err = await rejectionOf(setup(f).result);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toMatch(/could not create integration .* \(The Open Messaging integration could not be created, contextId [0-9a-f-]+\); delete it/);
  });

  it('gives up at the deadline when Genesys never finishes, as something to try again', async () => {
    const f = await fixture();
    f.fake.setIntegrationLifecycle({ pendingReads: Number.POSITIVE_INFINITY });
    const started = Date.now();
    const err = await rejectionOf(setup(f, { timeoutMs: 300 }).result);
    expect(err).toBeInstanceOf(RetryableError);
    expect(err.message).toContain('run setup again later');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('waits out a rate limit while polling', async () => {
    const f = await fixture();
    f.fake.setIntegrationLifecycle({ pendingReads: 1 });
    const lines: string[] = [];
    let queued = false;
    const result = setup(f, {
      onProgress: (line) => {
        lines.push(line);
        // Once Genesys answered the create: the next read is answered 429.
        if (!line.startsWith('waiting') || queued) return;
        f.fake.failNext(1, { status: 429, headers: { 'retry-after': '0' } }, 'platform');
        queued = true;
      },
    }).result;
    await result;
    expect(lines.some((l) => l.includes('HTTP 429'))).toBe(true);
  });

  it('is refused when the role may not add integrations', async () => {
    const f = await fixture({ permissions: ['messaging:integration:view'] });
    const err = await rejectionOf(setup(f).result);
    expect(err).toBeInstanceOf(GenesysApiRefusal);
    expect(err.message).toContain('messaging:integration:add');
  });
});

describe('genesys setup: updating', () => {
  it('updates the integration of that name instead of creating a second one', async () => {
    const f = await fixture({ openIntegrations: [seed()] });
    const result = await setup(f).result;
    expect(result).toMatchObject({ action: 'updated', integrationId: EXISTING, webhookUrl: WEBHOOK });
    expect(f.fake.openIntegrations()).toHaveLength(1);
    expect(f.fake.openIntegrations()[0]).toMatchObject({ outboundNotificationWebhookUrl: WEBHOOK, outboundNotificationWebhookSignatureSecretToken: result.webhookSecret });
    expect(f.fake.platformRequests.map((r) => r.method)).not.toContain('POST');
  });

  it('updates the configured integration by id and keeps its name', async () => {
    const f = await fixture({ openIntegrations: [seed({ name: 'Instagram – acme (named by the admin)' })] });
    const result = await setup(f, { integrationId: EXISTING }).result;
    expect(result).toMatchObject({ action: 'updated', integrationId: EXISTING, name: 'Instagram – acme (named by the admin)' });
    const patch = f.fake.platformRequests.find((r) => r.method === 'PATCH');
    expect(patch?.body).toMatchObject({ name: 'Instagram – acme (named by the admin)' });
  });

  it('keeps the secret it is given, so a running bridge goes on verifying', async () => {
    const f = await fixture({ openIntegrations: [seed()] });
    const result = await setup(f, { webhookSecret: 'the-secret-the-bridge-has-now' }).result;
    expect(result.webhookSecret).toBe('the-secret-the-bridge-has-now');
    expect(f.fake.openIntegrations()[0]!.outboundNotificationWebhookSignatureSecretToken).toBe('the-secret-the-bridge-has-now');
  });

  it('refuses a configured id Genesys does not know, without creating anything', async () => {
    const f = await fixture();
    const err = await rejectionOf(setup(f, { integrationId: EXISTING }).result);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.message).toContain(`Genesys has no Open Messaging integration ${EXISTING}`);
    expect(f.fake.openIntegrations()).toEqual([]);
  });

  it('refuses to choose between two integrations of the same name', async () => {
    const other = 'feed0000-1111-4222-8333-000000000002';
    const f = await fixture({ openIntegrations: [seed(), seed({ id: other, name: 'DMBRIDGE acme-instagram' })] });
    const err = await rejectionOf(setup(f).result);
    expect(err.message).toContain(`2 Open Messaging integrations are named "dmbridge acme-instagram" (${EXISTING}, ${other})`);
    expect(f.fake.platformRequests.map((r) => r.method)).toEqual(['GET']);
  });
});

const base = (url: string) => ({ url, key: 'server.publicUrl' as const });

describe('genesys setup: the webhook URL and the secret', () => {
  it('refuses, before calling Genesys, a public URL Genesys cannot send to', async () => {
    const f = await fixture();
    for (const url of ['http://bridge.example.com', 'https://bridge.example.com:8443', 'ftp://bridge.example.com', 'bridge.example.com']) {
      const refusal = await rejectionOf(setup(f, { webhookBase: { url, key: 'server.webhookBaseUrl' } }).result);
      expect(refusal).toBeInstanceOf(PermanentError);
      expect(refusal.message).toContain(`server.webhookBaseUrl (${url})`);
    }
    expect(await rejectionOf(setup(f, { webhookSecret: '123456789012345' }).result)).toBeInstanceOf(PermanentError);
    expect(f.fake.platformRequests).toEqual([]);
  });

  it('joins the public URL and the route whatever the trailing slashes and path prefix, and lets loopback HTTP through', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), fc.constantFrom('', '/', '//', '/dmbridge', '/dmbridge/'), (id, path) => {
        const url = genesysWebhookUrl(base(`https://bridge.example.com${path}`), id);
        expect(url).toBe(`https://bridge.example.com${path.replace(/\/+$/, '')}/webhooks/genesys/${id}`);
      }),
    );
    expect(genesysWebhookUrl(base('https://bridge.example.com:443/'), 'x')).toBe('https://bridge.example.com/webhooks/genesys/x');
    expect(genesysWebhookUrl(base('http://127.0.0.1:8080'), 'x')).toBe('http://127.0.0.1:8080/webhooks/genesys/x');
  });

  it('generates secrets Genesys accepts and nobody could guess', () => {
    const secrets = new Set(Array.from({ length: 200 }, generateWebhookSecret));
    expect(secrets.size).toBe(200);
    for (const s of secrets) expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
