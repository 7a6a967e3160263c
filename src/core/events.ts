/**
 * The normalized inbound model: what a channel parser produces from a platform webhook, independent of
 * the platform's wire format and of Genesys. Pure data, JSON-serialisable (it is stored in job payloads).
 */

/** A registered channel module's name (src/channels/index.ts); the core knows none of them. */
export type ChannelName = string;

/** Genesys Open Messaging attachment media types (OpenContentAttachment.mediaType). */
export type MediaType = 'Image' | 'Video' | 'Audio' | 'File' | 'Link';

/**
 * Media the platform serves only to authenticated callers: the worker turns it into a short-lived signed URL on
 * the bridge's own /media route, which streams it through the channel's media source. Flat strings, whose
 * meaning only the channel that made them knows (they travel inside the signed media token).
 */
export type MediaReference = Readonly<Record<string, string>>;

export interface InboundAttachment {
  mediaType: MediaType;
  /** Where Genesys can fetch it; empty while `reference` still has to be turned into a bridge URL. */
  url: string;
  reference?: MediaReference;
  /** Exact MIME type when known; a best guess from the platform's attachment type otherwise. */
  mime: string;
  filename?: string;
}

interface InboundEventBase {
  channel: ChannelName;
  /** The brand's account id on the platform, as its webhooks carry it: how a delivery finds its connection. */
  accountId: string;
  /** The customer's platform id. Becomes Genesys `from.id`. */
  customerId: string;
  /**
   * Idempotency key, unique per (channel, account, platform message id, event kind, part). A repeat
   * delivery of the same event yields the same key and is dropped by the store.
   */
  dedupeKey: string;
  /** Platform event time, epoch milliseconds. */
  timestamp: number;
  /**
   * The platform's own conversation id, where replies must be addressed to it rather than to the customer
   * (a conversation id). Kept in the conversation state.
   */
  threadId?: string;
}

/** Something a human customer did that the agent must see, as text and/or one attachment. */
export interface InboundMessage extends InboundEventBase {
  kind: 'message';
  /** What it was on the platform (`text`, `image`, `story_mention`, `reaction` …): for logs, metrics, attributes. */
  subtype: string;
  /** Becomes Genesys `channel.messageId`. Stable across redeliveries. */
  messageId: string;
  text?: string;
  attachment?: InboundAttachment;
  /** Extra `channel.metadata.customAttributes` (referral ids, postback payloads …), string values only. */
  attributes: Record<string, string>;
  /** Whether this event counts as the customer's "last message" for the platform's reply window. */
  opensWindow: boolean;
  /** Platform message id this one refers to (reply_to, reacted-to or unsent message), when any. */
  refersTo?: string;
  /**
   * A tap on a quick reply or a button the business sent: the payload it carried (the business's own), the words on
   * it, and the platform message that carried it when the platform says.
   */
  button?: { payload: string; text: string; inMessage?: string };
  /**
   * What it is, for the agent and Architect (`dmbridge.source`), when it is not the channel's usual message: a
   * an `Acme mention` is not an `Acme DM`. The channel's `labels.source` otherwise.
   */
  label?: string;
}

/** The customer saw one of our messages. Genesys has no Read receipt; recorded and counted only. */
export interface InboundRead extends InboundEventBase {
  kind: 'read';
  /** Platform message id that was seen. */
  messageId: string;
}

/**
 * A message the brand itself sent (an echo). Never forwarded to Genesys as customer input; recorded so
 * that sends from the platform's own app can be told apart from ours.
 */
export interface InboundEcho extends InboundEventBase {
  kind: 'echo';
  messageId: string;
  text?: string;
  /**
   * Where the platform says the message was sent from, verbatim, when it says (for example `API` for an API app
   * such as dmbridge, `APP` for a human in the platform's own app).
   */
  source?: string;
  /** What a message without text was (a reel, a card, an image), as the channel renders it for the agent. */
  description?: string;
}

/**
 * A change to one of the customer's earlier messages (an edit) that names only that message, not who sent it: its
 * customer is whoever sent `refersTo`, looked up in the bridge's record of the messages it delivered.
 */
export interface InboundMessageUpdate extends Omit<InboundMessage, 'kind' | 'customerId'> {
  kind: 'update';
  /** Not known: the point of this event. */
  customerId?: never;
  refersTo: string;
}

export type InboundEvent = InboundMessage | InboundRead | InboundEcho | InboundMessageUpdate;

/** What the platform tells about a customer, shown in Genesys's `from` fields. */
export interface CustomerProfile {
  name?: string;
  /** The platform handle (a username): Genesys `nickname`. */
  username?: string;
  pictureUrl?: string;
}

/** An item of a webhook that carries nothing for the agent (noise, tests, other apps' threads). */
export interface SkippedItem {
  channel: ChannelName;
  /** Stable, low-cardinality reason, used as a metric label: `echo`, `self_test`, `standby`, `unknown_account` … */
  reason: string;
  detail?: string;
  /** A sentence for the operator, logged at error level (an authorization was removed): never for the agent. */
  alert?: string;
}

/** Everything a channel parser returns for one webhook body. Parsers never throw on well-formed JSON. */
export interface ParseResult {
  events: InboundEvent[];
  skipped: SkippedItem[];
}
