/**
 * TikTok webhook intake: verify `TikTok-Signature` → parse (the `content` string losslessly: 19-digit ids)
 * → route on `user_openid` to a connection → store durably → 200.
 * TikTok retries anything but a 200 for up to 72 hours, so only what must be refused is refused: a bad or
 * stale signature (401: a replay outside the tolerance), a body that is not JSON (400), a store outage (503).
 * https://business-api.tiktok.com/portal/docs?id=1832190670631937 (tiktok-messaging.md §4)
 */
import type { TikTokConnection } from '../config.js';
import type { InboundEvent } from '../core/events.js';
import { parseTikTokWebhook } from '../channels/tiktok/parse.js';
import { verifyTikTokSignature } from '../channels/tiktok/verify.js';
import { parseJsonBody, refuse } from '../http/refuse.js';
import type { Clock } from '../store/store.js';
import { storeRoutedEvents, type IntakeDeps } from './store-events.js';

const ROUTE = 'tiktok';

export interface TikTokIntakeDeps extends IntakeDeps {
  connections: readonly TikTokConnection[];
  clock: Clock;
}

export class TikTokIntake {
  private readonly byBusiness = new Map<string, TikTokConnection>();
  /** One developer app (one webhook URL) may serve several business accounts, each app with its own secret. */
  private readonly apps: Array<{ secret: string; toleranceSec: number }>;

  constructor(private readonly deps: TikTokIntakeDeps) {
    for (const c of deps.connections) this.byBusiness.set(c.businessId, c);
    const bySecret = new Map<string, number>();
    for (const c of deps.connections) bySecret.set(c.appSecret, Math.max(bySecret.get(c.appSecret) ?? 0, c.signatureToleranceSec));
    this.apps = [...bySecret].map(([secret, toleranceSec]) => ({ secret, toleranceSec }));
  }

  async receive(request: Request): Promise<Response> {
    const { metrics, logger } = this.deps;
    const raw = new Uint8Array(await request.arrayBuffer());
    const header = request.headers.get('tiktok-signature');
    let signedBy: string | undefined;
    let failure: 'missing' | 'malformed' | 'mismatch' | 'stale' = 'mismatch';
    for (const app of this.apps) {
      const verdict = verifyTikTokSignature(raw, header, app.secret, { now: this.deps.clock(), toleranceSec: app.toleranceSec });
      if (verdict.ok) {
        signedBy = app.secret;
        break;
      }
      failure = verdict.reason;
      if (failure === 'missing' || failure === 'malformed') break;
    }
    if (!signedBy) {
      metrics.webhooks.inc({ route: ROUTE, outcome: `rejected_signature_${failure}` });
      logger.warn({ route: ROUTE, reason: failure }, 'webhook signature rejected');
      if (failure === 'stale') return refuse('SIGNATURE_STALE', 'the signed timestamp is outside the accepted tolerance');
      if (failure === 'mismatch') return refuse('SIGNATURE_INVALID', 'TikTok-Signature does not match the body for any configured app secret');
      return refuse('SIGNATURE_MISSING', 'TikTok-Signature must be t=<unix seconds>,s=<hex HMAC-SHA256>');
    }
    const json = parseJsonBody(raw);
    if (!json.ok) {
      metrics.webhooks.inc({ route: ROUTE, outcome: 'rejected_json' });
      return json.refusal;
    }
    const envelope = json.value;
    const { events, skipped } = parseTikTokWebhook(envelope);
    for (const s of skipped) {
      metrics.eventsSkipped.inc({ channel: s.channel, reason: s.reason });
      if (s.reason === 'authorization_removed') {
        logger.error({ detail: s.detail }, 'TikTok says a business removed its authorization: re-authorize the connection');
      }
    }
    const routed = [];
    for (const event of events) {
      const connection = this.routeEvent(event, signedBy);
      if (connection) routed.push({ connectionId: connection.id, event });
    }
    return storeRoutedEvents(this.deps, ROUTE, routed, acknowledged);
  }

  /** The connection of this business account, if its app's secret is the one that signed. */
  private routeEvent(event: InboundEvent, signedBy: string): TikTokConnection | undefined {
    const connection = this.byBusiness.get(event.accountId);
    if (!connection) {
      this.deps.metrics.eventsSkipped.inc({ channel: 'tiktok', reason: 'unknown_account' });
      this.deps.logger.warn({ businessId: event.accountId }, 'webhook event for a business account with no connection');
      return undefined;
    }
    if (connection.appSecret !== signedBy) {
      this.deps.metrics.eventsSkipped.inc({ channel: 'tiktok', reason: 'foreign_secret' });
      this.deps.logger.warn({ connection: connection.id }, "webhook event signed with another connection's secret");
      return undefined;
    }
    return connection;
  }
}

function acknowledged(): Response {
  return Response.json({ code: 0, message: 'OK' }, { status: 200 });
}
