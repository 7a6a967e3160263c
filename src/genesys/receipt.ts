/**
 * The outcome of an agent message → a Genesys `OpenInboundNormalizedReceipt` (genesys-open-messaging.md §2.2,
 * key facts 12–13). Pure: no I/O, no clock. Without a receipt the agent only ever sees "sent".
 */
import type { Models } from 'purecloud-platform-client-v2';
import type { GenesysReasonCode } from '../core/errors.js';

/** Our own cap: Genesys publishes no limit for `reasons[].message`, and the agent reads it in one glance. */
const MAX_REASON_CHARS = 1000;

export interface GenesysReceiptArgs {
  /** The `id` of the outbound notification reported on (not the platform's message id). */
  genesysMessageId: string;
  /** The customer's platform id: `channel.to.id` of the notification. */
  customerId: string;
  status: 'Delivered' | 'Failed';
  /** Epoch ms of the outcome. */
  time: number;
  /** Failed only; `GeneralError` when absent. */
  reason?: GenesysReasonCode;
  /** Failed only: the sentence the agent reads. */
  message?: string;
}

/**
 * `Delivered` or `Failed` only: `Read` is not accepted (key fact 12). `isFinalReceipt` is always true: the bridge
 * reports once per Genesys message, after every part was sent or one failed (§5, Splitting).
 */
export function buildGenesysReceipt(args: GenesysReceiptArgs): Models.OpenInboundNormalizedReceipt {
  const receipt: Models.OpenInboundNormalizedReceipt = {
    id: args.genesysMessageId,
    channel: { to: { id: args.customerId, idType: 'Opaque' }, time: new Date(args.time).toISOString() },
    status: args.status,
    isFinalReceipt: true,
  };
  // A Failed receipt needs `reasons[].message` (key fact 13, https://github.com/MyPureCloud/platform-client-sdk-python
  // ConversationReason): a missing one would be a 400 and the agent would never learn the outcome.
  if (args.status === 'Failed') {
    const code = args.reason ?? 'GeneralError';
    receipt.reasons = [{ code, message: capReasonMessage(args.message?.trim() || defaultReasonMessage(code)) }];
  }
  return receipt;
}

function defaultReasonMessage(code: GenesysReasonCode): string {
  return `The message could not be delivered (${code}).`;
}

/** Cut at a code point, never inside a surrogate pair, with an ellipsis. */
function capReasonMessage(message: string): string {
  const chars = Array.from(message);
  return chars.length <= MAX_REASON_CHARS ? message : `${chars.slice(0, MAX_REASON_CHARS - 1).join('')}…`;
}
