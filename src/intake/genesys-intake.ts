/**
 * Genesys outbound-notification intake (agent replies): the shared intake (./webhook.ts) keyed by the connection
 * named in the URL, with the integration's own secret.
 *
 * Never a 4xx for a message we accepted: Genesys does not retry 4xx and it "caused the entire chat to fail"
 * (https://developer.genesys.cloud/forum/t/30668). An agent message we cannot deliver is acknowledged and answered
 * with a Failed receipt instead. Only a bad signature (401), an unknown connection in the URL (404) and a body
 * that is not JSON (400) are refused; a store outage is a 503, which Genesys retries (up to 5 times, about 85 s).
 */
import type { ConnectionDirectory, LinkedConnection } from '../core/channel.js';
import type { Clock } from '../core/clock.js';
import type { NewJob } from '../core/store.js';
import { parseGenesysOutbound } from '../genesys/webhook/parse.js';
import { verifyGenesysSignature } from '../genesys/webhook/verify.js';
import { receiptJob } from '../jobs/receipt.js';
import { replyJob } from '../jobs/reply.js';
import { refuse } from './refuse.js';
import { receiveWebhook, type IntakeBatch, type IntakeDeps, type WebhookSpec } from './webhook.js';

const ROUTE = 'genesys';

export class GenesysIntake {
  constructor(private readonly deps: IntakeDeps & { connections: ConnectionDirectory; clock: Clock }) {}

  async receive(connectionId: string, request: Request): Promise<Response> {
    const linked = this.deps.connections.get(connectionId);
    if (!linked) {
      this.deps.metrics.webhooks.inc({ route: ROUTE, outcome: 'unknown_connection' });
      return refuse('UNKNOWN_CONNECTION', `no connection "${connectionId}" is configured`);
    }
    return receiveWebhook(this.spec(linked), this.deps, request);
  }

  private spec(linked: LinkedConnection): WebhookSpec {
    const { connection } = linked;
    const { logger } = this.deps;
    return {
      route: ROUTE,
      verify(raw, headers) {
        const verdict = verifyGenesysSignature(raw, headers.get('x-hub-signature-256'), connection.genesys.webhookSecret);
        if (!verdict.ok) {
          const message =
            verdict.reason === 'mismatch'
              ? "X-Hub-Signature-256 does not match the body for this integration's secret"
              : 'X-Hub-Signature-256 must be sha256=<base64 or hex digest>';
          return { ok: false, reason: verdict.reason, message };
        }
        logger.debug({ connectionId: connection.id, variant: verdict.variant }, 'genesys signature verified');
        return { ok: true, signer: connection.genesys.webhookSecret };
      },
      batches: (body) => [{ jobs: this.jobsFor(linked, body), customerMessages: [] }],
      acknowledge: () => Response.json({ status: 'accepted' }, { status: 200 }),
    };
  }

  /** What to store for one notification: a reply to send, a Failed receipt, or nothing. */
  private jobsFor({ connection, channel }: LinkedConnection, body: unknown): IntakeBatch['jobs'] {
    const { metrics, logger } = this.deps;
    const parsed = parseGenesysOutbound(body);
    switch (parsed.kind) {
      case 'command':
        if (parsed.command.integrationId && parsed.command.integrationId !== connection.genesys.integrationId) {
          logger.warn(
            { connectionId: connection.id, integrationId: parsed.command.integrationId },
            "agent message from another integration than the connection's; check the integration's webhook URL",
          );
        }
        return [replyJob(connection.id, parsed.command)];
      case 'unsupported': {
        metrics.webhooks.inc({ route: ROUTE, outcome: 'unsupported' });
        const receipt: NewJob = receiptJob({
          connectionId: connection.id,
          genesysMessageId: parsed.genesysMessageId,
          customerId: parsed.customerId,
          status: 'Failed',
          time: this.deps.clock(),
          reason: 'UnsupportedMessage',
          message: parsed.tooLarge
            ? `This message is too large to send to ${channel.labels.platform} (${parsed.detail}). Send it shorter, or in several messages.`
            : `dmbridge cannot send this kind of message to ${channel.labels.platform} (${parsed.detail}). Send it as text or an attachment.`,
        });
        return [receipt];
      }
      case 'ignore':
        metrics.webhooks.inc({ route: ROUTE, outcome: `ignored_${parsed.reason}` });
        return [];
      case 'invalid':
        metrics.webhooks.inc({ route: ROUTE, outcome: 'invalid' });
        logger.warn({ connectionId: connection.id, detail: parsed.detail }, 'genesys notification without an id or recipient; nothing to do');
        return [];
    }
  }
}
