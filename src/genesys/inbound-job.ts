/**
 * The job that delivers one normalized inbound message to Genesys Open Messaging.
 */
import type { ConnectionConfig } from '../config.js';
import type { InboundMessage } from '../core/events.js';
import { PermanentError } from '../core/errors.js';
import type { Job } from '../store/store.js';
import type { JobHandler } from '../queue/worker.js';
import type { GenesysClient } from './client.js';
import { buildGenesysInboundMessage } from './translate.js';

export const GENESYS_INBOUND_JOB = 'genesys.inbound';

export interface GenesysInboundJob {
  connectionId: string;
  event: InboundMessage;
}

export function createGenesysInboundHandler(deps: {
  connections: readonly ConnectionConfig[];
  client: GenesysClient;
  /** Rate-limit pause key shared by every job that uses this OAuth client. */
  pauseKey: string;
}): JobHandler {
  const byId = new Map(deps.connections.map((c) => [c.id, c]));
  return {
    pauseKeys: () => [deps.pauseKey],
    async run(job: Job) {
      const { connectionId, event } = job.payload as GenesysInboundJob;
      const connection = byId.get(connectionId);
      if (!connection) {
        throw new PermanentError(`connection "${connectionId}" is no longer configured; the message cannot be delivered`);
      }
      const body = buildGenesysInboundMessage(event, { connectionId });
      await deps.client.sendInboundMessage(connection.genesys.integrationId, body);
    },
  };
}
