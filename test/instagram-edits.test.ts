/**
 * Instagram edits as Meta really sends them: `message_edit` items without sender and recipient
 * (`{"timestamp":…, "message_edit":{"mid":"…","text":"…","num_edit":1}}`), and `num_edit: 0` with every new message.
 * The edit reaches the agent in the customer's conversation, found from the bridge's record of the edited message.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseInstagramWebhook } from '../src/channels/instagram/parse.js';
import { fakeMid, instagramDmWebhook } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, postInstagram } from './helpers.js';
import { startTikTokBridge, type GenesysBody, type TikTokBridge } from './tiktok-bridge.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`./fixtures/instagram/${name}`, import.meta.url), 'utf8'));
const editOf = (mid: string, text: string, numEdit: number) => ({
  object: 'instagram',
  entry: [{ id: TEST.accountId, time: Date.now(), messaging: [{ timestamp: Date.now(), message_edit: { mid, text, num_edit: numEdit } }] }],
});

let t: TikTokBridge;
beforeAll(async () => {
  t = await startTikTokBridge();
});
afterAll(() => t?.close());

const texts = (customer: string) => t.genesys.messages.map((m) => m.body as GenesysBody).filter((b) => b.channel.from.id === customer).map((b) => b.text);
const skipped = async (reason: string) => (await t.bridge.bridge.metrics.eventsSkipped.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;

describe('parsing an edit without sender', () => {
  it('is an update of the edited message, not a malformed item', () => {
    const result = parseInstagramWebhook(fixture('message-edit-unattributed.json'));
    expect(result.skipped).toEqual([]);
    const mid = fixture('message-edit-unattributed.json').entry[0].messaging[0].message_edit.mid;
    expect(result.events).toEqual([
      {
        channel: 'instagram',
        kind: 'update',
        accountId: TEST.accountId,
        dedupeKey: `instagram:${TEST.accountId}:edit:${mid}#2`,
        timestamp: 1772443060101,
        subtype: 'edit',
        messageId: `${mid}#edit-2`,
        text: '✏️ edited a message: Is this in stock in size L?',
        attributes: {},
        opensWindow: false,
        refersTo: mid,
      },
    ]);
  });

  it('skips num_edit 0 under its own reason', () => {
    expect(parseInstagramWebhook(editOf('aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE', 'Hello there', 0))).toEqual({ events: [], skipped: [{ channel: 'instagram', reason: 'edit_initial' }] });
  });
});

describe('an edit end to end', () => {
  it("shows the agent the edit in the customer's conversation", async () => {
    const customer = '8600000000000001';
    const mid = fakeMid();
    expect((await postInstagram(t.bridge.url, instagramDmWebhook({ mid, timestamp: Date.now(), text: 'Size M please', from: customer }, TEST.accountId))).status).toBe(200);
    expect(await eventually(() => texts(customer).length === 1)).toBe(true);
    expect((await postInstagram(t.bridge.url, editOf(mid, 'Size L please', 1))).status).toBe(200);
    expect(await eventually(() => texts(customer).length === 2)).toBe(true);
    expect(texts(customer)).toEqual(['Size M please', '✏️ edited a message: Size L please']);
    const edit = t.genesys.messages.map((m) => m.body as GenesysBody).find((b) => b.channel.messageId === `${mid}#edit-1`)!;
    expect(edit.channel.metadata.customAttributes['dmbridge.subtype']).toBe('edit');
    // Meta delivers it again: still once.
    expect((await postInstagram(t.bridge.url, editOf(mid, 'Size L please', 1))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect(texts(customer)).toHaveLength(2);
  });

  it('forwards nothing for num_edit 0 and counts it', async () => {
    const before = await skipped('edit_initial');
    expect((await postInstagram(t.bridge.url, editOf(fakeMid(), 'new', 0))).status).toBe(200);
    expect(await skipped('edit_initial')).toBe(before + 1);
  });

  it('skips and counts an edit of a message the bridge never delivered, after looking for it a few times', async () => {
    const before = await skipped('update_unknown_message');
    expect((await postInstagram(t.bridge.url, editOf(fakeMid(), 'about what?', 3))).status).toBe(200);
    expect(await eventually(async () => (await skipped('update_unknown_message')) === before + 1, 8000)).toBe(true);
    expect(await t.bridge.bridge.store.listDead(10)).toEqual([]);
  });
});
