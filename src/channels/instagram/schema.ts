/**
 * zod schemas of the Instagram webhook shapes the parser relies on (instagram-messaging.md §3). Every object is
 * loose: Meta adds fields without notice and unknown fields must never break parsing. Containers (`entry[]`,
 * `messaging[]`, `attachments[]`) hold `unknown` items so that one malformed item is skipped on its own.
 */
import { z } from 'zod';
import { lenient } from '../schema-parts.js';

/**
 * Meta ids are JSON strings. A number is accepted only while it is an exact integer: ids above 2^53
 * (IG account ids are ~1.8e16) would already have been rounded by JSON.parse, so those are refused.
 */
export const graphId = z.union([z.string().min(1), z.int().nonnegative()]).transform(String);

/** Epoch milliseconds. The dashboard "Test" button sends numeric strings (chatwoot instagram_events_job.rb). */
export const epochMs = z
  .union([z.number(), z.string().regex(/^\d{1,16}$/).transform(Number)])
  .pipe(z.int().positive());

export const webhookSchema = z.looseObject({
  object: z.string(),
  entry: z.array(z.unknown()),
});

export const entrySchema = z.looseObject({
  id: graphId,
  /** Only a fallback for items without their own timestamp: a bad value is ignored, not fatal. */
  time: lenient(epochMs),
  messaging: z.array(z.unknown()).optional(),
  standby: z.array(z.unknown()).optional(),
  changes: z.array(z.unknown()).optional(),
  /** Meta's own examples also put one change's `field`/`value` directly under the entry. */
  field: z.string().optional(),
  value: z.unknown().optional(),
});

export const changeSchema = z.looseObject({
  field: z.string(),
  value: z.unknown().optional(),
});

const party = z.looseObject({ id: graphId });

export const messagingItemSchema = z.looseObject({
  sender: party,
  recipient: party,
  timestamp: lenient(epochMs),
});

/** A `message_edit` item as Meta sends it: without sender and recipient. */
export const unattributedEditSchema = z.looseObject({
  timestamp: lenient(epochMs),
  message_edit: z.unknown().refine((v) => v !== undefined, 'required'),
});

export const referralSchema = z.looseObject({
  ref: lenient(z.string()),
  source: lenient(z.string()),
  type: lenient(z.string()),
  url: lenient(z.string()),
  ad_id: lenient(graphId),
  ads_context_data: lenient(z.looseObject({ ad_title: lenient(z.string()) })),
  product: lenient(z.looseObject({ id: lenient(graphId) })),
});

export const attachmentSchema = z.looseObject({
  type: z.string().min(1),
  payload: lenient(
    z.looseObject({
      url: lenient(z.string()),
      title: lenient(z.string()),
      ig_post_media_id: lenient(graphId),
    }),
  ),
});

const sentTemplateElement = z
  .looseObject({
    title: lenient(z.string()),
    url: lenient(z.string()),
    default_action: lenient(z.looseObject({ url: lenient(z.string()) })),
    buttons: lenient(z.array(z.looseObject({ url: lenient(z.string()) }).catch({}))),
  })
  .catch({});

/**
 * The payload of a card the brand sent, as its echo carries it: a `title` and `url`, or the generic template's
 * `elements` (directly or under `generic`). Only read to tell the agent what the card was.
 */
export const sentTemplateSchema = z.looseObject({
  title: lenient(z.string()),
  url: lenient(z.string()),
  elements: lenient(z.array(sentTemplateElement)),
  generic: lenient(z.looseObject({ elements: lenient(z.array(sentTemplateElement)) })),
});

export const messageSchema = z.looseObject({
  mid: z.string().min(1),
  text: lenient(z.string()),
  attachments: lenient(z.array(z.unknown())),
  quick_reply: lenient(z.looseObject({ payload: lenient(z.string()) })),
  reply_to: lenient(
    z.looseObject({
      mid: lenient(z.string().min(1)),
      story: lenient(z.looseObject({ url: lenient(z.string()), id: lenient(graphId) })),
    }),
  ),
  referral: lenient(referralSchema),
  // A mistyped flag fails the item: guessing "not an echo" would forward the brand's own message as the customer's.
  is_echo: z.boolean().optional(),
  is_deleted: z.boolean().optional(),
  is_unsupported: z.boolean().optional(),
  is_self: z.boolean().optional(),
});

export const reactionSchema = z.looseObject({
  mid: z.string().min(1),
  action: z.enum(['react', 'unreact']),
  reaction: lenient(z.string()),
  emoji: lenient(z.string()),
});

export const readSchema = z.looseObject({ mid: z.string().min(1) });

export const postbackSchema = z.looseObject({
  mid: lenient(z.string().min(1)),
  title: lenient(z.string()),
  payload: lenient(z.string()),
  referral: lenient(referralSchema),
});

export const messageEditSchema = z.looseObject({
  mid: z.string().min(1),
  text: lenient(z.string()),
  num_edit: lenient(z.int().nonnegative()),
});

export type InstagramEntry = z.output<typeof entrySchema>;
export type InstagramMessage = z.output<typeof messageSchema>;
export type InstagramAttachment = z.output<typeof attachmentSchema>;
export type InstagramReferral = z.output<typeof referralSchema>;
