/**
 * End to end over real HTTP: signed Instagram webhooks into the bridge, Open Messaging calls out to the fake
 * Genesys, which checks OAuth and the inbound schema like the real service.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/entry/server.js';
import { silentLogger } from '../src/logger.js';
import { startFakeGenesys, type FakeGenesys } from '../src/sandbox/fake-genesys/index.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, postInstagram, startTestServer, tempDir, testConfig } from './helpers.js';

let genesys: FakeGenesys;
let bridge: RunningServer;
const dir = tempDir();

beforeAll(async () => {
  genesys = await startFakeGenesys({
    clientId: TEST.genesysClientId,
    clientSecret: TEST.genesysClientSecret,
    integrationIds: [TEST.integrationId],
  });
  const config = testConfig({ genesysUrl: genesys.url, store: `sqlite:${dir.path}/e2e.db` });
  bridge = await startTestServer({ config, logger: silentLogger });
});

afterAll(async () => {
  await bridge?.close();
  await genesys?.close();
  dir.cleanup();
});

beforeEach(() => {
  genesys.messages.length = 0;
});

function dm(text: string, extra: { from?: string; imageUrl?: string; accountId?: string } = {}) {
  const mid = fakeMid();
  const body = instagramDmWebhook({ mid, timestamp: Date.now(), text, ...extra }, extra.accountId ?? TEST.accountId);
  return { mid, body };
}

/** Every job ever stored and not purged, whatever its state (the worker moves jobs between states meanwhile). */
async function storedJobs(): Promise<number> {
  const { pending, leased, done, dead } = await bridge.bridge.store.stats();
  return pending + leased + done + dead;
}

type Delivered = {
  text?: string;
  content?: Array<{ attachment: { mediaType: string; url: string; mime: string } }>;
  channel: { messageId: string; from: { id: string; idType: string }; time: string; metadata: { customAttributes: Record<string, string> } };
};
const delivered = (mid: string) => genesys.messages.filter((m) => (m.body as Delivered).channel.messageId === mid).map((m) => m.body as Delivered);

describe('Instagram DM to Genesys Open Messaging', () => {
  it('delivers a text DM with the Instagram message id, the customer as an Opaque id and the source visible to routing', async () => {
    const { mid, body } = dm('Is this in stock?');
    const res = await postInstagram(bridge.url, body);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('EVENT_RECEIVED');
    expect(await eventually(() => delivered(mid).length === 1)).toBe(true);
    const [msg] = delivered(mid);
    expect(msg!.text).toBe('Is this in stock?');
    expect(msg!.channel.from).toMatchObject({ id: TEST.customer, idType: 'Opaque' });
    expect(msg!.channel.metadata.customAttributes).toMatchObject({
      'dmbridge.channel': 'instagram',
      'dmbridge.source': 'Instagram DM',
      'dmbridge.account': TEST.accountId,
    });
    expect(genesys.messages[0]!.integrationId).toBe(TEST.integrationId);
  });

  it("delivers an image DM as one attachment with mediaType Image and an image mime type, on the bridge's /media route", async () => {
    const { mid, body } = dm('Like this one', { imageUrl: 'https://lookaside.fbsbx.com/ig_messaging_cdn/?asset_id=111&signature=abc' });
    expect((await postInstagram(bridge.url, body)).status).toBe(200);
    expect(await eventually(() => delivered(mid).length === 1)).toBe(true);
    const attachment = delivered(mid)[0]!.content![0]!.attachment;
    expect(attachment.mediaType).toBe('Image');
    expect(attachment.mime).toMatch(/^image\//);
    expect(new URL(attachment.url).pathname).toMatch(/^\/media\/[\w-]+\.[\w-]+$/);
  });

  it('turns the same webhook delivered five times at once into one Genesys message', async () => {
    const { mid, body } = dm('Sent once, delivered five times');
    const answers = await Promise.all(Array.from({ length: 5 }, () => postInstagram(bridge.url, body)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await eventually(() => delivered(mid).length >= 1)).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered(mid)).toHaveLength(1);
  });

  it('keeps per-customer order for a burst of messages from several customers', async () => {
    const customers = ['1001', '1002', '1003'];
    const sent = new Map<string, string[]>();
    await Promise.all(
      customers.map(async (from) => {
        for (let i = 0; i < 10; i++) {
          const { mid, body } = dm(`message ${i}`, { from });
          sent.set(from, [...(sent.get(from) ?? []), mid]);
          expect((await postInstagram(bridge.url, body)).status).toBe(200);
        }
      }),
    );
    expect(await eventually(() => genesys.messages.length >= 30)).toBe(true);
    for (const from of customers) {
      const order = genesys.messages
        .map((m) => m.body as Delivered)
        .filter((m) => m.channel.from.id === from)
        .map((m) => m.channel.messageId);
      expect(order).toEqual(sent.get(from));
    }
  });

  it('rejects a forged signature with 401 and stores nothing', async () => {
    const before = await storedJobs();
    const { body } = dm('forged');
    const res = await postInstagram(bridge.url, body, { secret: 'not-the-app-secret' });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('DMB_ERR_SIGNATURE_INVALID');
    expect(await storedJobs()).toBe(before);
  });

  it('rejects a missing signature with 401 and stores nothing', async () => {
    const before = await storedJobs();
    const res = await postInstagram(bridge.url, dm('unsigned').body, { signature: null });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: string }).error).toBe('DMB_ERR_SIGNATURE_MISSING');
    expect(await storedJobs()).toBe(before);
  });

  it('answers 400 to a correctly signed body that is not JSON', async () => {
    const res = await postInstagram(bridge.url, '{"object":"instagram","entry":[', {});
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('DMB_ERR_MALFORMED_JSON');
  });

  it('answers 415 to a body that is not declared as JSON', async () => {
    const res = await postInstagram(bridge.url, dm('x').body, { contentType: 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('answers 413 to a body over the size limit', async () => {
    const huge = JSON.stringify({ object: 'instagram', entry: [], pad: 'x'.repeat(2 * 1024 * 1024) });
    const res = await postInstagram(bridge.url, huge);
    expect(res.status).toBe(413);
  });

  it("acknowledges events for an account with no connection but forwards nothing", async () => {
    const { mid, body } = dm('for somebody else', { accountId: '17841499999999999' });
    expect((await postInstagram(bridge.url, body)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
    expect(delivered(mid)).toHaveLength(0);
  });

  it("answers Meta's subscription handshake with the raw challenge only for the right verify token", async () => {
    const ok = await fetch(`${bridge.url}/webhooks/instagram?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=${TEST.verifyToken}`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const bad = await fetch(`${bridge.url}/webhooks/instagram?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess`);
    expect(bad.status).toBe(403);
  });

  it('retries through Genesys 503s and timeouts, then delivers once', async () => {
    genesys.failNext(2, { status: 503, body: { message: 'Service Unavailable', code: 'service.unavailable', status: 503 } });
    const { mid, body } = dm('arrives after an outage');
    expect((await postInstagram(bridge.url, body)).status).toBe(200);
    expect(await eventually(() => delivered(mid).length === 1, 8000)).toBe(true);
  });

  it('dead-letters a message Genesys rejects as malformed, keeping its response for the operator', async () => {
    genesys.failNext(1, {
      status: 400,
      body: { message: 'should have required property content', code: 'bad.request', status: 400, contextId: 'ctx-4711', details: [], errors: [] },
    });
    const { mid, body } = dm('rejected by Genesys');
    expect((await postInstagram(bridge.url, body)).status).toBe(200);
    const dead = async () => (await bridge.bridge.store.listDead(10)).find((j) => JSON.stringify(j.payload).includes(mid));
    expect(await eventually(async () => (await dead()) !== undefined, 5000)).toBe(true);
    expect((await dead())!.lastError).toContain('ctx-4711');
    expect(delivered(mid)).toHaveLength(0);
  });

  it('reports health and metrics', async () => {
    expect(await (await fetch(`${bridge.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const metrics = await (await fetch(`${bridge.url}/metrics`)).text();
    expect(metrics).toContain('dmbridge_webhooks_total{route="instagram",outcome="accepted"}');
  });
});
