/**
 * Instagram webhook intake: verify → parse → route to a connection → store durably → acknowledge.
 * Works on web-standard Request/Response so the Node server and the Lambda handler share it.
 */
import type { InstagramConnection } from '../config.js';
import type { InboundEvent } from '../core/events.js';
import { answerMetaHandshake, verifyMetaSignature } from '../channels/instagram/verify.js';
import { parseInstagramWebhook } from '../channels/instagram/parse.js';
import { parseJsonBody, refuse } from '../http/refuse.js';
import { storeRoutedEvents, type IntakeDeps } from './store-events.js';

const ROUTE = 'instagram';

export interface InstagramIntakeDeps extends IntakeDeps {
  connections: readonly InstagramConnection[];
}

export class InstagramIntake {
  private readonly byAccount = new Map<string, InstagramConnection>();
  /** Every secret that may sign a delivery; one Meta app (one URL) can serve several accounts. */
  private readonly secrets: string[];
  private readonly verifyTokens: string[];

  constructor(private readonly deps: InstagramIntakeDeps) {
    for (const c of deps.connections) this.byAccount.set(c.accountId, c);
    this.secrets = [...new Set(deps.connections.flatMap((c) => [c.appSecret, ...c.extraAppSecrets]))];
    this.verifyTokens = [...new Set(deps.connections.map((c) => c.verifyToken))];
  }

  /**
   * Meta's subscription handshake: echo hub.challenge as the raw body when the verify token matches.
   * https://developers.facebook.com/docs/graph-api/webhooks/getting-started
   */
  handshake(url: URL): Response {
    const challenge = answerMetaHandshake(url.searchParams, this.verifyTokens);
    if (challenge === null) {
      this.deps.metrics.webhooks.inc({ route: `${ROUTE}_handshake`, outcome: 'rejected' });
      return refuse('VERIFY_TOKEN_MISMATCH', 'hub.mode must be subscribe and hub.verify_token must match a connection');
    }
    this.deps.metrics.webhooks.inc({ route: `${ROUTE}_handshake`, outcome: 'accepted' });
    return new Response(challenge, { status: 200, headers: { 'content-type': 'text/plain' } });
  }

  async receive(request: Request): Promise<Response> {
    const { metrics, logger } = this.deps;
    const raw = new Uint8Array(await request.arrayBuffer());
    const verdict = verifyMetaSignature(raw, request.headers.get('x-hub-signature-256'), this.secrets);
    if (!verdict.ok) {
      metrics.webhooks.inc({ route: ROUTE, outcome: `rejected_signature_${verdict.reason}` });
      logger.warn({ route: ROUTE, reason: verdict.reason }, 'webhook signature rejected');
      return verdict.reason === 'mismatch'
        ? refuse('SIGNATURE_INVALID', 'X-Hub-Signature-256 does not match the body for any configured app secret')
        : refuse('SIGNATURE_MISSING', 'X-Hub-Signature-256 must be sha256=<64 hex digits>');
    }
    const json = parseJsonBody(raw);
    if (!json.ok) {
      metrics.webhooks.inc({ route: ROUTE, outcome: 'rejected_json' });
      return json.refusal;
    }
    const body = json.value;
    const signedBy = this.secrets[verdict.secretIndex]!;
    const { events, skipped } = parseInstagramWebhook(body);
    for (const s of skipped) metrics.eventsSkipped.inc({ channel: s.channel, reason: s.reason });

    const routed = [];
    for (const event of events) {
      const connection = this.routeEvent(event, signedBy);
      if (connection) routed.push({ connectionId: connection.id, event });
    }
    // Meta expects a 200 for everything it should not redeliver, including items we deliberately ignore.
    return storeRoutedEvents(this.deps, ROUTE, routed, acknowledged);
  }

  /** The connection owning this event's account, if it exists and its secrets include the one that signed. */
  private routeEvent(event: InboundEvent, signedBy: string): InstagramConnection | undefined {
    const connection = this.byAccount.get(event.accountId);
    const { metrics, logger } = this.deps;
    if (!connection) {
      metrics.eventsSkipped.inc({ channel: 'instagram', reason: 'unknown_account' });
      logger.warn({ accountId: event.accountId }, 'webhook event for an account with no connection');
      return undefined;
    }
    if (connection.appSecret !== signedBy && !connection.extraAppSecrets.includes(signedBy)) {
      // Signed by another connection's app: that app may not speak for this account.
      metrics.eventsSkipped.inc({ channel: 'instagram', reason: 'foreign_secret' });
      logger.warn({ connection: connection.id }, "webhook event signed with another connection's secret");
      return undefined;
    }
    return connection;
  }
}

function acknowledged(): Response {
  return new Response('EVENT_RECEIVED', { status: 200, headers: { 'content-type': 'text/plain' } });
}
