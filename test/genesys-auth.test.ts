import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, RetryableError } from '../src/core/errors.js';
import { GenesysTokenProvider } from '../src/genesys/auth.js';
import { createMetrics } from '../src/metrics.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';

const CLIENT_ID = 'auth-test-client';
const CLIENT_SECRET = 'auth-test-secret-0123456789';
const TTL_SEC = 1000;

const fake: FakeGenesys = await startFakeGenesys({
  clientId: CLIENT_ID,
  clientSecret: CLIENT_SECRET,
  integrationIds: [],
  tokenTtlSec: TTL_SEC,
});
afterAll(() => fake.close());

beforeEach(() => {
  fake.tokenRequests = 0;
  fake.setLatency(0);
});

function provider(overrides: { clientSecret?: string; loginBaseUrl?: string; timeoutMs?: number; clock?: () => number } = {}) {
  const metrics = createMetrics();
  const tokens = new GenesysTokenProvider({
    config: {
      loginBaseUrl: overrides.loginBaseUrl ?? fake.url,
      clientId: CLIENT_ID,
      clientSecret: overrides.clientSecret ?? CLIENT_SECRET,
      timeoutMs: overrides.timeoutMs ?? 2000,
    },
    metrics,
    ...(overrides.clock ? { clock: overrides.clock } : {}),
  });
  return { tokens, metrics };
}

describe('GenesysTokenProvider', () => {
  it('requests a token once and reuses it for later calls', async () => {
    const { tokens } = provider();
    const first = await tokens.getToken();
    expect(await tokens.getToken()).toBe(first);
    expect(await tokens.getToken()).toBe(first);
    expect(fake.tokenRequests).toBe(1);
  });

  it('renews the token once 90 % of expires_in has passed', async () => {
    let now = 1_000_000;
    const { tokens } = provider({ clock: () => now });
    const first = await tokens.getToken();
    now += TTL_SEC * 1000 * 0.9 - 1;
    expect(await tokens.getToken()).toBe(first);
    expect(fake.tokenRequests).toBe(1);
    now += 1;
    const second = await tokens.getToken();
    expect(second).not.toBe(first);
    expect(fake.tokenRequests).toBe(2);
  });

  it('shares one token request among 50 concurrent callers', async () => {
    fake.setLatency(100);
    const { tokens } = provider();
    const all = await Promise.all(Array.from({ length: 50 }, () => tokens.getToken()));
    expect(new Set(all).size).toBe(1);
    expect(fake.tokenRequests).toBe(1);
  });

  it('requests a new token after invalidate() of the refused one', async () => {
    const { tokens } = provider();
    const first = await tokens.getToken();
    tokens.invalidate(first);
    expect(await tokens.getToken()).not.toBe(first);
    expect(fake.tokenRequests).toBe(2);
  });

  it('keeps a newer token when a caller invalidates an older, already replaced one', async () => {
    const { tokens } = provider();
    const first = await tokens.getToken();
    tokens.invalidate(first);
    const second = await tokens.getToken();
    tokens.invalidate(first);
    expect(await tokens.getToken()).toBe(second);
    expect(fake.tokenRequests).toBe(2);
  });

  it('rejects a wrong client secret as permanent, naming the client id but never the secret', async () => {
    const secret = 'wrong-secret-do-not-log-9876';
    const { tokens } = provider({ clientSecret: secret });
    const err = await tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toContain(CLIENT_ID);
    expect((err as Error).message).toContain('invalid_client');
    expect((err as Error).message).not.toContain(secret);
  });

  it('treats a 503 from the token endpoint as retryable and does not cache the failure', async () => {
    fake.failNext(1, { status: 503 }, 'token');
    const { tokens, metrics } = provider();
    await expect(tokens.getToken()).rejects.toBeInstanceOf(RetryableError);
    expect(await tokens.getToken()).toEqual(expect.any(String));
    const counted = await metrics.outboundRequests.get();
    expect(counted.values.map((v) => v.labels.status).sort()).toEqual(['200', '503']);
  });

  it('treats a 429 from the token endpoint as retryable with Retry-After and the client pause key', async () => {
    fake.failNext(1, { status: 429, headers: { 'Retry-After': '12' } }, 'token');
    const err = await provider().tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).retryAfterMs).toBe(12_000);
    expect((err as RetryableError).pauseKey).toBe(`genesys:${CLIENT_ID}`);
  });

  it('treats a token request that times out as retryable', async () => {
    fake.failNext(1, 'timeout', 'token');
    const err = await provider({ timeoutMs: 150 }).tokens.getToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as Error).message).toContain('timed out after 150 ms');
  });

  it('treats an unreachable login host as retryable', async () => {
    const { tokens } = provider({ loginBaseUrl: 'http://127.0.0.1:9' });
    await expect(tokens.getToken()).rejects.toBeInstanceOf(RetryableError);
  });

  it('fails every concurrent caller when the shared request fails, then lets the next call try again', async () => {
    fake.failNext(1, { status: 502 }, 'token');
    fake.setLatency(50);
    const { tokens } = provider();
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => tokens.getToken()));
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    expect(await tokens.getToken()).toEqual(expect.any(String));
    expect(fake.tokenRequests).toBe(1);
  });
});
