/**
 * What the agent reads for what is not a customer's DM: TikTok mentions and comments labelled as what they are, with
 * the username where TikTok gives one; a TikTok card that arrived without a tap shown as the card; and the brand's
 * own replies from the platforms' apps (or other apps connected to the account) marked as not the customer's,
 * with what they contained (a reel, a card), and an attribute Architect can test.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeMid } from '../src/channels/instagram/sandbox/customer.js';
import { TEST, eventually, postInstagram } from './helpers.js';
import { startTikTokBridge, TT, type GenesysBody, type TikTokBridge } from './tiktok-bridge.js';

let t: TikTokBridge;
beforeAll(async () => {
  t = await startTikTokBridge({ tiktok: { forwardAppReplies: true }, instagram: { forwardAppReplies: true } });
});
afterAll(() => t?.close());

const forCustomer = (customer: string) => t.genesys.messages.map((m) => m.body as GenesysBody).filter((b) => b.channel.from.id === customer);
async function nth(customer: string, n: number): Promise<GenesysBody> {
  expect(await eventually(() => forCustomer(customer).length > n)).toBe(true);
  return forCustomer(customer)[n]!;
}

describe('TikTok mentions and comments', () => {
  it('labels a mention as a TikTok mention, names its author, and says why it cannot be answered by DM', async () => {
    const author = '+Mention1Q';
    const videoId = '7600000000000000901';
    expect(
      (await t.deliver('brand.mention.event', {
        type_of_event: 'CREATE',
        mention_type: 'VIDEO_MENTION',
        video_id: videoId,
        open_id_of_mentioned_user: TT.businessId,
        unique_identifier: author,
        share_url: `https://www.tiktok.com/@mug.fan/video/${videoId}`,
        video_caption: 'Look at this mug',
        comment_id: '0',
      })).status,
    ).toBe(200);
    const m = await nth(author, 0);
    expect(m.channel.metadata.customAttributes['dmbridge.source']).toBe('TikTok mention');
    expect(m.channel.from.nickname).toBe('mug.fan');
    expect(m.text).toMatch(/^📣 @mug\.fan mentioned the brand in a TikTok video/);
    expect(m.text).toContain('TikTok lets a business message only people who have written to it');
  });

  it('labels a comment as a TikTok comment and names its author for what they are, not by their raw id', async () => {
    const author = '+Comment1Q';
    const comment = { comment_id: '7600000000000000902', video_id: '7600000000000000903', parent_comment_id: '0', comment_type: 'comment', comment_action: 'insert', unique_identifier: author, timestamp: Date.now(), text: 'Nice!' };
    expect((await t.deliver('comment.update', comment)).status).toBe(200);
    const m = await nth(author, 0);
    expect(m.channel.metadata.customAttributes['dmbridge.source']).toBe('TikTok comment');
    expect(m.channel.from.nickname).toBe('TikTok comment author');
  });

  it('keeps TikTok DM as the source of a DM', async () => {
    const c = t.newConversation();
    await t.customerWrites(c);
    expect((await nth(c.customer, 0)).channel.metadata.customAttributes['dmbridge.source']).toBe('TikTok DM');
  });
});

describe('a TikTok card that arrives without a tap', () => {
  const card = { type: 'qa_button_card', elements: [{ title: 'Track another order?', buttons: [{ text: 'Yes', type: 'REPLY', id: 'YES' }, { text: 'No', type: 'REPLY', id: 'NO' }] }] };

  it('shows the card with its options, not a tap', async () => {
    const c = t.newConversation();
    expect((await t.deliver('im_receive_msg', t.dmContent(c, { type: 'template', text: undefined, template: card }))).status).toBe(200);
    expect((await nth(c.customer, 0)).text).toBe('🔘 a card: Track another order?\nOptions: Yes · No');
  });

  it('still shows a reported tap as the button tapped', async () => {
    const c = t.newConversation();
    const tap = { type: 'template', text: undefined, template: card, reply_source_payload: { reply_source_msg_id: 'card1==', reply_source_unique_id: 'NO' } };
    expect((await t.deliver('im_receive_msg', t.dmContent(c, tap))).status).toBe(200);
    expect((await nth(c.customer, 0)).text).toBe('No');
  });
});

describe("the brand's replies from elsewhere (forwardAppReplies)", () => {
  const tiktokEcho = (c: { customer: string; conversationId: string }, extra: Record<string, unknown>) => ({
    ...t.dmContent(c),
    from: 'acme_store',
    unique_identifier: TT.businessId,
    from_user: { id: TT.businessId, role: 'business_account' },
    to_user: { id: c.customer, role: 'personal_account' },
    ...extra,
  });

  it('marks a reply from the TikTok app as not from the customer, with an attribute Architect can test', async () => {
    const c = t.newConversation();
    await t.customerWrites(c);
    expect((await t.deliver('im_send_msg', tiktokEcho(c, { text: { body: 'On it!' }, message_tag: { source: 'APP' } }))).status).toBe(200);
    const note = await nth(c.customer, 1);
    expect(note.text).toBe('[Not from the customer] The brand replied from the TikTok app: On it!');
    expect(note.channel.metadata.customAttributes).toMatchObject({ 'dmbridge.fromBrand': 'true', 'dmbridge.note': 'app_reply', 'dmbridge.subtype': 'app_reply' });
  });

  it('says a TikTok send with source API came from another app connected to the account, and shows a card it sent', async () => {
    const c = t.newConversation();
    await t.customerWrites(c);
    const template = { type: 'qa_button_card', elements: [{ title: 'Rate us', buttons: [{ text: 'Great', type: 'REPLY', id: 'G' }, { text: 'Meh', type: 'REPLY', id: 'M' }] }] };
    expect((await t.deliver('im_send_msg', tiktokEcho(c, { type: 'template', text: undefined, template, message_tag: { source: 'API' } }))).status).toBe(200);
    expect((await nth(c.customer, 1)).text).toBe('[Not from the customer] The brand replied from another app connected to the TikTok account: 🔘 a card: Rate us\nOptions: Great · Meh');
  });

  it('shows the reel and the card of Instagram echoes instead of "no text"', async () => {
    const customer = '8700000000000001';
    const echo = (attachments: unknown[]) => ({
      object: 'instagram',
      entry: [{ id: TEST.accountId, time: Date.now(), messaging: [{ sender: { id: TEST.accountId }, recipient: { id: customer }, timestamp: Date.now(), message: { mid: fakeMid(), is_echo: true, attachments } }] }],
    });
    expect((await postInstagram(t.bridge.url, echo([{ type: 'ig_reel', payload: { url: 'https://www.instagram.com/reel/DAbCdEfReel/', title: 'How we pack your order', reel_video_id: '1806' } }]))).status).toBe(200);
    expect((await nth(customer, 0)).text).toBe('[Not from the customer] The brand replied from the Instagram app: 🎬 a reel: How we pack your order https://www.instagram.com/reel/DAbCdEfReel/');
    const card = { type: 'template', payload: { generic: { elements: [{ title: 'Blue mug', default_action: { url: 'https://shop.example/mug' } }] } } };
    expect((await postInstagram(t.bridge.url, echo([card]))).status).toBe(200);
    expect((await nth(customer, 1)).text).toBe('[Not from the customer] The brand replied from the Instagram app: 🃏 a card: Blue mug https://shop.example/mug');
  });
});
