/**
 * The one webhook intake, shared by every channel's route and by the Genesys outbound route: the raw body read
 * once → the signature over those exact bytes → JSON → what to store → stored durably → acknowledged. Nothing
 * is stored before the signature holds (401, nothing stored); the sender is answered only once what it sent is
 * durable, and 503 when it could not be stored, so the sender delivers it again. Web-standard Request/Response,
 * so the Node server and a Lambda handler share it.
 */
import type { SignatureVerdict } from '../core/channel.js';
import { StoreCorruptError } from '../core/errors.js';
import type { Inbox, InboxBatch } from '../core/store.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { parseJsonBody, refuse } from './refuse.js';

export interface IntakeDeps {
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  /** Called after jobs were stored, to wake the worker. */
  onEnqueued: () => void;
}

/** What to store for one authenticated body; `emptyOutcome` is counted when that is nothing. */
export interface IntakeBatch extends InboxBatch {
  emptyOutcome?: string;
}

export interface WebhookSpec {
  /** The `route` label of `dmbridge_webhooks_total`. */
  route: string;
  /** Extra log fields of a refusal (which connection's URL it came to). */
  logFields?: Record<string, string>;
  verify(raw: Uint8Array, headers: Headers): SignatureVerdict;
  toBatch(body: unknown, signer: string): IntakeBatch;
  acknowledge(): Response;
}

export async function receiveWebhook(spec: WebhookSpec, deps: IntakeDeps, request: Request): Promise<Response> {
  const { metrics, logger } = deps;
  const { route } = spec;
  const raw = new Uint8Array(await request.arrayBuffer());
  const verdict = spec.verify(raw, request.headers);
  if (!verdict.ok) {
    metrics.webhooks.inc({ route, outcome: `rejected_signature_${verdict.reason}` });
    logger.warn({ route, ...spec.logFields, reason: verdict.reason }, 'webhook signature rejected');
    return signatureRefusal(verdict);
  }
  const json = parseJsonBody(raw);
  if (!json.ok) {
    metrics.webhooks.inc({ route, outcome: 'rejected_json' });
    return json.refusal;
  }
  const batch = spec.toBatch(json.value, verdict.signer);
  if (batch.jobs.length === 0) {
    if (batch.emptyOutcome) metrics.webhooks.inc({ route, outcome: batch.emptyOutcome });
    return spec.acknowledge();
  }
  try {
    const result = await deps.inbox.accept(batch);
    metrics.webhooks.inc({ route, outcome: result.accepted > 0 ? 'accepted' : 'duplicate' });
    if (result.accepted > 0) deps.onEnqueued();
  } catch (err) {
    // A corrupt store said so once, loudly, when it broke; a line per refused webhook would only bury that line.
    const corrupt = err instanceof StoreCorruptError;
    metrics.webhooks.inc({ route, outcome: corrupt ? 'store_corrupt' : 'store_unavailable' });
    if (!corrupt) logger.error({ route, err }, 'could not store webhook events');
    return refuse('STORE_UNAVAILABLE', 'events could not be stored; retry later');
  }
  return spec.acknowledge();
}

function signatureRefusal(verdict: Extract<SignatureVerdict, { ok: false }>): Response {
  switch (verdict.reason) {
    case 'stale':
      return refuse('SIGNATURE_STALE', verdict.message);
    case 'mismatch':
      return refuse('SIGNATURE_INVALID', verdict.message);
    default:
      return refuse('SIGNATURE_MISSING', verdict.message);
  }
}
