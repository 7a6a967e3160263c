/**
 * Receipts to Genesys: the agent learns every outcome of a reply (design.md guarantee 5). A receipt is its own
 * job, so a Genesys outage delays receipts without holding back or repeating the sends they report on.
 */
import type { ConnectionConfig } from '../config.js';
import { receiptQueueKey } from '../core/conversation.js';
import { PermanentError } from '../core/errors.js';
import type { GenesysClient } from '../genesys/client.js';
import { buildGenesysReceipt, type GenesysReceiptArgs } from '../genesys/receipt.js';
import type { JobHandler } from '../queue/worker.js';
import type { Job, NewJob } from '../store/store.js';

export const GENESYS_RECEIPT_JOB = 'genesys.receipt';

/** A receipt to send, and the connection whose integration it goes to. */
export interface ReceiptJob extends GenesysReceiptArgs {
  connectionId: string;
}

/** One receipt per Genesys message: the dedupe key makes a second outcome for the same message a no-op. */
export function receiptJob(receipt: ReceiptJob): NewJob {
  return {
    dedupeKey: `receipt:${receipt.connectionId}:${receipt.genesysMessageId}`,
    conversationKey: receiptQueueKey(receipt.connectionId, receipt.customerId),
    kind: GENESYS_RECEIPT_JOB,
    payload: receipt,
  };
}

export function createReceiptHandler(deps: {
  connections: readonly ConnectionConfig[];
  client: GenesysClient;
  pauseKey: string;
}): JobHandler {
  const byId = new Map(deps.connections.map((c) => [c.id, c]));
  return {
    pauseKeys: () => [deps.pauseKey],
    async run(job: Job) {
      const receipt = job.payload as ReceiptJob;
      const connection = byId.get(receipt.connectionId);
      if (!connection) throw new PermanentError(`connection "${receipt.connectionId}" is no longer configured`);
      const { connectionId: _, ...args } = receipt;
      await deps.client.sendReceipt(connection.genesys.integrationId, buildGenesysReceipt(args));
    },
  };
}
