/**
 * Instagram webhook body → normalized inbound events (src/core/events.ts). Pure: no I/O, no clock, and it never
 * throws for any JSON value. A malformed item becomes a `skipped` entry with a reason; the rest of the batch is
 * still parsed. Protocol facts: docs/protocols/instagram-messaging.md §3 and §11.
 */
import type {
  InboundAttachment,
  InboundEcho,
  InboundMessage,
  InboundRead,
  MediaType,
  ParseResult,
} from '../../core/events.js';
import { describeIssue } from '../zod-issue.js';
import {
  attachmentSchema,
  changeSchema,
  entrySchema,
  messageEditSchema,
  messageSchema,
  messagingItemSchema,
  postbackSchema,
  reactionSchema,
  readSchema,
  referralSchema,
  webhookSchema,
  type InstagramAttachment,
  type InstagramEntry,
  type InstagramMessage,
  type InstagramReferral,
} from './schema.js';

const CHANNEL = 'instagram';

/** Shown instead of content Instagram does not deliver to the API: the agent never gets an empty message. */
const UNSHOWABLE_TEXT = '[the customer sent something Instagram cannot show here]';
const EPHEMERAL_TEXT = '[disappearing photo or video – Instagram does not share it]';

/** Who sent one messaging item to whom, and when. */
interface ItemContext {
  accountId: string;
  senderId: string;
  recipientId: string;
  timestamp: number;
}

/** One agent-visible piece of a message: a line of text and/or one attachment. */
interface Part {
  subtype: string;
  text?: string;
  attachment?: InboundAttachment;
}

type DedupeKind = 'message' | 'deleted' | 'echo' | 'edit' | 'reaction' | 'read' | 'postback' | 'referral';

export function parseInstagramWebhook(body: unknown): ParseResult {
  const out: ParseResult = { events: [], skipped: [] };
  const webhook = webhookSchema.safeParse(body);
  if (!webhook.success) skip(out, 'malformed', describeIssue('body', webhook.error));
  else if (webhook.data.object !== 'instagram') skip(out, 'wrong_object', webhook.data.object);
  // Many entries per POST, each with many items: iterate all (Courier read only messaging[0]).
  // https://developers.facebook.com/docs/graph-api/webhooks/getting-started
  else for (const entry of webhook.data.entry) parseEntry(entry, out);
  return out;
}

const ITEMS_PER_PART = 50;

/**
 * The body as parts `parseInstagramWebhook` takes one by one with the same result: one entry each, an entry's
 * `messaging` items in slices of ITEMS_PER_PART (its other fields with the first slice). Anything that is not a
 * batch is one part.
 */
export function splitInstagramWebhook(body: unknown): unknown[] {
  const entries = (body as { entry?: unknown } | null)?.entry;
  if (!Array.isArray(entries)) return [body];
  return entries.flatMap((entry: unknown) => {
    const messaging = (entry as { messaging?: unknown } | null)?.messaging;
    if (!Array.isArray(messaging) || messaging.length <= ITEMS_PER_PART) return [{ ...(body as object), entry: [entry] }];
    const parts: unknown[] = [];
    for (let i = 0; i < messaging.length; i += ITEMS_PER_PART) {
      const slice = messaging.slice(i, i + ITEMS_PER_PART);
      parts.push({ ...(body as object), entry: [i === 0 ? { ...(entry as object), messaging: slice } : { id: (entry as { id?: unknown }).id, time: (entry as { time?: unknown }).time, messaging: slice }] });
    }
    return parts;
  });
}

function parseEntry(raw: unknown, out: ParseResult): void {
  const parsed = entrySchema.safeParse(raw);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('entry', parsed.error));
  const entry = parsed.data;
  // The dashboard "Test" button sends entry.id "0" (chatwoot app/jobs/webhooks/instagram_events_job.rb).
  if (entry.id === '0') return skip(out, 'dashboard_test');
  for (const item of entry.messaging ?? []) parseMessagingItem(item, entry, out);
  // standby[]: another app owns the thread; we must not answer.
  // https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/standby
  for (const item of entry.standby ?? []) skip(out, 'standby', eventKeysOf(item));
  for (const change of entry.changes ?? []) parseChange(change, out);
  if (entry.field !== undefined) parseChange({ field: entry.field, value: entry.value }, out);
  if (!entry.messaging && !entry.standby && !entry.changes && entry.field === undefined) {
    skip(out, 'unknown_kind', `entry: ${keysExcept(entry, ['id', 'time'])}`);
  }
}

const COMMENT_FIELDS = new Set(['comments', 'live_comments', 'mentions']);
/** Real DMs arrive in messaging[]; only the dashboard "Test" button sends these fields as changes[] (chatwoot). */
const MESSAGING_FIELDS = new Set([
  'messages', 'message_echoes', 'message_reactions', 'message_edit', 'messaging_postbacks', 'messaging_referral',
  'messaging_seen', 'messaging_handover', 'messaging_optins', 'standby',
]);

/** changes[]: comments and mentions are not DMs (https://developers.facebook.com/docs/instagram-platform/webhooks/examples). */
function parseChange(raw: unknown, out: ParseResult): void {
  const parsed = changeSchema.safeParse(raw);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('change', parsed.error));
  const { field } = parsed.data;
  if (COMMENT_FIELDS.has(field)) skip(out, 'comment', field);
  else if (MESSAGING_FIELDS.has(field)) skip(out, 'dashboard_test', field);
  else skip(out, 'unknown_kind', `changes: ${field}`);
}

type Handler = (value: unknown, ctx: ItemContext, out: ParseResult) => void;

/** Dispatch on the event key present; the first known key wins. https://developers.facebook.com/docs/instagram-platform/webhooks/examples */
const HANDLERS: Record<string, Handler> = {
  message: parseMessageEvent,
  reaction: parseReactionEvent,
  read: parseReadEvent,
  postback: parsePostbackEvent,
  referral: parseReferralEvent,
  message_edit: parseMessageEditEvent,
  // Conversation Routing / handover: thread-owner state, nothing for the agent.
  // https://developers.facebook.com/documentation/business-messaging/messenger-platform/webhooks/webhook-events/messaging_handovers
  pass_thread_control: (_v, _c, out) => skip(out, 'handover', 'pass_thread_control'),
  take_thread_control: (_v, _c, out) => skip(out, 'handover', 'take_thread_control'),
  request_thread_control: (_v, _c, out) => skip(out, 'handover', 'request_thread_control'),
  optin: (_v, _c, out) => skip(out, 'optin'),
};

function parseMessagingItem(raw: unknown, entry: InstagramEntry, out: ParseResult): void {
  const parsed = messagingItemSchema.safeParse(raw);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('messaging item', parsed.error));
  const item = parsed.data;
  const timestamp = item.timestamp ?? entry.time;
  if (timestamp === undefined) return skip(out, 'malformed', 'messaging item: no timestamp and no entry.time');
  const key = Object.keys(HANDLERS).find((k) => item[k] !== undefined);
  if (key === undefined) return skip(out, 'unknown_kind', eventKeysOf(item));
  const ctx = { accountId: entry.id, senderId: item.sender.id, recipientId: item.recipient.id, timestamp };
  HANDLERS[key]!(item[key], ctx, out);
}

function parseMessageEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
  const parsed = messageSchema.safeParse(value);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('message', parsed.error));
  const message = parsed.data;
  // Self-messaging test (https://developers.facebook.com/docs/instagram-platform/webhooks/examples).
  if (message.is_self) return skip(out, 'self_test');
  // Every business-sent message comes back as an echo with the Send API's mid: never customer input.
  // https://developers.facebook.com/docs/messenger-platform/instagram/features/webhook
  if (message.is_echo) return void out.events.push(echoOf(message, ctx));
  if (message.is_deleted) return void out.events.push(unsendNoticeOf(message, ctx));
  out.events.push(...customerMessagesOf(message, ctx));
}

function echoOf(message: InstagramMessage, ctx: ItemContext): InboundEcho {
  return {
    channel: CHANNEL,
    kind: 'echo',
    accountId: ctx.accountId,
    // An echo is sent by the account, so the customer is the recipient.
    customerId: ctx.recipientId,
    dedupeKey: dedupeKey(ctx.accountId, 'echo', message.mid),
    timestamp: ctx.timestamp,
    messageId: message.mid,
    text: message.text,
  };
}

/** An unsend reuses the original mid, so it gets its own dedupe kind (instagram-messaging.md key fact 10). */
function unsendNoticeOf(message: InstagramMessage, ctx: ItemContext): InboundMessage {
  return {
    ...customerBase(ctx, dedupeKey(ctx.accountId, 'deleted', message.mid)),
    subtype: 'deleted',
    messageId: `${message.mid}#deleted`,
    text: '🗑️ unsent a message',
    attributes: {},
    opensWindow: false,
    refersTo: message.mid,
  };
}

/** One InboundMessage per part; the first carries the text, attributes and the quoted mid. */
function customerMessagesOf(message: InstagramMessage, ctx: ItemContext): InboundMessage[] {
  return contentPartsOf(message).map((part, n) => {
    const partId = n === 0 ? message.mid : `${message.mid}#${n}`;
    return {
      ...customerBase(ctx, dedupeKey(ctx.accountId, 'message', partId)),
      subtype: part.subtype,
      messageId: partId,
      text: part.text,
      attachment: part.attachment,
      attributes: n === 0 ? messageAttributesOf(message) : {},
      opensWindow: true,
      refersTo: n === 0 ? message.reply_to?.mid : undefined,
    };
  });
}

function contentPartsOf(message: InstagramMessage): Part[] {
  const text = leadTextOf(message);
  const parts = message.is_unsupported
    ? [{ subtype: 'unsupported', text: UNSHOWABLE_TEXT }]
    : collapsePostShares((message.attachments ?? []).map(parseAttachment)).map(partOfAttachment);
  const [first, ...rest] = parts;
  if (first === undefined) return [{ subtype: textSubtypeOf(message), text: text ?? UNSHOWABLE_TEXT }];
  return [{ ...first, text: joinLines(text, first.text) }, ...rest];
}

/** Story replies carry the story URL as text only: story media must not be stored (https://developers.facebook.com/docs/messenger-platform/instagram/features/story-mention). */
function leadTextOf(message: InstagramMessage): string | undefined {
  const story = message.reply_to?.story;
  return joinLines(message.text, story ? labelled('↩️ replied to your story', story.url) : undefined);
}

function textSubtypeOf(message: InstagramMessage): string {
  if (message.reply_to?.story) return 'story_reply';
  if (message.quick_reply) return 'quick_reply';
  return message.text ? 'text' : 'empty';
}

function messageAttributesOf(message: InstagramMessage): Record<string, string> {
  return {
    ...referralAttributesOf(message.referral),
    // quick_reply: `text` is the button title, `payload` ours (https://developers.facebook.com/docs/messenger-platform/instagram/features/quick-replies).
    ...definedOnly({ 'dmbridge.quickReplyPayload': message.quick_reply?.payload }),
  };
}

/** Ads (Click-to-Direct) and Shop referrals ride on `message.referral`; ig.me links are a top-level `referral`. */
function referralAttributesOf(referral: InstagramReferral | undefined): Record<string, string> {
  return definedOnly({
    'dmbridge.referral.ref': referral?.ref,
    'dmbridge.referral.source': referral?.source,
    'dmbridge.referral.type': referral?.type,
    'dmbridge.referral.adId': referral?.ad_id,
    'dmbridge.referral.adTitle': referral?.ads_context_data?.ad_title,
    'dmbridge.referral.productId': referral?.product?.id,
  });
}

/** A malformed attachment still becomes a placeholder part: the customer did send something. */
function parseAttachment(raw: unknown): InstagramAttachment | undefined {
  const parsed = attachmentSchema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}

/**
 * Since 2025-11-03 a shared post arrives as `share` plus `ig_post` (same post); `share` for posts is being
 * removed. Keep the `ig_post` and drop the `share` that duplicates it (same media id, or no media id at all).
 * https://developers.facebook.com/docs/instagram-platform/webhooks/new
 */
function collapsePostShares(attachments: Array<InstagramAttachment | undefined>): Array<InstagramAttachment | undefined> {
  const postIds = new Set(attachments.filter((a) => a?.type === 'ig_post').map((a) => a?.payload?.ig_post_media_id));
  if (postIds.size === 0) return attachments;
  return attachments.filter((a) => {
    if (a?.type !== 'share') return true;
    const mediaId = a.payload?.ig_post_media_id;
    return mediaId !== undefined && !postIds.has(mediaId);
  });
}

/** Attachment types whose content the API does not deliver (instagram-messaging.md key fact 15). */
const UNSHOWABLE_TYPES = new Set(['ig_story', 'unsupported_type', 'template', 'fallback']);

function partOfAttachment(attachment: InstagramAttachment | undefined): Part {
  const type = attachment?.type;
  const url = attachment?.payload?.url;
  switch (type) {
    case 'image':
    case 'video':
    case 'audio':
    case 'file':
      return mediaPartOf(type, url);
    case 'share':
    case 'ig_post':
      return { subtype: type, text: labelled('🔗 shared a post', attachment?.payload?.title, url) };
    case 'ig_reel':
    case 'reel':
      return { subtype: type, text: labelled('🎬 shared a reel', attachment?.payload?.title, url) };
    case 'story_mention':
      // Story media lives 24 h and must not be stored: the URL goes to the agent as text, never as an attachment.
      // https://developers.facebook.com/docs/messenger-platform/instagram/features/story-mention
      return { subtype: type, text: labelled('📣 mentioned you in their story', url) };
    case 'ephemeral':
      return { subtype: type, text: EPHEMERAL_TEXT };
    case 'like_heart':
      return { subtype: type, text: '❤️' };
    default:
      return { subtype: type && UNSHOWABLE_TYPES.has(type) ? type : 'unknown_attachment', text: UNSHOWABLE_TEXT };
  }
}

type MediaKind = 'image' | 'video' | 'audio' | 'file';

const MEDIA_KINDS: Record<MediaKind, { mediaType: MediaType; defaultMime: string }> = {
  image: { mediaType: 'Image', defaultMime: 'image/jpeg' },
  video: { mediaType: 'Video', defaultMime: 'video/mp4' },
  audio: { mediaType: 'Audio', defaultMime: 'audio/mp4' },
  file: { mediaType: 'File', defaultMime: 'application/octet-stream' },
};

const MIME_BY_EXTENSION: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic',
  mp4: 'video/mp4', mov: 'video/quicktime', webm: 'video/webm', avi: 'video/x-msvideo',
  m4a: 'audio/mp4', aac: 'audio/aac', mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg',
  pdf: 'application/pdf',
};

/** A media part; without a usable http(s) URL it degrades to the placeholder text. */
function mediaPartOf(kind: MediaKind, rawUrl: string | undefined): Part {
  const url = rawUrl !== undefined && URL.canParse(rawUrl) ? new URL(rawUrl) : undefined;
  if (url === undefined || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return { subtype: kind, text: UNSHOWABLE_TEXT };
  }
  const filename = filenameOf(url);
  const attachment: InboundAttachment = {
    mediaType: MEDIA_KINDS[kind].mediaType,
    url: url.href,
    mime: mimeOf(kind, filename),
  };
  if (filename !== undefined) attachment.filename = filename;
  return { subtype: kind, attachment };
}

/**
 * Meta CDN links (`/ig_messaging_cdn/?asset_id=…`) usually have no extension, hence the per-type default. An
 * extension of another family is ignored (voice notes are `.mp4` files: still audio/mp4).
 */
function mimeOf(kind: MediaKind, filename: string | undefined): string {
  const extension = filename?.slice(filename.lastIndexOf('.') + 1).toLowerCase();
  const guessed = extension === undefined ? undefined : MIME_BY_EXTENSION[extension];
  const family = guessed?.split('/')[0];
  return guessed !== undefined && (kind === 'file' || family === kind) ? guessed : MEDIA_KINDS[kind].defaultMime;
}

/** The last path segment, when it looks like a file name (has an extension). */
function filenameOf(url: URL): string | undefined {
  const last = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  if (!/\.[A-Za-z0-9]{1,8}$/.test(last)) return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** Reactions have no mid of their own: the key is derived from who reacted to what, how, and when. */
function parseReactionEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
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

function parseReadEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
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
function parsePostbackEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
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
  });
}

/**
 * A top-level referral is an ig.me link opened in an existing thread; some accounts also get story mentions this
 * way (`source: STORY_MENTION`, Shudesu/ig-harness-oss#20). https://developers.facebook.com/docs/instagram-platform/webhooks/examples
 */
function parseReferralEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
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
function parseMessageEditEvent(value: unknown, ctx: ItemContext, out: ParseResult): void {
  const parsed = messageEditSchema.safeParse(value);
  if (!parsed.success) return skip(out, 'malformed', describeIssue('message_edit', parsed.error));
  const { mid, text, num_edit } = parsed.data;
  const edit = num_edit ?? ctx.timestamp;
  out.events.push({
    ...customerBase(ctx, dedupeKey(ctx.accountId, 'edit', `${mid}#${edit}`)),
    subtype: 'edit',
    messageId: `${mid}#edit-${edit}`,
    text: labelled('✏️ edited a message', text),
    attributes: {},
    opensWindow: false,
    refersTo: mid,
  });
}

function customerBase(ctx: ItemContext, key: string) {
  return {
    channel: CHANNEL,
    kind: 'message',
    accountId: ctx.accountId,
    customerId: ctx.senderId,
    dedupeKey: key,
    timestamp: ctx.timestamp,
  } as const;
}

/** Idempotency key `(account, kind, mid)`: retries and double subscriptions repeat events. */
function dedupeKey(accountId: string, kind: DedupeKind, id: string): string {
  return `instagram:${accountId}:${kind}:${id}`;
}

function skip(out: ParseResult, reason: string, detail?: string): void {
  out.skipped.push(detail === undefined ? { channel: CHANNEL, reason } : { channel: CHANNEL, reason, detail });
}

/** Key names of a messaging item other than the envelope, e.g. `"poll_vote"`; for logs of unknown kinds. */
function eventKeysOf(item: unknown): string {
  return keysExcept(item, ['sender', 'recipient', 'timestamp']);
}

function keysExcept(value: unknown, envelope: readonly string[]): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return `(${typeof value})`;
  const keys = Object.keys(value).filter((k) => !envelope.includes(k));
  return keys.length > 0 ? keys.join(',') : '(none)';
}

/** "label: a b", or just "label" when no value is present. */
function labelled(label: string, ...values: Array<string | undefined>): string {
  const present = values.filter((v) => v !== undefined && v !== '');
  return present.length > 0 ? `${label}: ${present.join(' ')}` : label;
}

function joinLines(...lines: Array<string | undefined>): string | undefined {
  const present = lines.filter((l) => l !== undefined && l !== '');
  return present.length > 0 ? present.join('\n') : undefined;
}

function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));
}
