/**
 * Receipts to Genesys: the agent learns every outcome of a reply (design.md guarantee 5). A receipt is its own
 * job, so a Genesys outage delays receipts without holding back or repeating the sends they report on.
 */
import { z } from 'zod';
import type { ConnectionDirectory } from '../core/channel.js';
import { receiptQueueKey } from '../core/conversation.js';
import { PermanentError } from '../core/errors.js';
import type { JobHandler } from '../core/jobs.js';
import type { NewJob } from '../core/store.js';
import type { GenesysClient } from '../genesys/client.js';
import { buildGenesysReceipt, type GenesysReceiptArgs } from '../genesys/receipt.js';
import { defineJobKind, type PayloadOf } from './kinds.js';
import { reasonCodeSchema } from './payloads.js';

export const receiptJobKind = defineJobKind(
  'genesys.receipt',
  1,
  z.object({
    /** The connection whose integration the receipt goes to. */
    connectionId: z.string(),
    genesysMessageId: z.string(),
    customerId: z.string(),
    status: z.enum(['Delivered', 'Failed']),
    time: z.number(),
    reason: reasonCodeSchema.optional(),
    message: z.string().optional(),
  }) satisfies z.ZodType<GenesysReceiptArgs & { connectionId: string }>,
);
export type ReceiptPayload = PayloadOf<typeof receiptJobKind>;

/** One receipt per Genesys message: the dedupe key makes a second outcome for the same message a no-op. */
export function receiptJob(receipt: ReceiptPayload): NewJob {
  return receiptJobKind.job(receipt, {
    dedupeKey: `receipt:${receipt.connectionId}:${receipt.genesysMessageId}`,
    conversationKey: receiptQueueKey(receipt.connectionId, receipt.customerId),
  });
}

export function createReceiptHandler(deps: { connections: ConnectionDirectory; client: GenesysClient; pauseKey: string }): JobHandler<ReceiptPayload> {
  return {
    pauseKeys: () => [deps.pauseKey],
    async run({ connectionId, ...args }) {
      const linked = deps.connections.get(connectionId);
      if (!linked) throw new PermanentError(`connection "${connectionId}" is no longer configured`);
      await deps.client.sendReceipt(linked.connection.genesys.integrationId, buildGenesysReceipt(args));
    },
  };
}
