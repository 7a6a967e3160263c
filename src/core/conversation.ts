/**
 * Conversations: the keys that identify and order a customer's traffic, and what the bridge knows about one
 * conversation. Pure data.
 */

/** What the bridge knows about one conversation (key `{connectionId}:{customerId}`). */
export interface ConversationState {
  /** When the customer last wrote (epoch ms): the start of the platform's reply window. */
  lastInboundAt?: number;
  /** How many messages the customer has sent (a first-message rule may depend on it). */
  customerMessages?: number;
  /** Replies sent since the customer last wrote (per-window message caps). */
  repliesSinceCustomer?: number;
  /** The platform's conversation id, for platforms that address replies to it rather than to the customer. */
  threadId?: string;
}

/**
 * Conversation key: identifies a conversation (its reply window, its state) and orders the customer's
 * messages into Genesys: jobs sharing a key run one at a time, in order.
 */
export function conversationKey(connectionId: string, customerId: string): string {
  return `${connectionId}:${customerId}`;
}

/**
 * Orders what goes to the customer: agent replies, and the platform's echoes and read receipts of them, which
 * must be handled after the send they refer to (an echo can arrive before the send call returns). Separate
 * from the inbound key so that Genesys being down never holds back replies, nor the platform being down
 * holds back the customer's messages.
 */
export function replyQueueKey(connectionId: string, customerId: string): string {
  return `reply:${connectionId}:${customerId}`;
}

/** Receipts to Genesys: retried on their own, so a Genesys outage never holds back the next reply. */
export function receiptQueueKey(connectionId: string, customerId: string): string {
  return `receipt:${connectionId}:${customerId}`;
}
