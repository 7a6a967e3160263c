/**
 * What one agent message may be at most, checked when Genesys delivers it (src/genesys/webhook/parse.ts). Beyond
 * these caps the message is `unsupported` and the agent reads why in its Failed receipt, instead of the bridge
 * spending seconds of event-loop time on it or sending the customer hundreds of messages. Each cap derives from
 * what Genesys lets an agent write and what the strictest registered channel accepts (each channel's README in
 * src/channels/<name>/ states its platform's limits, with sources).
 */
import type { TextLimit } from '../../core/split-text.js';

/**
 * Genesys caps an Open Messaging agent's text at 4,000 characters (https://help.mypurecloud.com/?p=174625). Five
 * times that, counted over the whole message as the platforms receive it (the text with its link URLs, templates,
 * date pickers, and quick replies and cards written out), leaves room for structured content while staying far
 * from what is slow to handle.
 */
export const MAX_RENDERED_CHARS = 20_000;

/** The strictest channel's text limit, which decides how many messages a text becomes: 1,000 UTF-8 bytes. */
export const STRICTEST_TEXT_LIMIT = { maxUtf8Bytes: 1000 } satisfies TextLimit;

/**
 * Genesys's 4,000 characters are at most 16,000 UTF-8 bytes, which split into at most 20 parts of 1,000 bytes
 * (a part ends early only at a preferred break in its last fifth, so parts hold at least 800 bytes).
 */
export const MAX_TEXT_PARTS = 20;

/** The most images a channel shows as one message is 10; every attachment is a send of its own. */
export const MAX_ATTACHMENTS = 10;

/**
 * The most choices one platform message offers: a template of 10 cards of 3 buttons (quick replies stop at 13).
 * Counts quick replies, card and template buttons and date-picker times.
 */
export const MAX_CHOICES = 30;

/**
 * The longest list a notification may hold (content items, the cards of a carousel, a template's parameters):
 * twice what the caps above allow, so every list an agent can compose fits and none is read item by item for long.
 */
export const MAX_LIST_ITEMS = 64;
