/**
 * TikTok redelivers a failed webhook for up to 72 hours with the original signed timestamp
 * (https://developers.tiktok.com/doc/webhooks-overview): after an outage of the bridge those retries must be
 * accepted, not refused as stale, and counted. Its webhook Content-Type is undocumented: a 415 would lose the event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../src/config/index.js';
import { postInstagram, TEST, eventually, rawTestConfig } from './helpers.js';
import { startTikTokBridge, TT, type TikTokBridge } from './tiktok-bridge.js';

const HOUR_S = 3600;
let t: TikTokBridge;
beforeAll(async () => {
  t = await startTikTokBridge();
});
afterAll(() => t?.close());

const lateCount = async () => (await t.bridge.bridge.metrics.lateDeliveries.get()).values.find((v) => v.labels.route === 'tiktok')?.value ?? 0;

describe('TikTok redeliveries after an outage', () => {
  it('accepts a correctly signed delivery signed 71 hours ago, forwards it once and counts it as late', async () => {
    const c = t.newConversation();
    const content = t.dmContent(c, { timestamp: Date.now() - 71 * HOUR_S * 1000 });
    const before = await lateCount();
    const signedAt = Math.floor(Date.now() / 1000) - 71 * HOUR_S;
    expect((await t.deliver('im_receive_msg', content, { t: signedAt })).status).toBe(200);
    expect(await eventually(() => t.genesysFor(c.customer).length === 1)).toBe(true);
    expect(await lateCount()).toBe(before + 1);
    // The same retry once more, later still: the dedupe key stops it.
    expect((await t.deliver('im_receive_msg', content, { t: signedAt + 3600 })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(t.genesysFor(c.customer)).toHaveLength(1);
  });

  it('does not count a delivery signed seconds ago as late', async () => {
    const before = await lateCount();
    const c = t.newConversation();
    await t.customerWrites(c);
    expect(await lateCount()).toBe(before);
  });

  it('still refuses, as stale, a delivery signed beyond the 72-hour retry horizon', async () => {
    const c = t.newConversation();
    const res = await t.deliver('im_receive_msg', t.dmContent(c), { t: Math.floor(Date.now() / 1000) - 72 * HOUR_S - 5 });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('DMB_ERR_SIGNATURE_STALE');
  });
});

describe("TikTok's undocumented Content-Type", () => {
  it.each([['text/plain'], ['application/x-www-form-urlencoded'], [null]])('accepts a signed body sent as %s', async (contentType) => {
    const c = t.newConversation();
    const content = t.dmContent(c);
    expect((await t.deliver('im_receive_msg', content, { contentType })).status).toBe(200);
    expect(await eventually(() => t.genesysFor(c.customer).length === 1)).toBe(true);
  });

  it('still refuses a badly signed body whatever its Content-Type, and keeps 415 on the Instagram route', async () => {
    const raw = JSON.stringify({ client_key: TT.appId, event: 'im_receive_msg', user_openid: TT.businessId, content: '{}' });
    const forged = await fetch(`${t.bridge.url}/webhooks/tiktok`, { method: 'POST', headers: { 'content-type': 'text/plain', 'tiktok-signature': 't=1,s=00' }, body: raw });
    expect(forged.status).toBe(401);
    expect((await postInstagram(t.bridge.url, { object: 'instagram', entry: [] }, { contentType: 'text/plain' })).status).toBe(415);
  });
});

describe('the dedupe retention covers the redelivery horizon', () => {
  const raw = (tolerance: number, days?: number) =>
    JSON.stringify({
      ...rawTestConfig({ genesysUrl: 'http://127.0.0.1:1', store: 'sqlite::memory:' }),
      server: { publicUrl: 'https://bridge.example.com' },
      ...(days !== undefined ? { dedupeRetentionDays: days } : {}),
      connections: [
        {
          id: 'acme-tiktok',
          channel: 'tiktok',
          businessId: TT.businessId,
          appId: TT.appId,
          appSecret: TT.appSecret,
          accessToken: 'a',
          refreshToken: 'r',
          signatureToleranceSec: tolerance,
          genesys: { integrationId: TEST.integrationId, webhookSecret: TEST.webhookSecret },
        },
      ],
    });

  it('defaults the TikTok tolerance to 72 hours, which the default 7 days cover', () => {
    const config = parseConfig(raw(72 * HOUR_S).replace(',"signatureToleranceSec":259200', ''), {});
    expect(config.connections[0]).toMatchObject({ signatureToleranceSec: 72 * HOUR_S });
  });

  it('refuses a tolerance longer than the dedupe retention, naming dedupeRetentionDays', () => {
    expect(() => parseConfig(raw(10 * 24 * HOUR_S), {})).toThrow(ConfigError);
    expect(() => parseConfig(raw(10 * 24 * HOUR_S), {})).toThrow(/dedupeRetentionDays: must be at least 10 days: connection "acme-tiktok"/);
    expect(parseConfig(raw(10 * 24 * HOUR_S, 10), {}).dedupeRetentionDays).toBe(10);
  });
});
