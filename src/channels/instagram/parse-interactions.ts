/**
 * The messaging items that are about the conversation rather than a message of their own: reactions, reads,
 * postbacks, referrals and edits (instagram-messaging.md §3.2). Pure.
 */
import type { InboundMessageUpdate, InboundRead, ParseResult } from '../../core/events.js';
import { describeIssue } from '../zod-issue.js';
import { CHANNEL, customerBase, dedupeKey, definedOnly, labelled, skip, type ItemContext } from './parse-context.js';
import { messageEditSchema, postbackSchema, reactionSchema, readSchema, referralSchema, type InstagramReferral } from './schema.js';

/** Reactions have no mid of their own: the key is derived from who reacted to what, how, and when. */
export function parseReactionEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
  const parsed = reactionSchema.safeParse(value);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('reaction', parsed.error));
  const { mid, action, emoji, reaction } = parsed.data;
  const id = [ctx.senderId, mid, action, emoji ?? reaction ?? '', ctx.timestamp].join(':');
  const text = action === 'unreact' ? 'removed their reaction' : emoji ? `reacted ${emoji} to your message` : 'reacted to your message';
  out.events.push({
    ...customerBase(ctx, dedupeKey(ctx.accountId, 'reaction', id)),
    subtype: action === 'unreact' ? 'unreaction' : 'reaction',
    messageId: id,
    text,
    attributes: {},
    // Whether reactions reopen the 24 h window is unconfirmed (instagram-messaging.md §4.3): assume not.
    opensWindow: false,
    refersTo: mid,
  });
}

export function parseReadEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
  const parsed = readSchema.safeParse(value);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('read', parsed.error));
  const { mid } = parsed.data;
  const read: InboundRead = {
    channel: CHANNEL,
    kind: 'read',
    accountId: ctx.accountId,
    customerId: ctx.senderId,
    dedupeKey: dedupeKey(ctx.accountId, 'read', `${ctx.senderId}:${mid}:${ctx.timestamp}`),
    timestamp: ctx.timestamp,
    messageId: mid,
  };
  out.events.push(read);
}

/** Postbacks count as customer messages for the window (instagram-messaging.md §4.3, Courier). */
export function parsePostbackEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
  const parsed = postbackSchema.safeParse(value);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('postback', parsed.error));
  const postback = parsed.data;
  const id = postback.mid ?? `${ctx.senderId}:${postback.payload ?? ''}:${ctx.timestamp}`;
  out.events.push({
    ...customerBase(ctx, dedupeKey(ctx.accountId, 'postback', id)),
    subtype: 'postback',
    messageId: id,
    text: postback.title || '🔘 tapped a button',
    attributes: {
      ...referralAttributesOf(postback.referral),
      ...definedOnly({ 'dmbridge.postbackPayload': postback.payload }),
    },
    opensWindow: true,
    // A template button's tap: `payload` is the one the business defined (https://developers.facebook.com/docs/messenger-platform/reference/webhook-events/messaging_postbacks).
    ...(postback.payload ? { button: { payload: postback.payload, text: postback.title || postback.payload } } : {}),
  });
}

/**
 * A top-level referral is an ig.me link opened in an existing thread; some accounts also get story mentions this
 * way (`source: STORY_MENTION`, Shudesu/ig-harness-oss#20). https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 */
export function parseReferralEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
  const parsed = referralSchema.safeParse(value);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('referral', parsed.error));
  const referral = parsed.data;
  const id = [ctx.senderId, referral.source ?? '', referral.ref ?? '', ctx.timestamp].join(':');
  const base = { ...customerBase(ctx, dedupeKey(ctx.accountId, 'referral', id)), messageId: id };
  if (referral.source === 'STORY_MENTION') {
    const text = labelled('📣 mentioned you in their story', referral.url);
    out.events.push({ ...base, subtype: 'story_mention', text, attributes: {}, opensWindow: true });
    return;
  }
  out.events.push({
    ...base,
    subtype: 'referral',
    text: referral.ref ? `🔗 opened the chat from a link (ref: ${referral.ref})` : '🔗 opened the chat from a link',
    attributes: referralAttributesOf(referral),
    opensWindow: false,
  });
}

/** Edits reuse the mid; `num_edit` tells edits apart (Meta Postman collection, fbsamples/messenger-platform-samples). */
export function parseMessageEditEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
  const edit = editOf(value, ctx.timestamp, out);
  if (edit) out.events.push({ ...customerBase(ctx, edit.dedupeKey(ctx.accountId)), ...edit.fields });
}

/**
 * The edit as Meta really sends it, without sender and recipient: an update of the edited message, whose customer
 * the bridge finds from its record of that message (src/jobs/message-update.ts).
 */
export function parseUnattributedEdit(value: unknown, accountId: string, timestamp: number | undefined, out: ParseResult): void {
  if (timestamp === undefined) return skip(out, 'malformed', 'message_edit item: no timestamp and no entry.time');
  const edit = editOf(value, timestamp, out);
  if (!edit) return;
  const update: InboundMessageUpdate = { channel: CHANNEL, kind: 'update', accountId, dedupeKey: edit.dedupeKey(accountId), timestamp, ...edit.fields };
  out.events.push(update);
}

/** `num_edit` 0 comes with every new message (captured traffic): it is not an edit, so it is skipped as such. */
function editOf(value: unknown, timestamp: number, out: ParseResult) {
  const parsed = messageEditSchema.safeParse(value);
  if (!parsed.success) return void skip(out, 'malformed', describeIssue('message_edit', parsed.error));
  const { mid, text, num_edit } = parsed.data;
  if (num_edit === 0) return void skip(out, 'edit_initial');
  const edit = num_edit ?? timestamp;
  return {
    dedupeKey: (accountId: string) => dedupeKey(accountId, 'edit', `${mid}#${edit}`),
    fields: { subtype: 'edit', messageId: `${mid}#edit-${edit}`, text: labelled('✏️ edited a message', text), attributes: {}, opensWindow: false, refersTo: mid },
  };
}

/** Ads (Click-to-Direct) and Shop referrals ride on `message.referral`; ig.me links are a top-level `referral`. */
export function referralAttributesOf(referral: InstagramReferral | undefined): Record<string, string> {
  return definedOnly({
    'dmbridge.referral.ref': referral?.ref,
    'dmbridge.referral.source': referral?.source,
    'dmbridge.referral.type': referral?.type,
    'dmbridge.referral.adId': referral?.ad_id,
    'dmbridge.referral.adTitle': referral?.ads_context_data?.ad_title,
    'dmbridge.referral.productId': referral?.product?.id,
  });
}
