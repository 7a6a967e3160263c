/**
 * What one agent message may be at most, checked when Genesys delivers it (src/genesys/webhook/parse.ts). Beyond
 * these caps the message is `unsupported` and the agent reads why in its Failed receipt, instead of the bridge
 * spending seconds of event-loop time on it or sending the customer hundreds of messages. Each cap derives from
 * what Genesys lets an agent write and what the platforms accept.
 */
import type { TextLimit } from '../../core/split-text.js';

/**
 * Genesys caps an Open Messaging agent's text at 4,000 characters (https://help.mypurecloud.com/?p=174625). Five
 * times that, counted over the whole message as the platforms receive it (the text with its link URLs, templates,
 * date pickers, and quick replies and cards written out), leaves room for structured content while staying far
 * from what is slow to handle.
 */
export const MAX_RENDERED_CHARS = 20_000;

/**
 * The strictest platform's text limit, which decides how many messages a text becomes: Instagram's 1,000 UTF-8
 * bytes (https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message); TikTok takes
 * 6,000 characters.
 */
export const STRICTEST_TEXT_LIMIT = { maxUtf8Bytes: 1000 } satisfies TextLimit;

/**
 * Genesys's 4,000 characters are at most 16,000 UTF-8 bytes, which split into at most 20 parts of 1,000 bytes
 * (a part ends early only at a preferred break in its last fifth, so parts hold at least 800 bytes).
 */
export const MAX_TEXT_PARTS = 20;

/**
 * Instagram shows at most 10 images as one message (https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message);
 * every attachment is a send of its own.
 */
export const MAX_ATTACHMENTS = 10;

/**
 * The most choices one platform message offers: Instagram's generic template, 10 cards of 3 buttons
 * (https://developers.facebook.com/docs/instagram-messaging/generic-template); its quick replies are at most 13,
 * TikTok's card has 3 buttons. Counts quick replies, card and template buttons and date-picker times.
 */
export const MAX_CHOICES = 30;

/**
 * The longest list a notification may hold (content items, the cards of a carousel, a template's parameters):
 * twice what the caps above allow, so every list an agent can compose fits and none is read item by item for long.
 */
export const MAX_LIST_ITEMS = 64;
