/**
 * A customer's Instagram media reaches Genesys as a link to the bridge's /media route, typed as Meta's CDN serves it
 * (its links expire, carry no extension and must not be kept), against a fake CDN that redirects, types and expires
 * like Meta's. Only Meta's hosts (and the operator's `media.allowedOrigins`) are ever fetched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid } from '../src/channels/instagram/sandbox/customer.js';
import { startFakeCdn, type FakeCdn } from '../src/channels/instagram/sandbox/fake-cdn.js';
import { TEST, eventually, postInstagram } from './helpers.js';
import { startTikTokBridge, type GenesysBody, type TikTokBridge } from './tiktok-bridge.js';

let cdn: FakeCdn;
let elsewhere: FakeCdn;
let t: TikTokBridge;
beforeAll(async () => {
  cdn = await startFakeCdn();
  elsewhere = await startFakeCdn();
  t = await startTikTokBridge({ mediaOrigins: [cdn.url] });
});
afterAll(async () => {
  await t?.close();
  await Promise.all([cdn?.close(), elsewhere?.close()]);
});

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);
let seq = 0;

async function customerSends(type: string, url: string): Promise<GenesysBody> {
  const customer = `85000000000${String(++seq).padStart(5, '0')}`;
  const mid = fakeMid();
  const body = {
    object: 'instagram',
    entry: [{ id: TEST.accountId, time: Date.now(), messaging: [{ sender: { id: customer }, recipient: { id: TEST.accountId }, timestamp: Date.now(), message: { mid, attachments: [{ type, payload: { url } }] } }] }],
  };
  expect((await postInstagram(t.bridge.url, body)).status).toBe(200);
  const found = () => t.genesys.messages.map((m) => m.body as GenesysBody).find((b) => b.channel.messageId === mid);
  expect(await eventually(() => found() !== undefined)).toBe(true);
  return found()!;
}

describe("a customer's Instagram media", () => {
  it('reaches Genesys as a bridge /media link typed as the CDN serves it, and the link streams the bytes', async () => {
    const link = cdn.add({ contentType: 'image/png', bytes: PNG });
    const attachment = (await customerSends('image', link)).content![0]!.attachment;
    expect(attachment.mediaType).toBe('Image');
    expect(attachment.mime).toBe('image/png');
    expect(attachment.url.startsWith(`${t.bridge.url}/media/`)).toBe(true);
    expect(attachment.url).not.toContain('asset_id');
    const res = await fetch(attachment.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(PNG);
  });

  it('types a voice note and a document without extension by what the CDN says, and serves them', async () => {
    const voice = (await customerSends('audio', cdn.add({ contentType: 'audio/aac', bytes: new Uint8Array([1, 2, 3]) }))).content![0]!.attachment;
    expect(voice).toMatchObject({ mediaType: 'Audio', mime: 'audio/aac' });
    expect((await fetch(voice.url)).status).toBe(200);
    const file = (await customerSends('file', cdn.add({ contentType: 'application/pdf', bytes: new Uint8Array([0x25, 0x50, 0x44, 0x46]) }))).content![0]!.attachment;
    expect(file).toMatchObject({ mediaType: 'File', mime: 'application/pdf' });
    expect((await fetch(file.url)).headers.get('content-type')).toBe('application/pdf');
  });

  it('answers 502 once the CDN link has expired, keeping nothing', async () => {
    const link = cdn.add({ contentType: 'image/jpeg', bytes: PNG });
    const attachment = (await customerSends('image', link)).content![0]!.attachment;
    cdn.expire(link);
    const res = await fetch(attachment.url);
    expect(res.status).toBe(502);
    expect(((await res.json()) as { error: string }).error).toBe('DMB_ERR_MEDIA_UNAVAILABLE');
  });

  it('never fetches a host that is not a Meta CDN, nor follows a redirect to one', async () => {
    const foreign = elsewhere.add({ contentType: 'image/png', bytes: PNG });
    const a = (await customerSends('image', foreign)).content![0]!.attachment;
    expect(a.mime).toBe('image/jpeg');
    expect((await fetch(a.url)).status).toBe(502);
    const redirected = cdn.add({ contentType: 'image/png', bytes: PNG, redirectTo: `${elsewhere.url}/v/t59/10000000` });
    const b = (await customerSends('image', redirected)).content![0]!.attachment;
    expect((await fetch(b.url)).status).toBe(502);
    expect(elsewhere.requests).toEqual([]);
  });

  it('refuses to serve a type a browser would run', async () => {
    const a = (await customerSends('file', cdn.add({ contentType: 'text/html', bytes: new TextEncoder().encode('<script>') }))).content![0]!.attachment;
    expect((await fetch(a.url)).status).toBe(502);
  });
});
