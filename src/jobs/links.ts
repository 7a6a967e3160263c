/**
 * Links between platform message ids and what they were, kept as store records: our own replies (so their
 * echoes are recognised and the customer's reactions and reads can name the agent message), and messages the
 * brand sent from the platform's own app.
 */

/** Record namespace; key `{connectionId}:{platform message id}`. */
export const PLATFORM_MESSAGE = 'platform-message';

/**
 * Record namespace of the customer who sent a message, key `{connectionId}:{platform message id}`: what a platform
 * event naming only a message (an edit without a sender) is attributed with.
 */
export const CUSTOMER_MESSAGE = 'customer-message';

export interface CustomerOfMessage {
  customerId: string;
}

/** Long enough for a 7-day human-agent reply window and a reaction days later; short enough to stay small. */
export const linkTtlMs = 30 * 24 * 60 * 60 * 1000;

export interface PlatformMessageLink {
  /** `bridge`: an agent reply we sent; `app`: sent by the brand from the platform's own app. */
  origin: 'bridge' | 'app';
  genesysMessageId?: string;
  part?: number;
  snippet: string;
  /** When the customer read it, epoch ms. */
  readAt?: number;
}
