/**
 * Instagram webhook body → normalized inbound events (src/core/events.ts). Pure: no I/O, no clock, and it never
 * throws for any JSON value. A malformed item becomes a `skipped` entry with a reason; the rest of the batch is
 * still parsed. Protocol facts: docs/protocols/instagram-messaging.md §3 and §11.
 */
import type { InboundEcho, InboundMessage, ParseResult } from '../../core/events.js';
import { describeIssue } from '../zod-issue.js';
import { collapsePostShares, describeSentAttachments, parseAttachment, partOfAttachment, UNSHOWABLE_TEXT, type Part } from './attachments.js';
import { CHANNEL, customerBase, dedupeKey, definedOnly, eventKeysOf, joinLines, keysExcept, labelled, skip, type ItemContext } from './parse-context.js';
import {
  parseMessageEditEvent,
  parsePostbackEvent,
  parseReactionEvent,
  parseReadEvent,
  parseReferralEvent,
  parseUnattributedEdit,
  referralAttributesOf,
} from './parse-interactions.js';
import {
  changeSchema,
  entrySchema,
  messageSchema,
  messagingItemSchema,
  unattributedEditSchema,
  webhookSchema,
  type InstagramEntry,
  type InstagramMessage,
} from './schema.js';

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
  if (!parsed.success) {
    // Meta's `message_edit` items come without sender and recipient (captured traffic, issue 14): the edited
    // message says whose it is.
    const edit = unattributedEditSchema.safeParse(raw);
    if (edit.success) return parseUnattributedEdit(edit.data.message_edit, entry.id, edit.data.timestamp ?? entry.time, out);
    return skip(out, 'malformed', describeIssue('messaging item', parsed.error));
  }
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
    ...(message.attachments?.length ? { description: describeSentAttachments(message.attachments) } : {}),
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
      ...(n === 0 ? buttonOf(message) : {}),
    };
  });
}

/** A quick-reply tap: `text` is the title, `payload` ours (https://developers.facebook.com/docs/messenger-platform/instagram/features/quick-replies). */
function buttonOf(message: InstagramMessage): Pick<InboundMessage, 'button'> {
  const payload = message.quick_reply?.payload;
  return payload ? { button: { payload, text: message.text || payload } } : {};
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
