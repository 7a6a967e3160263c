/**
 * Genesys outbound-notification intake (agent replies): verify → parse → store → 2xx.
 * Works on web-standard Request/Response so the Node server and the Lambda handler share it.
 *
 * Never a 4xx for a message we accepted: Genesys does not retry 4xx and it "caused the entire chat to fail"
 * (genesys-open-messaging.md key fact 20, https://developer.genesys.cloud/forum/t/30668). An agent message we
 * cannot deliver is acknowledged and answered with a Failed receipt instead. Only a bad signature (401), an
 * unknown connection in the URL (404) and a body that is not JSON (400) are refused; a store outage is a 503,
 * which Genesys retries (up to 5 times, about 85 s).
 */
import type { ConnectionConfig } from '../config.js';
import { parseGenesysOutbound } from '../genesys/webhook/parse.js';
import { verifyGenesysSignature } from '../genesys/webhook/verify.js';
import { parseJsonBody, refuse } from '../http/refuse.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Clock, NewJob, Store } from '../store/store.js';
import { receiptJob } from './receipt-job.js';
import { replyJob } from './reply-job.js';

const ROUTE = 'genesys';

export interface GenesysIntakeDeps {
  connections: readonly ConnectionConfig[];
  store: Store;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  onEnqueued: () => void;
}

export class GenesysIntake {
  private readonly byId: Map<string, ConnectionConfig>;

  constructor(private readonly deps: GenesysIntakeDeps) {
    this.byId = new Map(deps.connections.map((c) => [c.id, c]));
  }

  async receive(connectionId: string, request: Request): Promise<Response> {
    const { metrics, logger } = this.deps;
    const connection = this.byId.get(connectionId);
    if (!connection) {
      metrics.webhooks.inc({ route: ROUTE, outcome: 'unknown_connection' });
      return refuse('UNKNOWN_CONNECTION', `no connection "${connectionId}" is configured`);
    }
    const raw = new Uint8Array(await request.arrayBuffer());
    const verdict = verifyGenesysSignature(raw, request.headers.get('x-hub-signature-256'), connection.genesys.webhookSecret);
    if (!verdict.ok) {
      metrics.webhooks.inc({ route: ROUTE, outcome: `rejected_signature_${verdict.reason}` });
      logger.warn({ route: ROUTE, connectionId, reason: verdict.reason }, 'webhook signature rejected');
      return verdict.reason === 'mismatch'
        ? refuse('SIGNATURE_INVALID', "X-Hub-Signature-256 does not match the body for this integration's secret")
        : refuse('SIGNATURE_MISSING', 'X-Hub-Signature-256 must be sha256=<base64 or hex digest>');
    }
    logger.debug({ connectionId, variant: verdict.variant }, 'genesys signature verified');
    const json = parseJsonBody(raw);
    if (!json.ok) {
      metrics.webhooks.inc({ route: ROUTE, outcome: 'rejected_json' });
      return json.refusal;
    }
    const body = json.value;

    const jobs = this.jobsFor(connection, body);
    if (jobs.length === 0) return ok();
    try {
      const result = await this.deps.store.enqueue(jobs);
      metrics.webhooks.inc({ route: ROUTE, outcome: result.accepted > 0 ? 'accepted' : 'duplicate' });
      if (result.accepted > 0) this.deps.onEnqueued();
    } catch (err) {
      metrics.webhooks.inc({ route: ROUTE, outcome: 'store_unavailable' });
      logger.error({ route: ROUTE, err }, 'could not store the agent message');
      return refuse('STORE_UNAVAILABLE', 'the message could not be stored; retry later');
    }
    return ok();
  }

  /** What to store for one notification: a reply to send, a Failed receipt, or nothing. */
  private jobsFor(connection: ConnectionConfig, body: unknown): NewJob[] {
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
      case 'unsupported':
        metrics.webhooks.inc({ route: ROUTE, outcome: 'unsupported' });
        return [
          receiptJob({
            connectionId: connection.id,
            genesysMessageId: parsed.genesysMessageId,
            customerId: parsed.customerId,
            status: 'Failed',
            time: this.deps.clock(),
            reason: 'UnsupportedMessage',
            message: `dmbridge cannot send this kind of message to ${connection.channel === 'instagram' ? 'Instagram' : 'TikTok'} (${parsed.detail}). Send it as text or an attachment.`,
          }),
        ];
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

function ok(): Response {
  return Response.json({ status: 'accepted' }, { status: 200 });
}
