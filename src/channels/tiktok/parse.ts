/**
 * TikTok webhook envelope → normalized inbound events (src/core/events.ts). Pure: no I/O, no clock, and it never
 * throws for any JSON value. The caller parses the body with `JSON.parse` (the envelope has no big numbers);
 * the `content` string is parsed here with `parseJsonLosslessly` (19-digit comment ids). One event per POST
 * (no batching seen). Protocol facts: docs/protocols/tiktok-messaging.md §4, §5 and §8.
 */
import type { z } from 'zod';
import type { InboundEcho, InboundMessage, InboundRead, ParseResult } from '../../core/events.js';
import { describeIssue } from '../zod-issue.js';
import { describeSentContent, partOf } from './content.js';
import { parseJsonLosslessly } from './json.js';
import {
  CHANNEL,
  customerBase,
  dedupeKey,
  definedOnly,
  httpUrl,
  nonEmpty,
  skip,
  tryParseLosslessly,
  withoutUndefined,
  type EventContext,
} from './parse-context.js';
import { parseComment, parseMention } from './parse-social.js';
import {
  commentContentSchema,
  dmContentSchema,
  envelopeSchema,
  euContentSchema,
  mentionContentSchema,
  readContentSchema,
  reactionSchema,
  referralContentSchema,
  authorizationRemovedSchema,
  type TikTokDmContent,
  type TikTokWebhookEnvelope,
} from './schema.js';

export type TikTokParseResult = ParseResult & {
  /** The envelope's `user_openid` (the receiving business account), also when nothing became an event. */
  businessId?: string;
};

export const EU_MESSAGE_TEXT =
  'A TikTok user in the EEA, Switzerland or the UK sent a message. TikTok does not share its content with the API; answer them in the TikTok app.';

/**
 * `im_receive_msg_eu` has no sender (key fact 17): every such message of a connection is filed under this
 * customer id, so the agent sees them in one conversation that cannot be answered from Genesys.
 */
export const EU_ANONYMOUS_CUSTOMER = 'eu-anonymous';

export function parseTikTokWebhook(envelope: unknown): TikTokParseResult {
  const out: TikTokParseResult = { events: [], skipped: [] };
  const parsed = envelopeSchema.safeParse(envelope);
  if (!parsed.success) {
    skip(out, 'malformed', describeIssue('envelope', parsed.error));
    return out;
  }
  const env = parsed.data;
  if (env.user_openid !== undefined) out.businessId = env.user_openid;
  handlerOf(env.event)(env, out);
  return out;
}

type Handler = (env: TikTokWebhookEnvelope, out: ParseResult) => void;

/** Events that carry something for the agent; everything else is a counted skip (§13). */
const HANDLERS: Record<string, Handler> = {
  im_receive_msg: withContent(dmContentSchema, parseReceivedMessage),
  im_send_msg: withContent(dmContentSchema, parseSentMessage),
  im_mark_read_msg: withContent(readContentSchema, parseRead),
  im_referral_msg: withContent(referralContentSchema, parseReferral),
  im_receive_msg_eu: parseEuMessage,
  'comment.update': withContent(commentContentSchema, parseComment),
  'brand.mention.event': withContent(mentionContentSchema, parseMention),
  // Auto-message set-up and review: business configuration, nothing for an agent.
  im_auto_message_config_update: (env, out) => skip(out, 'auto_message_config', env.event),
  im_auto_message_audit_update: (env, out) => skip(out, 'auto_message_config', env.event),
  // Comment-to-Message exists only for VN/ID/TH accounts (key fact 36); not bridged in v1.
  im_receive_high_intent_comment: (_env, out) => skip(out, 'high_intent_comment'),
  // The portal's "test" button (TikTok for Developers webhooks overview).
  'tiktok.ping': (_env, out) => skip(out, 'ping'),
  // Its own reason, so that the intake can alert: the connection stops receiving anything (§13).
  'authorization.removed': parseAuthorizationRemoved,
};

function handlerOf(event: string): Handler {
  if (Object.hasOwn(HANDLERS, event)) return HANDLERS[event]!;
  if (event.startsWith('post.publish.')) return (env, out) => skip(out, 'post_publish', env.event);
  return (env, out) => skip(out, 'unknown_event', env.event.slice(0, 64));
}

/** Parses `content` (a JSON string, losslessly) against `schema`, then hands it on with the envelope's context. */
function withContent<S extends z.ZodType>(
  schema: S,
  handle: (content: z.output<S>, ctx: EventContext, out: ParseResult) => void,
): Handler {
  return (env, out) => {
    if (env.user_openid === undefined) return skip(out, 'malformed', `${env.event}: no user_openid`);
    const raw = contentOf(env, out);
    if (raw === NO_CONTENT) return;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) return skip(out, 'malformed', describeIssue(`${env.event} content`, parsed.error));
    const envelopeMs = env.create_time === undefined ? undefined : env.create_time * 1000;
    handle(parsed.data, { event: env.event, businessId: env.user_openid, envelopeMs }, out);
  };
}

const NO_CONTENT = Symbol('no content');

/** `content` is a JSON string (key fact 16): parse twice, the second time keeping big ints exact. */
function contentOf(env: TikTokWebhookEnvelope, out: ParseResult): unknown {
  if (typeof env.content !== 'string') {
    skip(out, 'malformed', `${env.event}: content is not a JSON string`);
    return NO_CONTENT;
  }
  try {
    return parseJsonLosslessly(env.content);
  } catch {
    skip(out, 'malformed', `${env.event}: content is not valid JSON`);
    return NO_CONTENT;
  }
}

// ---- im_receive_msg -------------------------------------------------------------------------------------------

function parseReceivedMessage(content: TikTokDmContent, ctx: EventContext, out: ParseResult): void {
  // Direction rule: inbound iff to_user.id is the business (key fact 24). The business's own sends come as
  // im_send_msg; an im_receive_msg the other way round would be forwarded as the customer's words.
  if (content.to_user.id !== ctx.businessId) return skip(out, 'wrong_direction', ctx.event);
  const timestamp = content.timestamp ?? ctx.envelopeMs;
  if (timestamp === undefined) return skip(out, 'malformed', `${ctx.event}: no timestamp`);
  if (content.type === 'reaction') return parseReactions(content, ctx, timestamp, out);
  const part = partOf(content);
  const message: InboundMessage = {
    ...customerBase(ctx, content.from_user.id, dedupeKey(ctx, 'message', content.message_id), timestamp),
    threadId: content.conversation_id,
    subtype: part.subtype,
    messageId: content.message_id,
    text: part.text,
    attachment: part.attachment,
    attributes: {
      ...definedOnly({
        'dmbridge.tiktok.username': content.from,
        // A Q&A card click: the id of the button we defined (§3). Also on plain `text` messages.
        'dmbridge.tiktok.buttonId': content.reply_source_payload?.reply_source_unique_id,
        // The customer tapped a suggested question / auto message prompt (§13, UNCONFIRMED).
        'dmbridge.tiktok.autoMessageType': content.auto_message_type,
      }),
      ...part.attributes,
    },
    // Anything the customer wrote themselves counts as their last message for the 48 h rule (key fact 12).
    opensWindow: true,
    refersTo: content.referenced_message_info?.referenced_message_id,
    button: buttonOf(content, part.text),
  };
  out.events.push(withoutUndefined(message));
}

/** A Q&A card tap: `reply_source_unique_id` is the button `id` the business set, `reply_source_msg_id` the card (§3). */
function buttonOf(content: TikTokDmContent, text: string | undefined): InboundMessage['button'] {
  const tap = content.reply_source_payload;
  if (tap?.reply_source_unique_id === undefined) return undefined;
  const payload = tap.reply_source_unique_id;
  return { payload, text: text ?? payload, ...(tap.reply_source_msg_id ? { inMessage: tap.reply_source_msg_id } : {}) };
}

/**
 * `reaction` is an array of ADD/REMOVE operations on earlier messages (§5). Each becomes a line of text about
 * the reacted message; a reaction is not a new turn for the 48 h window (§13, UNCONFIRMED). The key is derived
 * from who reacted to what, how and when: an ADD and a later REMOVE must not collide.
 */
function parseReactions(content: TikTokDmContent, ctx: EventContext, timestamp: number, out: ParseResult): void {
  const items = content.reaction ?? [];
  if (items.length === 0) return skip(out, 'malformed', `${ctx.event}: reaction without operations`);
  for (const raw of items) {
    const parsed = reactionSchema.safeParse(raw);
    if (!parsed.success) {
      skip(out, 'malformed', describeIssue(`${ctx.event} reaction`, parsed.error));
      continue;
    }
    const reaction = parsed.data;
    const reactor = reaction.unique_identifier ?? content.from_user.id;
    if (reactor === ctx.businessId) {
      skip(out, 'own_reaction');
      continue;
    }
    const at = reaction.timestamp ?? timestamp;
    const id = [reactor, reaction.original_msg_id ?? content.message_id, reaction.operation, reaction.emoji ?? '', at].join(':');
    const aiEmoji = httpUrl(reaction.ai_emoji_url);
    const text =
      reaction.operation === 'REMOVE'
        ? 'removed their reaction'
        : reaction.emoji
          ? `reacted ${reaction.emoji} to your message`
          : aiEmoji
            ? `reacted to your message with an AI emoji: ${aiEmoji}`
            : 'reacted to your message';
    out.events.push(
      withoutUndefined({
        ...customerBase(ctx, content.from_user.id, dedupeKey(ctx, 'reaction', id), at),
        threadId: content.conversation_id,
        subtype: reaction.operation === 'REMOVE' ? 'unreaction' : 'reaction',
        messageId: id,
        text,
        attributes: definedOnly({ 'dmbridge.tiktok.username': content.from }),
        opensWindow: false,
        refersTo: reaction.original_msg_id,
      }),
    );
  }
}

// ---- other DM events ------------------------------------------------------------------------------------------

/**
 * `im_send_msg` fires for **every** business send, our own API sends included, sometimes before the send call
 * returns (key fact 23). It is an echo, never customer input; `source` (API / APP / WEB …) lets the caller tell
 * ours from a human's in TikTok's app. The customer is `to_user` (key fact 24).
 */
function parseSentMessage(content: TikTokDmContent, ctx: EventContext, out: ParseResult): void {
  if (content.to_user.id === ctx.businessId || content.from_user.id !== ctx.businessId) {
    return skip(out, 'wrong_direction', ctx.event);
  }
  const timestamp = content.timestamp ?? ctx.envelopeMs;
  if (timestamp === undefined) return skip(out, 'malformed', `${ctx.event}: no timestamp`);
  const echo: InboundEcho = {
    channel: CHANNEL,
    kind: 'echo',
    accountId: ctx.businessId,
    customerId: content.to_user.id,
    dedupeKey: dedupeKey(ctx, 'echo', content.message_id),
    timestamp,
    threadId: content.conversation_id,
    messageId: content.message_id,
    text: content.type === 'text' ? nonEmpty(content.text?.body) : undefined,
    source: content.message_tag?.source,
    description: describeSentContent(content),
  };
  out.events.push(withoutUndefined(echo));
}

/**
 * A read is a whole-conversation watermark (key fact 34): there is no message id, so `messageId` is
 * `read:<last_read_timestamp>`. Reads by the business itself are ignored (§5).
 */
function parseRead(content: z.output<typeof readContentSchema>, ctx: EventContext, out: ParseResult): void {
  if (content.from_user.id === ctx.businessId) return skip(out, 'own_read');
  const watermark = content.read.last_read_timestamp;
  const read: InboundRead = {
    channel: CHANNEL,
    kind: 'read',
    accountId: ctx.businessId,
    customerId: content.from_user.id,
    // §4.3: conversation_id + read.last_read_timestamp.
    dedupeKey: dedupeKey(ctx, 'read', `${content.conversation_id}:${watermark}`),
    timestamp: watermark,
    threadId: content.conversation_id,
    messageId: `read:${watermark}`,
  };
  out.events.push(read);
}

/** The customer opened the chat from an ad or a short link (§5). Attribution, not a turn: the window stays. */
function parseReferral(content: z.output<typeof referralContentSchema>, ctx: EventContext, out: ParseResult): void {
  if (content.to_user.id !== ctx.businessId) return skip(out, 'wrong_direction', ctx.event);
  const timestamp = content.timestamp ?? content.referral.ad?.timestamp ?? ctx.envelopeMs;
  if (timestamp === undefined) return skip(out, 'malformed', `${ctx.event}: no timestamp`);
  const { source, ad, short_link: link } = content.referral;
  const adName = nonEmpty(ad?.ad_name);
  const ref = nonEmpty(link?.ref);
  const text =
    source === 'ad' || ad !== undefined
      ? adName
        ? `🔗 opened the chat from an ad: ${adName}`
        : '🔗 opened the chat from an ad'
      : ref
        ? `🔗 opened the chat from a link (ref: ${ref})`
        : '🔗 opened the chat from a link';
  const id = [content.from_user.id, source ?? '', ad?.ad_id ?? '', ref ?? '', timestamp].join(':');
  out.events.push(
    withoutUndefined({
      ...customerBase(ctx, content.from_user.id, dedupeKey(ctx, 'referral', id), timestamp),
      threadId: content.conversation_id,
      subtype: 'referral',
      messageId: id,
      text,
      attributes: definedOnly({
        'dmbridge.tiktok.username': content.from,
        'dmbridge.referral.source': source,
        'dmbridge.referral.adId': ad?.ad_id,
        'dmbridge.referral.adName': adName,
        'dmbridge.referral.ref': ref,
      }),
      opensWindow: false,
    }),
  );
}

/**
 * `im_receive_msg_eu`: a customer in the EEA/CH/UK wrote, but TikTok strips sender, conversation and content
 * (key facts 17, 28). The agent is told so, in a message that cannot be answered from Genesys. Tolerant on
 * purpose: with a broken `content` the envelope's time still tells when it happened.
 */
function parseEuMessage(env: TikTokWebhookEnvelope, out: ParseResult): void {
  if (env.user_openid === undefined) return skip(out, 'malformed', `${env.event}: no user_openid`);
  const raw = typeof env.content === 'string' ? tryParseLosslessly(env.content) : undefined;
  const content = euContentSchema.safeParse(raw);
  const timestamp = (content.success ? content.data.timestamp : undefined) ?? (env.create_time === undefined ? undefined : env.create_time * 1000);
  if (timestamp === undefined) return skip(out, 'malformed', `${env.event}: no timestamp`);
  const ctx: EventContext = { event: env.event, businessId: env.user_openid, envelopeMs: undefined };
  out.events.push({
    ...customerBase(ctx, EU_ANONYMOUS_CUSTOMER, dedupeKey(ctx, 'eu_message', String(timestamp)), timestamp),
    subtype: 'eu_message',
    messageId: `eu:${timestamp}`,
    text: EU_MESSAGE_TEXT,
    attributes: { 'dmbridge.replyable': 'false' },
    opensWindow: false,
  });
}

function parseAuthorizationRemoved(env: TikTokWebhookEnvelope, out: ParseResult): void {
  const raw = typeof env.content === 'string' ? tryParseLosslessly(env.content) : env.content;
  const parsed = authorizationRemovedSchema.safeParse(raw);
  const reason = parsed.success ? parsed.data.reason : undefined;
  skip(out, 'authorization_removed', reason === undefined ? undefined : `reason ${String(reason).slice(0, 20)}`);
}

// ---- helpers ----------------------------------------------------------------------------------------------------
