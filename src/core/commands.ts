/**
 * The normalized outbound model: what an agent (or a Genesys bot) asked the bridge to send, parsed from a
 * Genesys outbound notification, independent of Genesys's wire format and of the target platform.
 * Pure data, JSON-serialisable (it is stored in job payloads).
 */
import type { MediaType } from './events.js';

/** Who typed it. A platform's human-agent tag may only ever carry a human's words. */
export type OriginatingEntity = 'Human' | 'Bot' | 'Unknown';

export interface OutboundAttachment {
  mediaType: MediaType;
  url: string;
  mime?: string;
  filename?: string;
  /** Bytes, when Genesys said. */
  size?: number;
}

/** A quick reply or a card button. */
export interface OutboundOption {
  text: string;
  /** Quick replies and postback buttons. */
  payload?: string;
  /** Link buttons. */
  url?: string;
}

export interface OutboundCard {
  title: string;
  description?: string;
  imageUrl?: string;
  actions: OutboundOption[];
}

interface OutboundCommandBase {
  /** The Genesys outbound message id: the `id` every receipt must carry. */
  genesysMessageId: string;
  /** Genesys `channel.id`: the Open Messaging integration the agent wrote on. */
  integrationId: string;
  /** The customer's platform id (Genesys `channel.to.id`). */
  customerId: string;
  /** Genesys message time, epoch ms. */
  timestamp: number;
}

export interface OutboundMessageCommand extends OutboundCommandBase {
  kind: 'message';
  originatingEntity: OriginatingEntity;
  /** The text to send. For structured messages, the prompt (the options are in `quickReplies` / `cards`). */
  text?: string;
  attachments: OutboundAttachment[];
  quickReplies?: OutboundOption[];
  cards?: OutboundCard[];
  /**
   * The whole message as readable text (prompt plus options listed), for platforms or limits where the
   * structured form does not fit. Present whenever `quickReplies` or `cards` are.
   */
  fallbackText?: string;
}

/** The agent is typing: best effort, never a receipt. */
export interface OutboundTypingCommand extends OutboundCommandBase {
  kind: 'typing';
}

export type OutboundCommand = OutboundMessageCommand | OutboundTypingCommand;

/**
 * The message text with its `Link` attachments' URLs appended, each as its own paragraph: for platforms with no
 * link attachment. Empty when there is neither text nor link.
 */
export function withLinks(text: string | undefined, attachments: OutboundAttachment[]): string {
  const links = attachments.filter((a) => a.mediaType === 'Link').map((a) => a.url);
  return [text, ...links].filter((part): part is string => part !== undefined && part !== '').join('\n\n');
}
