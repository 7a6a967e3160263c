/**
 * The sandbox a newcomer gets from `npm start`: both fakes and the bridge, a demo DM delivered, and both sides
 * playable (customer DM in, agent reply out, receipt back).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INSTAGRAM_SANDBOX, sendSandboxDm } from '../src/channels/instagram/sandbox/customer.js';
import { TIKTOK_SANDBOX, sendSandboxTikTokDm, sendSandboxTikTokMention } from '../src/channels/tiktok/sandbox/customer.js';
import { runSandbox, type RunningSandbox } from '../src/entry/sandbox.js';
import { deliverOutbound, outboundWebhookBody } from '../src/sandbox/fake-genesys/index.js';
import { eventually, tempDir } from './helpers.js';

const dir = tempDir();
const printed: string[] = [];
let sandbox: RunningSandbox;

beforeAll(async () => {
  sandbox = await runSandbox({ portBase: 0, store: `sqlite:${dir.path}/sandbox.db`, logLevel: 'silent', out: (l) => printed.push(l) });
});
afterAll(async () => {
  await sandbox?.close();
  dir.cleanup();
});

describe('the sandbox', () => {
  it('prints what to try and shows the demo DM reaching the fake Genesys with the customer profile', async () => {
    expect(printed.join('\n')).toContain('sandbox send "Hi, where is my order?"');
    expect(printed.join('\n')).toContain('sandbox reply');
    expect(await eventually(() => printed.some((l) => l.startsWith('bridge → Genesys: [Instagram DM] jane.doe: Hi! Is my order on its way?')))).toBe(true);
  });

  it("renews the sandbox's Instagram token at start, as it would an operator's token a few days old", async () => {
    const expiry = async () => {
      const text = await (await fetch(`${sandbox.bridgeUrl}/metrics`)).text();
      return new RegExp(`dmbridge_access_token_expires_at_seconds\\{[^}]*connection="${INSTAGRAM_SANDBOX.connectionId}"[^}]*\\} (\\d+)`).exec(text)?.[1];
    };
    expect(await eventually(async () => (await expiry()) !== undefined)).toBe(true);
    expect(Number(await expiry()) * 1000).toBeGreaterThan(Date.now() + 59 * 24 * 3600_000);
  });

  it('plays both sides: a DM in, the agent reply out to Instagram, a Delivered receipt back, the echo not forwarded', async () => {
    const dm = await sendSandboxDm(sandbox.bridgeUrl, { text: 'Where is my order?' });
    expect(dm.status).toBe(200);
    const { id, body } = outboundWebhookBody({ integrationId: INSTAGRAM_SANDBOX.integrationId, customerId: INSTAGRAM_SANDBOX.customer.igsid, text: 'It ships today.' });
    const answer = await deliverOutbound(`${sandbox.bridgeUrl}/webhooks/genesys/${INSTAGRAM_SANDBOX.connectionId}`, body, INSTAGRAM_SANDBOX.genesysWebhookSecret);
    expect(answer.status).toBe(200);
    expect(await eventually(() => printed.some((l) => l === `bridge → Genesys receipt for ${id}: Delivered`))).toBe(true);
    expect(printed).toContain(`bridge → Instagram: {"recipient":{"id":"${INSTAGRAM_SANDBOX.customer.igsid}"},"messaging_type":"RESPONSE","message":{"text":"It ships today."}}`);
    await new Promise((r) => setTimeout(r, 300));
    expect(sandbox.genesys.messages.map((m) => (m.body as { text?: string }).text)).not.toContain('It ships today.');
  });

  it('plays a TikTok conversation both ways, and a brand mention reaches the agent with its link', async () => {
    expect((await sendSandboxTikTokDm(sandbox.bridgeUrl, 'Is the blue mug in stock?')).status).toBe(200);
    expect(await eventually(() => printed.some((l) => l === 'bridge → Genesys: [TikTok DM] jane.doe: Is the blue mug in stock?'))).toBe(true);
    const { id, body } = outboundWebhookBody({ integrationId: TIKTOK_SANDBOX.integrationId, customerId: TIKTOK_SANDBOX.customer.id, text: 'Yes, it ships today.' });
    const answer = await deliverOutbound(`${sandbox.bridgeUrl}/webhooks/genesys/${TIKTOK_SANDBOX.connectionId}`, body, TIKTOK_SANDBOX.genesysWebhookSecret);
    expect(answer.status).toBe(200);
    expect(await eventually(() => printed.some((l) => l === `bridge → Genesys receipt for ${id}: Delivered`))).toBe(true);
    expect(printed.some((l) => l.startsWith('bridge → TikTok: ') && l.includes('"text":{"body":"Yes, it ships today."}'))).toBe(true);

    const mention = await sendSandboxTikTokMention(sandbox.bridgeUrl);
    expect(mention.status).toBe(200);
    expect(await eventually(() => printed.some((l) => l.includes(`https://www.tiktok.com/@jane.doe/video/${mention.videoId}`)))).toBe(true);
  });
});
