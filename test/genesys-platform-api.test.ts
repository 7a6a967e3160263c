/**
 * The Open Messaging integration admin calls, against the fake Genesys, which refuses what Genesys refuses:
 * no token (401), a role without the permission (403), a body the model does not allow (400).
 */
import { describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import { GenesysApiRefusal } from '../src/genesys/platform-api.js';
import { ADMIN, closedPort, useAdminFixtures } from './genesys-admin-fixture.js';
import { capturedLogger, rejectionOf } from './helpers.js';

const SECRET = 'a-signature-secret-of-some-length';
const request = (name = 'Instagram – acme') => ({
  name,
  outboundNotificationWebhookUrl: 'https://bridge.example.com/webhooks/genesys/acme-instagram',
  outboundNotificationWebhookSignatureSecretToken: SECRET,
});

const fixture = useAdminFixtures();

describe('Genesys Platform API: Open Messaging integrations', () => {
  it('creates an integration that Genesys reports Initiated, then reads it back Completed with the secret in clear', async () => {
    const { api, fake } = await fixture();
    fake.setIntegrationLifecycle({ pendingReads: 1 });
    const created = await api.createOpenIntegration(request());
    expect(created).toMatchObject({ name: 'Instagram – acme', createStatus: 'Initiated' });
    expect((await api.getOpenIntegration(created.id))?.createStatus).toBe('Initiated');
    const done = await api.getOpenIntegration(created.id);
    expect(done).toMatchObject({ id: created.id, createStatus: 'Completed', status: 'Active', outboundNotificationWebhookSignatureSecretToken: SECRET });
  });

  it('lists every integration of the org across pages', async () => {
    const seeds = Array.from({ length: 130 }, (_, i) => ({ ...request(`integration ${i}`) }));
    const { api, fake } = await fixture({ openIntegrations: seeds });
    const all = await api.listOpenIntegrations();
    expect(all.map((i) => i.name)).toEqual(seeds.map((s) => s.name));
    expect(fake.platformRequests.map((r) => r.path)).toHaveLength(2);
  });

  it('answers undefined for an integration id Genesys does not know', async () => {
    const { api } = await fixture();
    expect(await api.getOpenIntegration('00000000-0000-4000-8000-000000000000')).toBeUndefined();
  });

  it('updates the webhook and the secret of an integration, keeping the rest', async () => {
    const { api } = await fixture({ openIntegrations: [{ id: 'feed0000-1111-4222-8333-944455566677', ...request() }] });
    const updated = await api.updateOpenIntegration('feed0000-1111-4222-8333-944455566677', {
      name: 'Instagram – acme',
      outboundNotificationWebhookUrl: 'https://new.example.com/webhooks/genesys/acme-instagram',
      outboundNotificationWebhookSignatureSecretToken: 'another-secret-0123456789',
    });
    expect(updated).toMatchObject({
      name: 'Instagram – acme',
      outboundNotificationWebhookUrl: 'https://new.example.com/webhooks/genesys/acme-instagram',
      outboundNotificationWebhookSignatureSecretToken: 'another-secret-0123456789',
      createStatus: 'Completed',
    });
  });

  it('is refused 400 for a secret of 15 characters or an update without a name, in Genesys words', async () => {
    const { api } = await fixture({ openIntegrations: [{ id: 'feed0000-1111-4222-8333-944455566677', ...request() }] });
    const short = await rejectionOf(api.createOpenIntegration({ ...request(), outboundNotificationWebhookSignatureSecretToken: '123456789012345' }));
    expect(short).toBeInstanceOf(GenesysApiRefusal);
    expect((short as GenesysApiRefusal).status).toBe(400);
    expect(short.message).toContain('longer than 15 characters');
    const nameless = await rejectionOf(api.updateOpenIntegration('feed0000-1111-4222-8333-944455566677', { name: '' }));
    expect(nameless.message).toContain('name is required');
  });

  it('is refused 403 naming the permission when the role may view but not add', async () => {
    const { api } = await fixture({ permissions: ['messaging:integration:view'] });
    expect(await api.listOpenIntegrations()).toEqual([]);
    const err = await rejectionOf(api.createOpenIntegration(request()));
    expect(err).toBeInstanceOf(GenesysApiRefusal);
    expect((err as GenesysApiRefusal).status).toBe(403);
    expect(err.message).toContain(`OAuth client ${ADMIN.clientId} needs the permission messaging:integration:add`);
  });

  it('renews a token Genesys refused and tries once more', async () => {
    const { api, fake } = await fixture();
    fake.failNext(1, { status: 401 }, 'platform');
    expect(await api.listOpenIntegrations()).toEqual([]);
    expect(fake.tokenRequests).toBe(2);
  });

  it('is refused 401 for good when the API region does not honour the login region’s tokens', async () => {
    const elsewhere = await fixture();
    const { api, fake } = await fixture({}, { loginBaseUrl: elsewhere.fake.url });
    const err = await rejectionOf(api.listOpenIntegrations());
    expect(err).toBeInstanceOf(GenesysApiRefusal);
    expect((err as GenesysApiRefusal).status).toBe(401);
    expect(err.message).toContain('must be in the same region');
    expect(fake.platformRequests.map((r) => r.status)).toEqual([401, 401]);
  });

  it('turns 429 into a RetryableError with Retry-After, and 503 or a refused connection into a RetryableError', async () => {
    const { api, fake } = await fixture();
    fake.failNext(1, { status: 429, headers: { 'retry-after': '3' } }, 'platform');
    const limited = await rejectionOf(api.listOpenIntegrations());
    expect(limited).toBeInstanceOf(RetryableError);
    expect((limited as RetryableError).retryAfterMs).toBe(3000);
    fake.failNext(1, { status: 503 }, 'platform');
    expect(await rejectionOf(api.getOpenIntegration('x'))).toBeInstanceOf(RetryableError);

    const port = await closedPort();
    const down = await fixture({}, { apiBaseUrl: `http://127.0.0.1:${port}` });
    const refused = await rejectionOf(down.api.listOpenIntegrations());
    expect(refused).toBeInstanceOf(RetryableError);
    expect(refused).not.toBeInstanceOf(PermanentError);
  });

  it('never logs the secret of a refused create', async () => {
    const log = capturedLogger('debug');
    const { api } = await fixture({ permissions: ['messaging:integration:view'] }, { logger: log.logger });
    await rejectionOf(api.createOpenIntegration(request()));
    expect(log.text()).toContain('genesys.platform_request_failed');
    expect(log.text()).not.toContain(SECRET);
  });
});

describe('fake Genesys: integration lifecycle and permissions', () => {
  it('reports a creation that failed as createStatus Error with a createError', async () => {
    const { api, fake } = await fixture();
    fake.setIntegrationLifecycle({ pendingReads: 1, outcome: 'Error' });
    const created = await api.createOpenIntegration(request());
    await api.getOpenIntegration(created.id);
    const failed = await api.getOpenIntegration(created.id);
    expect(failed?.createStatus).toBe('Error');
    expect(failed?.createError?.message).toBeTruthy();
    expect(failed?.status).toBeUndefined();
  });

  it('hides a new integration from the first reads by id when told to', async () => {
    const { api, fake } = await fixture();
    fake.setIntegrationLifecycle({ hiddenReads: 1 });
    const created = await api.createOpenIntegration(request());
    expect(await api.getOpenIntegration(created.id)).toBeUndefined();
    expect((await api.getOpenIntegration(created.id))?.createStatus).toBe('Completed');
  });

  it('accepts inbound messages for an integration created through the API, and refuses them without conversation:message:receive', async () => {
    const { api, fake, tokens } = await fixture();
    const created = await api.createOpenIntegration(request());
    const post = async () =>
      fetch(`${fake.url}/api/v2/conversations/messages/${created.id}/inbound/open/message`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await tokens.getToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ channel: { from: { id: 'c1', idType: 'Opaque' }, time: new Date().toISOString() }, text: 'hi' }),
      });
    expect((await post()).status).toBe(200);

    const limited = await fixture({ permissions: ['messaging:integration:view', 'messaging:integration:add'] });
    const other = await limited.api.createOpenIntegration(request());
    const res = await fetch(`${limited.fake.url}/api/v2/conversations/messages/${other.id}/inbound/open/message`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await limited.tokens.getToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channel: { from: { id: 'c1', idType: 'Opaque' }, time: new Date().toISOString() }, text: 'hi' }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toContain('conversation:message:receive');
  });

  it('refuses a create with fields the model does not declare, or a webhook URL that is not a URL', async () => {
    const { api } = await fixture();
    const extra = await rejectionOf(api.createOpenIntegration({ ...request(), webhookUrl: 'x' } as never));
    expect(extra.message).toContain('should NOT have additional properties: webhookUrl');
    const bad = await rejectionOf(api.createOpenIntegration({ ...request(), outboundNotificationWebhookUrl: 'bridge.example.com' }));
    expect(bad.message).toContain('outboundNotificationWebhookUrl must be a URL');
  });
});
