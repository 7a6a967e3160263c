/**
 * zod schemas of the TikTok webhook shapes the parser relies on (tiktok-messaging.md §4.1 and §5). Every object
 * is loose: TikTok adds fields without notice and unknown fields must never break parsing. Fields that only
 * describe something (usernames, URLs, captions) are lenient: missing or mistyped reads as absent. Fields that
 * decide who sent what to whom (ids, the parties) stay strict.
 */
import { z } from 'zod';
import { epochSeconds, lenient } from '../schema-parts.js';

/**
 * TikTok ids. DM ids are strings (base64-like, may contain `+` `/` `=`); `comment.update` ids are bare numbers
 * above 2^53 that `parseJsonLosslessly` returns as strings. A number is accepted only while it is an exact
 * (safe) integer: a bigger one was already rounded by `JSON.parse`, so it is refused rather than trusted.
 */
export const tiktokId = z.union([z.string().min(1), z.int().nonnegative()]).transform(String);

/** Epoch milliseconds (`content.timestamp`, `read.last_read_timestamp`: key fact 33). Digit strings accepted. */
export const epochMs = z
  .union([z.number(), z.string().regex(/^\d{1,16}$/).transform(Number)])
  .pipe(z.int().positive());

/**
 * The envelope, the same for every event (key fact 16). `content` is a JSON **string**, parsed a second time
 * (losslessly). Only `event` is required here: pings and unknown events are skipped whatever else they carry.
 */
export const envelopeSchema = z.looseObject({
  event: z.string().min(1),
  client_key: lenient(tiktokId),
  create_time: lenient(epochSeconds),
  user_openid: lenient(z.string().min(1)),
  content: z.unknown().optional(),
});

const party = z.looseObject({ id: z.string().min(1), role: lenient(z.string()) });

const mediaBlock = z.looseObject({ media_id: lenient(z.string().min(1)) });

/** `im_receive_msg` / `im_send_msg` content (§5). `type` is lowercase inside `content` (key fact 18). */
export const dmContentSchema = z.looseObject({
  conversation_id: z.string().min(1),
  message_id: z.string().min(1),
  from_user: party,
  to_user: party,
  timestamp: lenient(epochMs),
  type: lenient(z.string()),
  /** Usernames (handles), not ids (key fact 32). */
  from: lenient(z.string()),
  to: lenient(z.string()),
  text: lenient(z.looseObject({ body: lenient(z.string()) })),
  image: lenient(mediaBlock),
  video: lenient(mediaBlock),
  share_post: lenient(z.looseObject({ embed_url: lenient(z.string()), video_id: lenient(tiktokId) })),
  sticker: lenient(z.looseObject({ url: lenient(z.string()) })),
  emoji: lenient(z.looseObject({ url: lenient(z.string()), emoji: lenient(z.string()), text: lenient(z.string()) })),
  reaction: lenient(z.array(z.unknown())),
  template: lenient(z.unknown()),
  referenced_message_info: lenient(z.looseObject({ referenced_message_id: lenient(z.string().min(1)) })),
  reply_source_payload: lenient(
    z.looseObject({
      reply_source_msg_id: lenient(z.string().min(1)),
      reply_source_unique_id: lenient(z.string().min(1)),
    }),
  ),
  auto_message_type: lenient(z.string()),
  message_tag: lenient(z.looseObject({ source: lenient(z.string()) })),
});

export const reactionSchema = z.looseObject({
  operation: z.enum(['ADD', 'REMOVE']),
  type: lenient(z.string()),
  emoji: lenient(z.string()),
  ai_emoji_url: lenient(z.string()),
  unique_identifier: lenient(z.string().min(1)),
  timestamp: lenient(epochMs),
  original_msg_id: lenient(z.string().min(1)),
});

/** A Q&A card (§3, §5); only read to find the title of the button a click answers. */
export const templateSchema = z.looseObject({
  type: lenient(z.string()),
  elements: lenient(
    z.array(
      z.looseObject({
        title: lenient(z.string()),
        buttons: lenient(z.array(z.looseObject({ text: lenient(z.string()), id: lenient(z.string()) }).catch({}))),
      }).catch({}),
    ),
  ),
});

/** `im_receive_msg_eu`: receiver and time only; no sender, conversation or content (key fact 28). */
export const euContentSchema = z.looseObject({
  to: lenient(z.string()),
  to_user: lenient(party),
  timestamp: lenient(epochMs),
});

/** `im_mark_read_msg`: a whole-conversation watermark (key fact 34). */
export const readContentSchema = z.looseObject({
  conversation_id: z.string().min(1),
  from_user: party,
  to_user: lenient(party),
  timestamp: lenient(epochMs),
  read: z.looseObject({ last_read_timestamp: epochMs }),
});

/** `im_referral_msg`: ad or short-link attribution; no `message_id` nor `type` (§5). */
export const referralContentSchema = z.looseObject({
  conversation_id: z.string().min(1),
  from_user: party,
  to_user: party,
  from: lenient(z.string()),
  timestamp: lenient(epochMs),
  referral: z.looseObject({
    source: lenient(z.string()),
    ad: lenient(
      z.looseObject({
        advertiser_id: lenient(tiktokId),
        ad_id: lenient(tiktokId),
        ad_name: lenient(z.string()),
        embed_url: lenient(z.string()),
        timestamp: lenient(epochMs),
      }),
    ),
    short_link: lenient(
      z.looseObject({
        ref: lenient(z.string()),
        prefilled_message: lenient(z.string()),
      }),
    ),
  }),
});

/** `comment.update` (big ints!). Whether `text` is sent is disputed (§12); most sources say it is not. */
export const commentContentSchema = z.looseObject({
  comment_id: tiktokId,
  video_id: tiktokId,
  parent_comment_id: lenient(tiktokId),
  comment_type: lenient(z.string()),
  comment_action: z.string().min(1),
  unique_identifier: z.string().min(1),
  timestamp: lenient(epochMs),
  text: lenient(z.string()),
});

/** `brand.mention.event` (§5). `unique_identifier` is the author of the mention; the mentioned user is the brand. */
export const mentionContentSchema = z.looseObject({
  type_of_event: lenient(z.string()),
  mention_type: lenient(z.string()),
  video_id: tiktokId,
  comment_id: lenient(tiktokId),
  unique_identifier: z.string().min(1),
  open_id_of_mentioned_user: lenient(z.string()),
  share_url: lenient(z.string()),
  video_caption: lenient(z.string()),
});

/** `authorization.removed` (TikTok for Developers; reason codes 0–5). */
export const authorizationRemovedSchema = z.looseObject({ reason: lenient(z.union([z.int(), z.string()])) });

export type TikTokWebhookEnvelope = z.output<typeof envelopeSchema>;
export type TikTokDmContent = z.output<typeof dmContentSchema>;
export type TikTokReaction = z.output<typeof reactionSchema>;
