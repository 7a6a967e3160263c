/**
 * TikTok webhook envelope → normalized inbound events (src/core/events.ts). Pure: no I/O, no clock, and it never
 * throws for any JSON value. The caller parses the body with `JSON.parse` (the envelope has no big numbers);
 * the `content` string is parsed here with `parseJsonLosslessly` (19-digit comment ids). One event per POST
 * (no batching seen). Protocol facts: docs/protocols/tiktok-messaging.md §4, §5 and §8.
 */
import type { z } from 'zod';
import type {
  InboundAttachment,
  InboundEcho,
  InboundEvent,
  InboundMessage,
  InboundRead,
  ParseResult,
} from '../../core/events.js';
import { describeIssue } from '../zod-issue.js';
import { parseJsonLosslessly } from './json.js';
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
  templateSchema,
  type TikTokDmContent,
  type TikTokWebhookEnvelope,
} from './schema.js';

const CHANNEL = 'tiktok';

export type TikTokParseResult = ParseResult & {
  /** The envelope's `user_openid` (the receiving business account), also when nothing became an event. */
  businessId?: string;
};

/** Shown instead of content TikTok does not deliver to the API: the agent never gets an empty message. */
const UNSHOWABLE_TEXT = '[the customer sent something TikTok cannot show here]';

export const EU_MESSAGE_TEXT =
  'A TikTok user in the EEA, Switzerland or the UK sent a message. TikTok does not share its content with the API; answer them in the TikTok app.';

/**
 * `im_receive_msg_eu` has no sender (key fact 17): every such message of a connection is filed under this
 * customer id, so the agent sees them in one conversation that cannot be answered from Genesys.
 */
export const EU_ANONYMOUS_CUSTOMER = 'eu-anonymous';

const NOT_BY_DM_MENTION = 'This mention cannot be answered by DM: reply on TikTok.';
const NOT_BY_DM_COMMENT = 'This comment cannot be answered by DM: reply on TikTok.';

/** What every content-carrying event needs from the envelope. */
interface EventContext {
  event: string;
  businessId: string;
  /** `create_time` × 1000, for contents without their own `timestamp`. */
  envelopeMs: number | undefined;
}

type DedupeKind = 'message' | 'reaction' | 'echo' | 'read' | 'referral' | 'eu_message' | 'comment' | 'mention';

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

/** One agent-visible message: text and/or one attachment, with what it is and whether it opens the window. */
interface Part {
  subtype: string;
  text?: string;
  attachment?: InboundAttachment;
  attributes?: Record<string, string>;
}

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
  };
  out.events.push(withoutUndefined(message));
}

function partOf(content: TikTokDmContent): Part {
  const type = content.type;
  const body = nonEmpty(content.text?.body);
  switch (type) {
    case 'text':
      if (body === undefined) return { subtype: 'empty', text: UNSHOWABLE_TEXT };
      return { subtype: content.reply_source_payload ? 'button_reply' : 'text', text: body };
    case 'image':
    case 'video':
      return mediaPartOf(type, content);
    case 'share_post': {
      const videoId = content.share_post?.video_id;
      const url = httpUrl(content.share_post?.embed_url);
      const text = url ? `🔗 shared a TikTok video: ${url}` : videoId ? `🔗 shared a TikTok video (id ${videoId})` : '🔗 shared a TikTok video';
      return { subtype: type, text, attributes: definedOnly({ 'dmbridge.tiktok.videoId': videoId }) };
    }
    case 'sticker': {
      // Sticker URLs expire after ~30 days (`x-expires`) and their format is unknown (webp/gif/png), so a link
      // in the text rather than an attachment Genesys might refuse or lose the message over (§9).
      const url = httpUrl(content.sticker?.url);
      return { subtype: type, text: url ? `[sticker] ${url}` : '[sticker]' };
    }
    case 'emoji': {
      const emoji = nonEmpty(content.emoji?.emoji) ?? nonEmpty(content.emoji?.text);
      const url = httpUrl(content.emoji?.url);
      return { subtype: type, text: emoji ?? (url ? `[emoji] ${url}` : '[emoji]') };
    }
    case 'template':
      return { subtype: type, text: body ?? clickedButtonTitle(content) ?? '🔘 tapped a button' };
    default:
      return {
        subtype: 'unsupported',
        text: UNSHOWABLE_TEXT,
        attributes: definedOnly({ 'dmbridge.tiktok.messageType': type?.slice(0, 40) }),
      };
  }
}

/**
 * Inbound image/video: TikTok serves the bytes only through media/download with the business token (key
 * fact 25), so the attachment carries a reference for the worker to turn into a bridge URL; `url` stays empty.
 */
function mediaPartOf(type: 'image' | 'video', content: TikTokDmContent): Part {
  const mediaId = content[type]?.media_id;
  if (mediaId === undefined) return { subtype: type, text: UNSHOWABLE_TEXT };
  const image = type === 'image';
  return {
    subtype: type,
    attachment: {
      mediaType: image ? 'Image' : 'Video',
      url: '',
      // Best guesses: TikTok does not say; the bridge's /media route sets the real type from the download.
      mime: image ? 'image/jpeg' : 'video/mp4',
      reference: {
        platform: 'tiktok',
        conversationId: content.conversation_id,
        messageId: content.message_id,
        mediaId,
        mediaType: image ? 'IMAGE' : 'VIDEO',
      },
    },
  };
}

/** The title of the card button whose id the click names, when the card came along. */
function clickedButtonTitle(content: TikTokDmContent): string | undefined {
  const id = content.reply_source_payload?.reply_source_unique_id;
  const template = templateSchema.safeParse(content.template);
  if (id === undefined || !template.success) return undefined;
  for (const element of template.data.elements ?? []) {
    for (const button of element.buttons ?? []) if (button.id === id && nonEmpty(button.text)) return button.text;
  }
  return undefined;
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

// ---- comments and mentions (not DMs: key fact 36) --------------------------------------------------------------

/**
 * `comment.update` on the business's videos. Only a new comment is shown (as a message that cannot be answered
 * by DM); deletes and visibility changes are skipped. Ids are big ints kept exact by the lossless parse.
 */
function parseComment(content: z.output<typeof commentContentSchema>, ctx: EventContext, out: ParseResult): void {
  if (content.unique_identifier === ctx.businessId) return skip(out, 'own_comment');
  if (content.comment_action !== 'insert') return skip(out, 'comment_action', content.comment_action.slice(0, 40));
  const timestamp = content.timestamp ?? ctx.envelopeMs;
  if (timestamp === undefined) return skip(out, 'malformed', `${ctx.event}: no timestamp`);
  const parent = content.parent_comment_id !== undefined && content.parent_comment_id !== '0' ? content.parent_comment_id : undefined;
  const isReply = content.comment_type === 'reply' || parent !== undefined;
  const label = isReply
    ? `💬 replied to a comment on your TikTok video ${content.video_id}`
    : `💬 commented on your TikTok video ${content.video_id}`;
  const text = nonEmpty(content.text);
  out.events.push({
    ...customerBase(ctx, content.unique_identifier, dedupeKey(ctx, 'comment', `${content.comment_id}:${content.comment_action}`), timestamp),
    subtype: 'comment',
    messageId: `comment:${content.comment_id}`,
    // Most sources say the text is not sent (§12): the agent then learns that there is a comment to look at.
    text: `${text ? `${label}: “${text}”` : `${label} (TikTok does not send the text: read it on TikTok)`}\n${NOT_BY_DM_COMMENT}`,
    attributes: definedOnly({
      'dmbridge.replyable': 'false',
      'dmbridge.tiktok.videoId': content.video_id,
      'dmbridge.tiktok.commentId': content.comment_id,
      'dmbridge.tiktok.parentCommentId': parent,
    }),
    opensWindow: false,
  });
}

/**
 * `brand.mention.event`: someone mentioned the brand in a video caption or a comment (2–3 h late). The customer
 * is `unique_identifier`, the author of the mention; `open_id_of_mentioned_user` is the brand itself. A mention
 * cannot be answered by DM (key fact 36). Privacy changes of a mentioning video are skipped.
 */
function parseMention(content: z.output<typeof mentionContentSchema>, ctx: EventContext, out: ParseResult): void {
  const type = content.type_of_event ?? 'CREATE';
  if (type !== 'CREATE' && type !== 'EDIT') return skip(out, 'mention_update', type.slice(0, 40));
  if (content.unique_identifier === ctx.businessId) return skip(out, 'own_mention');
  // Mentions carry no event time of their own (video_create_time is the video's).
  const timestamp = ctx.envelopeMs;
  if (timestamp === undefined) return skip(out, 'malformed', `${ctx.event}: no create_time`);
  const commentId = content.comment_id !== undefined && content.comment_id !== '0' ? content.comment_id : undefined;
  // TikTok's sample writes "VIDEO MENTION", the field definition VIDEO_MENTION: match loosely.
  const inComment = commentId !== undefined || /COMMENT/i.test(content.mention_type ?? '');
  const url = httpUrl(content.share_url);
  const where = inComment ? 'in a comment on a TikTok video' : 'in a TikTok video';
  const caption = inComment ? undefined : nonEmpty(content.video_caption);
  const lines = [
    url ? `📣 mentioned the brand ${where}: ${url}` : `📣 mentioned the brand ${where} (id ${content.video_id})`,
    caption === undefined ? undefined : `“${caption}”`,
    NOT_BY_DM_MENTION,
  ];
  const id = `${content.video_id}:${content.comment_id ?? '0'}:${type}`;
  out.events.push({
    ...customerBase(ctx, content.unique_identifier, dedupeKey(ctx, 'mention', id), timestamp),
    subtype: inComment ? 'comment_mention' : 'mention',
    messageId: `mention:${id}`,
    text: lines.filter((l) => l !== undefined).join('\n'),
    attributes: definedOnly({
      'dmbridge.replyable': 'false',
      'dmbridge.tiktok.videoId': content.video_id,
      'dmbridge.tiktok.commentId': commentId,
    }),
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

function customerBase(ctx: EventContext, customerId: string, key: string, timestamp: number) {
  return {
    channel: CHANNEL,
    kind: 'message',
    accountId: ctx.businessId,
    customerId,
    dedupeKey: key,
    timestamp,
  } as const;
}

/**
 * `tiktok:{business}:{kind}:{id}`. TikTok delivers at least once and retries for up to 72 h (key fact 21):
 * changing a format makes every stored key miss and forwards in-flight redeliveries twice.
 */
function dedupeKey(ctx: EventContext, kind: DedupeKind, id: string): string {
  return `tiktok:${ctx.businessId}:${kind}:${id}`;
}

function tryParseLosslessly(text: string): unknown {
  try {
    return parseJsonLosslessly(text);
  } catch {
    return undefined;
  }
}

function skip(out: ParseResult, reason: string, detail?: string): void {
  out.skipped.push(detail === undefined ? { channel: CHANNEL, reason } : { channel: CHANNEL, reason, detail });
}

/** The URL when it is an absolute http(s) URL, as sent; anything else is not shown as a link. */
function httpUrl(value: string | undefined): string | undefined {
  if (value === undefined || !URL.canParse(value)) return undefined;
  const { protocol } = new URL(value);
  return protocol === 'https:' || protocol === 'http:' ? value : undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function definedOnly(record: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(record).filter((e): e is [string, string] => e[1] !== undefined));
}

/** Drops optional fields left undefined, so events compare and serialise cleanly (they are stored as JSON). */
function withoutUndefined<T extends InboundEvent>(event: T): T {
  for (const key of Object.keys(event) as Array<keyof T>) if (event[key] === undefined) delete event[key];
  return event;
}
