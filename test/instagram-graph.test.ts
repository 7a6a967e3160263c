/**
 * Agent replies to Instagram through the bridge, against fake Graph APIs that refuse what Meta refuses: the send path
 * of each login (a Facebook Login Page does not send as the Instagram account), tokens that expire and are renewed,
 * "Require App Secret" without appsecret_proof, and code 2 (which also means the customer blocked the account).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { graphFailure, startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { instagramLogin } from '../src/channels/instagram/config.js';
import { ConfigError, parseConfig } from '../src/config/index.js';
import { startServer, type RunningServer } from '../src/entry/server.js';
import { deliverOutbound, outboundWebhookBody, startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { TEST, capturedLogger, eventually, postInstagram, rawTestConfig, tempDir } from './helpers.js';

const DAY = 24 * 60 * 60_000;
const SECRET = 'meta-app-secret-for-tests';
type Account = { id: string; accountId: string; integrationId: string; graph: FakeGraph; extra: Record<string, unknown> };
type Receipt = { id: string; status: string; reasons?: Array<{ code: string; message: string }> };

const dir = tempDir();
const log = capturedLogger('info');
let genesys: FakeGenesys;
let bridge: RunningServer;
const accounts: Record<'aging' | 'facebook' | 'proof' | 'noProof' | 'revoked', Account> = {} as never;

beforeAll(async () => {
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: [] });
  const make = async (name: keyof typeof accounts, n: number, graphOpts: Partial<Parameters<typeof startFakeGraph>[0]>, extra: Record<string, unknown> = {}) => {
    const accountId = `1784140000000010${n}`;
    const graph = await startFakeGraph({ accessToken: TEST.accessToken, accountId, ...graphOpts });
    accounts[name] = { id: `acme-${name}`, accountId, integrationId: `0a1b2c3d-1111-4222-8333-94445556660${n}`, graph, extra };
  };
  await make('aging', 1, { tokenIssuedAt: Date.now() - 40 * DAY });
  await make('facebook', 2, { login: 'facebook', pageId: '1029384756' }, { login: 'facebook', pageId: '1029384756' });
  await make('proof', 3, { requireAppSecretProof: SECRET }, { appSecretProof: true });
  await make('noProof', 4, { requireAppSecretProof: SECRET });
  await make('revoked', 5, { tokenIssuedAt: Date.now() - 40 * DAY });
  const raw = rawTestConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/graph.db`, queue: { replyDeadlineMs: 1500, maxAttempts: 50, backoffMaxMs: 200 } });
  const base = raw.connections[0]!;
  const connections = Object.values(accounts).map((a) => ({
    ...base,
    id: a.id,
    accountId: a.accountId,
    appSecret: SECRET,
    graphBaseUrl: a.graph.url,
    genesys: { integrationId: a.integrationId, webhookSecret: TEST.webhookSecret },
    ...a.extra,
  }));
  await genesys.close();
  genesys = await startFakeGenesys({ clientId: TEST.genesysClientId, clientSecret: TEST.genesysClientSecret, integrationIds: Object.values(accounts).map((a) => a.integrationId) });
  const config = parseConfig(JSON.stringify({ ...raw, genesys: { ...raw.genesys, loginBaseUrl: genesys.url, apiBaseUrl: genesys.url }, connections }), {});
  bridge = await startServer({ config, logger: log.logger });
});
afterAll(async () => {
  await bridge?.close();
  await Promise.all([genesys?.close(), ...Object.values(accounts).map((a) => a.graph.close())]);
  dir.cleanup();
});

let seq = 0;
async function reply(a: Account, text: string): Promise<{ receipt: Receipt; customer: string }> {
  const customer = `84000000000${String(++seq).padStart(5, '0')}`;
  const mid = fakeMid();
  expect((await postInstagram(bridge.url, instagramDmWebhook({ mid, timestamp: Date.now(), text: 'Hi', from: customer }, a.accountId))).status).toBe(200);
  expect(await eventually(() => genesys.messages.some((m) => (m.body as { channel: { messageId: string } }).channel.messageId === mid))).toBe(true);
  const { id, body } = outboundWebhookBody({ integrationId: a.integrationId, customerId: customer, text });
  expect((await deliverOutbound(`${bridge.url}/webhooks/genesys/${a.id}`, body, TEST.webhookSecret)).status).toBe(200);
  expect(await eventually(() => genesys.receipts.some((r) => (r.body as Receipt).id === id), 8000)).toBe(true);
  return { receipt: genesys.receipts.map((r) => r.body as Receipt).find((r) => r.id === id)!, customer };
}
const metric = async (name: string) => (await (await fetch(`${bridge.url}/metrics`)).text()).split('\n').filter((l) => l.startsWith(name));

describe('where the bridge sends, for each login', () => {
  it('Facebook Login: posts to /{page-id}/messages with the Page token, and never renews it', async () => {
    const { receipt, customer } = await reply(accounts.facebook, 'From the Page');
    expect(receipt.status).toBe('Delivered');
    const sent = accounts.facebook.graph.sends.filter((s) => (s.body as { recipient: { id: string } }).recipient.id === customer);
    expect(sent.map((s) => s.path)).toEqual(['/v23.0/1029384756/messages']);
    expect(accounts.facebook.graph.refreshes).toEqual([]);
  });

  it("the fake Page refuses a send as the Instagram account, as Meta does", async () => {
    const res = await fetch(`${accounts.facebook.graph.url}/v23.0/${accounts.facebook.accountId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ recipient: { id: '1' }, message: { text: 'x' } }),
    });
    expect(((await res.json()) as { error: { code: number; error_subcode: number } }).error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('Instagram Login: posts to /{ig-account-id}/messages', async () => {
    const { receipt, customer } = await reply(accounts.aging, 'From Instagram');
    expect(receipt.status).toBe('Delivered');
    const sent = accounts.aging.graph.sends.filter((s) => (s.body as { recipient: { id: string } }).recipient.id === customer);
    expect(sent.map((s) => s.path)).toEqual([`/v23.0/${accounts.aging.accountId}/messages`]);
  });

  it('reads the login from the configuration, else from the Graph host, and refuses a token on the wrong host', () => {
    expect(instagramLogin({ graphBaseUrl: 'https://graph.facebook.com' })).toBe('facebook');
    expect(instagramLogin({ graphBaseUrl: 'https://graph.instagram.com' })).toBe('instagram');
    const raw = rawTestConfig({ genesysUrl: 'http://127.0.0.1:1', store: 'sqlite::memory:' });
    const wrong = { ...raw, connections: [{ ...raw.connections[0], login: 'instagram', graphBaseUrl: 'https://graph.facebook.com' }] };
    expect(() => parseConfig(JSON.stringify(wrong), {})).toThrow(ConfigError);
    expect(() => parseConfig(JSON.stringify(wrong), {})).toThrow(/graphBaseUrl: Instagram Login tokens work on graph.instagram.com/);
  });
});

describe('Instagram Login tokens through the bridge', () => {
  it('renews a 40-day-old configured token before using it, sends with the renewed one and exposes its expiry', async () => {
    const { customer } = await reply(accounts.aging, 'Renewed first');
    const { graph } = accounts.aging;
    expect(graph.refreshes.filter((r) => r.ok)).toHaveLength(1);
    const last = graph.sends.filter((s) => (s.body as { recipient: { id: string } }).recipient.id === customer).at(-1)!;
    expect(last.accessToken).toBe(graph.currentToken());
    const [line] = await metric('dmbridge_access_token_expires_at_seconds{connection="acme-aging"}');
    expect(Number(line!.split(' ')[1])).toBeGreaterThan((Date.now() + 59 * DAY) / 1000);
  });

  it('turns the re-authorization signal on when Meta says the token is dead, and tells the agent', async () => {
    await reply(accounts.revoked, 'Before');
    accounts.revoked.graph.revokeTokens();
    const { receipt } = await reply(accounts.revoked, 'After the token was revoked');
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'GeneralError' }] });
    expect(receipt.reasons![0]!.message).toMatch(/reconnect the account/);
    expect(await metric('dmbridge_reauthorization_required{connection="acme-revoked"}')).toEqual(['dmbridge_reauthorization_required{connection="acme-revoked"} 1']);
    expect(log.text()).toContain('instagram.reauthorization_required');
  });
});

describe('"Require App Secret"', () => {
  it('is satisfied with appSecretProof: the calls carry the proof and the reply is delivered', async () => {
    expect((await reply(accounts.proof, 'Proven')).receipt.status).toBe('Delivered');
  });

  it("without appSecretProof: a configuration error the operator sees, and a receipt that does not blame the agent's message", async () => {
    const { receipt } = await reply(accounts.noProof, 'Not proven');
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'GeneralError' }] });
    const sentence = receipt.reasons![0]!.message;
    expect(sentence).toMatch(/appsecret_proof/);
    expect(sentence).toMatch(/An administrator must set the connection's appSecretProof/);
    expect(sentence).not.toMatch(/Change it/);
    const errors = log.lines.filter((l) => l.includes('instagram.configuration_error'));
    expect(errors.length).toBeGreaterThan(0);
    expect(JSON.parse(errors[0]!)).toMatchObject({ level: 50, accountId: accounts.noProof.accountId, code: 100 });
  });
});

describe('code 2', () => {
  it('is retried only until the reply deadline, then the agent is told the customer may have blocked the account', async () => {
    accounts.aging.graph.failNext(500, graphFailure(2, undefined, { message: 'An unexpected error has occurred. Please retry your request later.' }));
    const started = Date.now();
    const { receipt } = await reply(accounts.aging, 'Blocked?');
    expect(Date.now() - started).toBeLessThan(6000);
    expect(receipt).toMatchObject({ status: 'Failed', reasons: [{ code: 'ServerError' }] });
    expect(receipt.reasons![0]!.message).toMatch(/blocked the account/);
  });
});
