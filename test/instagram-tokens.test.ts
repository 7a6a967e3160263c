/**
 * Instagram Login tokens against the fake Graph API, which renews them with Meta's rules (at least 24 hours old, not
 * expired, 60 days from the renewal): kept in the store, renewed well before they expire, once across instances, and
 * re-authorization required only when Meta says the token is dead. Time is a shared manual clock.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { INSTAGRAM_TOKEN_NAMESPACE, InstagramTokens, type InstagramTokenRecord } from '../src/channels/instagram/auth.js';
import type { InstagramConnection } from '../src/channels/instagram/config.js';
import { startFakeGraph, type FakeGraph } from '../src/channels/instagram/sandbox/fake-graph.js';
import { PermanentError } from '../src/core/errors.js';
import type { Store } from '../src/core/store.js';
import { createMetrics, type Metrics } from '../src/metrics.js';
import { openStore } from '../src/store/open.js';
import { capturedLogger, instagramTestConnection, rejectionOf } from './helpers.js';

const DAY = 24 * 60 * 60_000;
const TOKEN = 'IGQVJ-configured-token';
let now = Date.UTC(2026, 11, 1, 12);
const clock = () => now;

let graph: FakeGraph;
let store: Store;
let metrics: Metrics;

const connection = (over: Partial<InstagramConnection> = {}) => instagramTestConnection(graph.url, TOKEN, over);

const tokensFor = (over: Partial<InstagramConnection> = {}, logger = capturedLogger('info').logger) =>
  new InstagramTokens({ connection: connection(over), store, clock, metrics, logger });
const stored = () => store.getRecord<InstagramTokenRecord>(INSTAGRAM_TOKEN_NAMESPACE, 'acme-instagram');
const gauge = async (name: 'accessTokenExpiresAt' | 'reauthorizationRequired') => (await metrics[name].get()).values.find((v) => v.labels.connection === 'acme-instagram')?.value;

async function start(issuedDaysAgo: number, extra: Parameters<typeof startFakeGraph>[0] extends infer O ? Partial<O> : never = {}) {
  graph = await startFakeGraph({ accessToken: TOKEN, accountId: '17841400000000042', tokenIssuedAt: now - issuedDaysAgo * DAY, clock, ...extra });
}

beforeEach(async () => {
  now = Date.UTC(2026, 11, 1, 12);
  store = await openStore('sqlite::memory:', { clock });
  metrics = createMetrics();
});
afterEach(async () => {
  await graph?.close();
  await store.close();
});

describe('an Instagram Login token', () => {
  it('configured 40 days ago is renewed on first use; the renewed token is stored, its expiry is a metric and in the log', async () => {
    await start(40);
    const log = capturedLogger('info');
    const tokens = tokensFor({}, log.logger);
    const token = await tokens.getAccessToken();
    expect(token).toBe(graph.currentToken());
    expect(token).not.toBe(TOKEN);
    expect(graph.refreshes).toMatchObject([{ ok: true, token: TOKEN }]);
    const record = await stored();
    expect(record).toMatchObject({ accessToken: token, expiresAt: now + 60 * DAY });
    expect(await gauge('accessTokenExpiresAt')).toBe(Math.floor((now + 60 * DAY) / 1000));
    expect(log.text()).toContain('instagram.token_refreshed');
    expect(log.text()).not.toContain(token);
    // Not again until half its life is gone, then again, with the token the bridge holds now.
    now += 29 * DAY;
    expect(await tokens.getAccessToken()).toBe(token);
    expect(graph.refreshes).toHaveLength(1);
    now += 2 * DAY;
    const third = await tokens.getAccessToken();
    expect(graph.refreshes).toMatchObject([{ ok: true }, { ok: true, token }]);
    expect(third).toBe(graph.currentToken());
  });

  it('configured today is used as it is; Meta refuses to renew it until it is a day old, and the bridge tries again only then', async () => {
    await start(0);
    const tokens = tokensFor();
    expect(await tokens.getAccessToken()).toBe(TOKEN);
    expect(graph.refreshes).toMatchObject([{ ok: false }]);
    now += 12 * 60 * 60_000;
    expect(await tokens.getAccessToken()).toBe(TOKEN);
    expect(graph.refreshes).toHaveLength(1);
    now += 13 * 60 * 60_000;
    expect(await tokens.getAccessToken()).toBe(graph.currentToken());
    expect(graph.refreshes).toMatchObject([{ ok: false }, { ok: true }]);
    expect(await gauge('reauthorizationRequired')).not.toBe(1);
  });

  it('renewed by one instance is not renewed again by another at the same time', async () => {
    await start(40);
    const [a, b] = [tokensFor(), tokensFor()];
    const [ta, tb] = await Promise.all([a.getAccessToken(), b.getAccessToken()]);
    expect(graph.refreshes.filter((r) => r.ok)).toHaveLength(1);
    // The instance that missed the lock used the configured token, still valid; the next call has the renewed one.
    expect([ta, tb]).toContain(graph.currentToken());
    expect(await b.getAccessToken()).toBe(graph.currentToken());
  });

  it('that expired requires re-authorization: stored, a metric, one error log, and a sentence for the agent', async () => {
    await start(61);
    const log = capturedLogger('info');
    const tokens = tokensFor({}, log.logger);
    const error = await rejectionOf(tokens.getAccessToken());
    expect(error).toBeInstanceOf(PermanentError);
    expect(error.message).toMatch(/an administrator must reconnect the account/);
    await rejectionOf(tokens.getAccessToken());
    expect(await stored()).toMatchObject({ reauthorizationRequired: true });
    expect(await gauge('reauthorizationRequired')).toBe(1);
    expect(log.lines.filter((l) => l.includes('instagram.reauthorization_required'))).toHaveLength(1);
    expect(graph.refreshes).toHaveLength(1);

    // The operator puts a new token in the configuration: it is used, and the alarm clears once renewed.
    await graph.close();
    graph = await startFakeGraph({ accessToken: 'IGQVJ-new-token', accountId: '17841400000000042', tokenIssuedAt: now - 2 * DAY, clock });
    const fresh = tokensFor({ accessToken: 'IGQVJ-new-token', graphBaseUrl: graph.url });
    expect(await fresh.getAccessToken()).toBe(graph.currentToken());
    expect(await gauge('reauthorizationRequired')).toBe(0);
  });

  it('refused by Meta on a call (190) is renewed once and the call can go again; a revoked one requires re-authorization', async () => {
    await start(40);
    const tokens = tokensFor();
    const first = await tokens.getAccessToken();
    expect(await tokens.rejected(TOKEN)).toBe(first);
    graph.revokeTokens();
    await expect(tokens.rejected(first)).rejects.toThrow(/reconnect the account/);
    expect(await gauge('reauthorizationRequired')).toBe(1);
  });

  it('keeps the current token when Meta cannot be reached, and tries again an hour later', async () => {
    await start(40);
    const tokens = tokensFor({ graphBaseUrl: 'http://127.0.0.1:9' });
    expect(await tokens.getAccessToken()).toBe(TOKEN);
    expect((await stored())!.refreshAt).toBe(now + 60 * 60_000);
  });

  it('is renewed by the hourly upkeep on a quiet account, which warns when expiry is near', async () => {
    await start(40);
    const log = capturedLogger('info');
    const tokens = tokensFor({}, log.logger);
    await tokens.upkeep();
    expect(graph.refreshes).toMatchObject([{ ok: true }]);
    // Renewals keep failing (Meta refuses for its own reasons): the warning starts a week before expiry.
    await graph.close();
    now += 54 * DAY;
    await tokensFor({ graphBaseUrl: 'http://127.0.0.1:9' }, log.logger).upkeep();
    expect(log.text()).toContain('instagram.token_expiring');
  });

  it('renews with appsecret_proof when the connection sends it and the app requires it', async () => {
    await start(40, { requireAppSecretProof: 'app-secret' });
    expect(await tokensFor({ appSecretProof: true }).getAccessToken()).toBe(graph.currentToken());
    expect(graph.refreshes).toMatchObject([{ ok: true }]);
  });
});
