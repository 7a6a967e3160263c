/**
 * The Genesys checks of `dmbridge doctor` against the fake Genesys: one outcome per way the set-up can be wrong,
 * each with a fix an operator can act on, and never a secret in what is printed.
 */
import { describe, expect, it } from 'vitest';
import type { DoctorCheck } from '../src/core/doctor.js';
import { checkGenesys, type GenesysDoctorInput } from '../src/genesys/doctor.js';
import type { FakeOpenIntegrationSeed } from '../src/sandbox/fake-genesys/index.js';
import { ADMIN, closedPort, useAdminFixtures, type AdminFixture } from './genesys-admin-fixture.js';

const INTEGRATION = 'feed0000-1111-4222-8333-944455566677';
const SECRET = 'configured-webhook-secret-0123';
const WEBHOOK = `${ADMIN.publicUrl}/webhooks/genesys/${ADMIN.connectionId}`;
const good: FakeOpenIntegrationSeed = {
  id: INTEGRATION,
  name: 'Instagram – acme',
  outboundNotificationWebhookUrl: WEBHOOK,
  outboundNotificationWebhookSignatureSecretToken: SECRET,
};

const fixture = useAdminFixtures();

function doctor(f: AdminFixture, over: Partial<GenesysDoctorInput> = {}): Promise<DoctorCheck[]> {
  return checkGenesys(f.tokens, f.api, {
    genesys: { clientId: ADMIN.clientId, loginBaseUrl: f.config.loginBaseUrl, apiBaseUrl: f.config.apiBaseUrl },
    webhookBase: { url: ADMIN.publicUrl, key: 'server.publicUrl' },
    connections: [{ id: ADMIN.connectionId, genesys: { integrationId: INTEGRATION, webhookSecret: SECRET } }],
    ...over,
  });
}

const named = (checks: DoctorCheck[], part: string) => checks.find((c) => c.name.includes(part));
/** Every failed check carries one sentence to act on; passed ones carry none; no secret is ever printed. */
function expectWellFormed(checks: DoctorCheck[]): void {
  for (const check of checks) {
    expect(check.fix === undefined).toBe(check.ok);
    if (check.fix) expect(check.fix).toMatch(/^[A-Z].*\.$/);
    expect(JSON.stringify(check)).not.toContain(SECRET);
    expect(JSON.stringify(check)).not.toContain(ADMIN.clientSecret);
  }
}

describe('doctor, Genesys part', () => {
  it('passes every check of a connection set up right', async () => {
    const f = await fixture({ openIntegrations: [good] });
    const checks = await doctor(f);
    expectWellFormed(checks);
    expect(checks.map((c) => [c.name, c.ok])).toEqual([
      ['Genesys: the OAuth client gets a token', true],
      ['acme-instagram: Genesys integration exists', true],
      ['acme-instagram: Genesys integration is active', true],
      ['acme-instagram: Genesys sends agent replies to this bridge', true],
      ['acme-instagram: Genesys signs agent replies with the configured secret', true],
    ]);
    expect(named(checks, 'exists')?.detail).toBe(`"Instagram – acme" (${INTEGRATION})`);
  });

  it('stops at the token when Genesys refuses the client, pointing at the credentials', async () => {
    const f = await fixture({ openIntegrations: [good] }, { clientSecret: 'not-the-secret-0123456789' });
    const checks = await doctor(f);
    expectWellFormed(checks);
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ ok: false, fix: expect.stringContaining('genesys.clientSecret') });
    expect(checks[0]!.detail).toContain('HTTP 401');
  });

  it('says to check the network when the login host does not answer', async () => {
    const f = await fixture({}, { loginBaseUrl: `http://127.0.0.1:${await closedPort()}` });
    const [check] = await doctor(f);
    expect(check).toMatchObject({ ok: false, fix: expect.stringContaining('can reach http://127.0.0.1:') });
  });

  it('names the setup command when the integration does not exist, and checks nothing else of it', async () => {
    const f = await fixture();
    const checks = await doctor(f);
    expectWellFormed(checks);
    expect(checks.map((c) => c.ok)).toEqual([true, false]);
    expect(checks[1]!.fix).toContain('`dmbridge genesys setup --connection acme-instagram`');
  });

  it('names the permission when the role may not read integrations', async () => {
    const f = await fixture({ openIntegrations: [good], permissions: ['conversation:message:receive'] });
    const checks = await doctor(f);
    expect(named(checks, 'exists')).toMatchObject({ ok: false, fix: expect.stringContaining('messaging:integration:view') });
  });

  it('points at the region when the API refuses tokens from the login host', async () => {
    const elsewhere = await fixture();
    const f = await fixture({ openIntegrations: [good] }, { loginBaseUrl: elsewhere.fake.url });
    const checks = await doctor(f);
    expect(checks[0]!.ok).toBe(true);
    expect(named(checks, 'exists')).toMatchObject({ ok: false, fix: expect.stringContaining('genesys.region') });
  });

  it('says to wait while Genesys is still creating the integration', async () => {
    const f = await fixture({ openIntegrations: [{ ...good, createStatus: 'Initiated' }] });
    const checks = await doctor(f);
    expectWellFormed(checks);
    expect(named(checks, 'is active')).toMatchObject({ ok: false, detail: expect.stringContaining('createStatus Initiated'), fix: expect.stringContaining('Wait') });
  });

  it('says to recreate an integration whose creation failed', async () => {
    const f = await fixture({ openIntegrations: [{ ...good, createStatus: 'Error' }] });
    const check = named(await doctor(f), 'is active');
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining('could not be created'), fix: expect.stringContaining('Delete the integration') });
  });

  it('shows both URLs when Genesys sends agent replies elsewhere', async () => {
    const f = await fixture({ openIntegrations: [{ ...good, outboundNotificationWebhookUrl: 'https://old-bridge.example.com/webhooks/genesys/acme-instagram' }] });
    const check = named(await doctor(f), 'sends agent replies');
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining('https://old-bridge.example.com'), fix: expect.stringContaining(WEBHOOK) });
  });

  it('fails the webhook check without server.publicUrl, or with one Genesys cannot use', async () => {
    const f = await fixture({ openIntegrations: [good] });
    expect(named(await doctor(f, { webhookBase: undefined }), 'sends agent replies')).toMatchObject({ ok: false, fix: expect.stringContaining('server.publicUrl') });
    expect(named(await doctor(f, { webhookBase: { url: 'http://bridge.example.com', key: 'server.webhookBaseUrl' } }), 'sends agent replies')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('server.webhookBaseUrl (http://bridge.example.com)'),
      fix: expect.stringMatching(/^Set server\.webhookBaseUrl to an https:\/\//),
    });
  });

  it('catches a webhook secret that differs from the integration’s, without printing either', async () => {
    const theirs = 'the-secret-genesys-really-has-0';
    const f = await fixture({ openIntegrations: [{ ...good, outboundNotificationWebhookSignatureSecretToken: theirs }] });
    const checks = await doctor(f);
    expectWellFormed(checks);
    const check = named(checks, 'configured secret');
    expect(check).toMatchObject({ ok: false, detail: expect.stringContaining('401'), fix: expect.stringContaining('genesys.webhookSecret') });
    expect(JSON.stringify(checks)).not.toContain(theirs);
  });

  it('checks every connection on its own', async () => {
    const other = 'feed0000-1111-4222-8333-000000000002';
    const f = await fixture({ openIntegrations: [good] });
    const checks = await doctor(f, {
      connections: [
        { id: 'acme-instagram', genesys: { integrationId: INTEGRATION, webhookSecret: SECRET } },
        { id: 'acme-tiktok', genesys: { integrationId: other, webhookSecret: SECRET } },
      ],
    });
    expect(checks.filter((c) => c.name.startsWith('acme-instagram')).every((c) => c.ok)).toBe(true);
    expect(checks.filter((c) => c.name.startsWith('acme-tiktok')).map((c) => c.ok)).toEqual([false]);
  });
});
