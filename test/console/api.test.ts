/**
 * The sandbox console's API, over HTTP against a running sandbox (every server a real local one): what the page and
 * `dmbridge sandbox send | reply` rely on. Generic over the registry: every channel with a sandbox is played.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { playableChannels, runSandbox, type RunningSandbox } from '../../src/entry/sandbox.js';
import type { Hop } from '../../src/sandbox/console/hops.js';
import { tempDir } from '../helpers.js';

const dir = tempDir();
let sandbox: RunningSandbox;
let channels: Awaited<ReturnType<typeof playableChannels>>;
const SAMPLE = readFileSync(new URL('../../src/sandbox/console/static/sample.png', import.meta.url));

beforeAll(async () => {
  channels = await playableChannels();
  sandbox = await runSandbox({ portBase: 0, store: `sqlite:${dir.path}/sandbox.db`, logLevel: 'silent', out: () => undefined, demo: false });
});
afterAll(async () => {
  await sandbox?.close();
  dir.cleanup();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${sandbox.consoleUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}
async function get(path: string): Promise<any> {
  return (await fetch(`${sandbox.consoleUrl}${path}`)).json();
}
async function hops(): Promise<Hop[]> {
  return (await get('/api/hops?after=0')).hops;
}

describe('the console API', () => {
  it('lists every channel that has a sandbox, with its customer actions, and no reply window before the customer writes', async () => {
    const state = await get('/api/state');
    expect(state.channels.map((c: { name: string }) => c.name)).toEqual(channels.map((p) => p.channel.name));
    for (const { channel, sandbox: facet } of channels) {
      const listed = state.channels.find((c: { name: string }) => c.name === channel.name);
      expect(listed.actions.map((a: { name: string }) => a.name)).toEqual(Object.keys(facet.actions ?? {}));
      expect(listed.window).toEqual({});
    }
    expect(state.offsetMs).toBe(0);
    const first = channels[0]!.channel.name;
    expect(await post('/api/clock', { pastWindowOf: first })).toMatchObject({ status: 422, json: { error: expect.stringContaining('has not written yet') } });
  });

  it('serves the page and its files, and nothing else', async () => {
    const page = await fetch(`${sandbox.consoleUrl}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('/static/console.js');
    expect((await fetch(`${sandbox.consoleUrl}/static/console.js`)).headers.get('content-type')).toContain('javascript');
    expect((await fetch(`${sandbox.consoleUrl}/static/../app.ts`)).status).toBe(404);
    expect((await fetch(`${sandbox.consoleUrl}/static/secrets.txt`)).status).toBe(404);
  });

  it('logs every hop of a DM and its reply with the exact JSON: signed webhook, message at Genesys, send to the platform, Delivered receipt', async () => {
    const { channel } = channels[0]!;
    const dm = await post('/api/customer?wait=10000', { channel: channel.name, action: 'send', text: 'Where is my parcel?' });
    expect(dm.status).toBe(200);
    expect(dm.json).toMatchObject({ status: 200, delivered: { text: 'Where is my parcel?' } });
    const reply = await post('/api/agent?wait=15000', { channel: channel.name, text: 'It ships today.' });
    expect(reply.json).toMatchObject({ status: 200, receipt: { status: 'Delivered' } });

    const mine = (await hops()).filter((h) => h.channel === channel.name);
    const webhook = mine.find((h) => h.from === 'customer')!;
    expect(webhook).toMatchObject({ to: 'bridge', ok: true, answer: expect.stringMatching(/^200/) });
    expect(Object.keys(webhook.headers!).some((h) => h !== 'content-type')).toBe(true); // the signature
    const atGenesys = mine.find((h) => h.title === 'inbound message')!;
    expect(atGenesys.json).toEqual(dm.json.delivered);
    expect(sandbox.genesys.messages.map((m) => m.body)).toContainEqual(atGenesys.json);
    const notification = mine.find((h) => h.from === 'agent')!;
    expect(notification.json).toMatchObject({ id: reply.json.genesysMessageId, text: 'It ships today.', direction: 'Outbound' });
    const toPlatform = mine.find((h) => h.from === 'bridge' && h.to === 'platform' && h.bubble?.on === 'phone')!;
    expect(toPlatform.bubble).toMatchObject({ who: 'brand', text: 'It ships today.' });
    const receipt = mine.find((h) => h.bubble?.on === 'receipt')!;
    expect(receipt.bubble).toEqual({ on: 'receipt', genesysMessageId: reply.json.genesysMessageId, status: 'Delivered' });
    // In the order they happened, each with a time.
    const order = [webhook, atGenesys, notification, toPlatform, receipt].map((h) => h.at);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('plays an image on every channel: the agent gets an attachment that serves the very picture', async () => {
    const imageUrl = `${sandbox.consoleUrl}/static/sample.png`;
    for (const { channel } of channels) {
      const sent = await post('/api/customer?wait=10000', { channel: channel.name, action: 'send', imageUrl });
      expect(sent.status, channel.name).toBe(200);
      const url = sent.json.delivered?.content?.[0]?.attachment?.url as string;
      expect(url, channel.name).toBeTruthy();
      const bytes = Buffer.from(await (await fetch(url)).arrayBuffer());
      expect(bytes.equals(SAMPLE), channel.name).toBe(true);
    }
  });

  it("plays an agent's image on every channel: uploaded to the fake Genesys, fetched with the bridge's token, Delivered", async () => {
    const imageUrl = `${sandbox.consoleUrl}/static/sample.png`;
    for (const { channel } of channels) {
      await post('/api/customer?wait=10000', { channel: channel.name, action: 'send', text: 'Can I see it?' });
      const calls = sandbox.fakes.get(channel.name)!.calls().length;
      const reply = await post('/api/agent?wait=15000', { channel: channel.name, imageUrl });
      expect(reply.json.receipt?.status, channel.name).toBe('Delivered');
      // Where the phone shows the picture by a link on this machine (the bridge's /media, which the platform fetches),
      // the link serves the very picture.
      const shown = sandbox.fakes.get(channel.name)!.calls().slice(calls).find((c) => c.delivered?.imageUrl)?.delivered?.imageUrl;
      if (shown && new URL(shown).hostname === '127.0.0.1') expect(Buffer.from(await (await fetch(shown)).arrayBuffer()).equals(SAMPLE), channel.name).toBe(true);
    }
    const downloads = sandbox.genesys.downloadRequests;
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.filter((d) => d.origin === 'downloads').every((d) => d.authorization?.startsWith('Bearer '))).toBe(true);
    expect(downloads.filter((d) => d.origin === 'storage' && d.status === 200).every((d) => d.authorization === undefined)).toBe(true);
  });

  it("plays every channel's customer actions, an action about the brand's message on its latest one", async () => {
    for (const { channel, sandbox: facet } of channels) {
      await post('/api/agent?wait=15000', { channel: channel.name, text: `Hello from ${channel.labels.platform}` });
      for (const name of Object.keys(facet.actions ?? {})) {
        const played = await post('/api/customer?wait=10000', { channel: channel.name, action: name });
        expect(played.status, `${channel.name} ${name}`).toBe(200);
        expect(played.json.delivered, `${channel.name} ${name}`).toBeDefined();
      }
    }
  });

  it('refuses what cannot be played, in a sentence', async () => {
    const first = channels[0]!.channel.name;
    expect(await post('/api/customer', { channel: 'fax', action: 'send', text: 'hi' })).toMatchObject({ status: 404, json: { error: expect.stringContaining('no playable channel "fax"') } });
    expect(await post('/api/customer', { channel: first, action: 'juggle' })).toMatchObject({ status: 422, json: { error: expect.stringContaining('no customer action "juggle"') } });
    expect(await post('/api/customer', { channel: first, action: 'send' })).toMatchObject({ status: 422 });
    expect(await post('/api/customer', 'not json')).toMatchObject({ status: 400, json: { error: 'the body must be JSON' } });
    const fromAnotherPage = await fetch(`${sandbox.consoleUrl}/api/customer`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ channel: first, text: 'hi' }) });
    expect(fromAnotherPage.status).toBe(415);
    expect(await post('/api/customer', { channel: first, colour: 'blue' })).toMatchObject({ status: 400 });
    expect(await post('/api/agent', { channel: first, imageUrl: 'file:///etc/passwd' })).toMatchObject({ status: 400 });
    expect(await post('/api/clock', { advanceMs: -1 })).toMatchObject({ status: 400 });
    expect(await post('/api/clock', { pastWindowOf: 'fax' })).toMatchObject({ status: 404 });
  });

  it('closes the reply window by moving the clock: the reply fails with the sentence the agent reads, the platform is never called', async () => {
    const { channel } = channels[0]!;
    await post('/api/customer?wait=10000', { channel: channel.name, action: 'send', text: 'Are you there?' });
    const before = (await get('/api/state')).channels[0];
    expect(before.window.endsAt).toBeGreaterThan(sandbox.clock.now());
    const moved = await post('/api/clock', { pastWindowOf: channel.name });
    expect(moved.status).toBe(200);
    expect(moved.json.now).toBeGreaterThan(before.window.endsAt);
    const platformCalls = () => sandbox.fakes.get(channel.name)!.calls().filter((c) => c.direction === 'to-platform').length;
    const callsBefore = platformCalls();

    const reply = await post('/api/agent?wait=15000', { channel: channel.name, text: 'Sorry for the wait!' });
    expect(reply.json.receipt.status).toBe('Failed');
    expect(reply.json.receipt.reasons[0].message).toMatch(/only allows replies within 24 hours of the customer's last message/);
    const failed = (await hops()).find((h) => h.bubble?.on === 'receipt' && h.bubble.genesysMessageId === reply.json.genesysMessageId)!;
    expect(failed).toMatchObject({ ok: false, bubble: { status: 'Failed', sentence: reply.json.receipt.reasons[0].message } });
    expect(platformCalls()).toBe(callsBefore);
  });

  it('keeps the platforms on the moved clock: every channel still delivers, signed and stamped with the sandbox time, and the window opens again', async () => {
    await post('/api/clock', { advanceMs: 3 * 24 * 60 * 60 * 1000 });
    for (const { channel } of channels) {
      const sent = await post('/api/customer?wait=10000', { channel: channel.name, action: 'send', text: 'A few days later…' });
      expect(sent.json, channel.name).toMatchObject({ status: 200, delivered: { text: 'A few days later…' } });
    }
    const state = await get('/api/state');
    expect(state.offsetMs).toBeGreaterThan(3 * 24 * 60 * 60 * 1000);
    for (const c of state.channels) expect(c.window.endsAt, c.name).toBeGreaterThan(state.now);
    // The bridge's calls are signed and timed on the moved clock too, and each platform takes them.
    for (const { channel } of channels) {
      const reply = await post('/api/agent?wait=15000', { channel: channel.name, text: 'Welcome back!' });
      expect(reply.json.receipt?.status, channel.name).toBe('Delivered');
    }
  });
});
