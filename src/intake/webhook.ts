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
import type { RefusalLog } from './refusal-log.js';
import { parseJsonBody, refuse } from './refuse.js';

export interface IntakeDeps {
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  /** Refused unauthenticated requests, counted and logged once per interval: a flood cannot fill the disk. */
  refusals: RefusalLog;
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
  verify(raw: Uint8Array, headers: Headers): SignatureVerdict;
  /**
   * What to store, in batches as it is worked out: each is stored before the next is made, so a large webhook never
   * holds all its jobs in memory at once, and the event loop gets its turn in between (src/intake/yielding.ts).
   */
  batches(body: unknown, signer: string): AsyncIterable<IntakeBatch> | Iterable<IntakeBatch>;
  acknowledge(): Response;
}

export async function receiveWebhook(spec: WebhookSpec, deps: IntakeDeps, request: Request): Promise<Response> {
  const { metrics, logger } = deps;
  const { route } = spec;
  const raw = new Uint8Array(await request.arrayBuffer());
  const verdict = spec.verify(raw, request.headers);
  if (!verdict.ok) {
    metrics.webhooks.inc({ route, outcome: `rejected_signature_${verdict.reason}` });
    deps.refusals.refused(route, `signature_${verdict.reason}`);
    return signatureRefusal(verdict);
  }
  const json = parseJsonBody(raw);
  if (!json.ok) {
    metrics.webhooks.inc({ route, outcome: 'rejected_json' });
    return json.refusal;
  }
  let stored = 0;
  let accepted = 0;
  let emptyOutcome: string | undefined;
  try {
    for await (const batch of spec.batches(json.value, verdict.signer)) {
      emptyOutcome ??= batch.emptyOutcome;
      for (const chunk of acceptChunks(batch)) {
        accepted += (await deps.inbox.accept(chunk)).accepted;
        stored += chunk.jobs.length;
      }
    }
  } catch (err) {
    // A corrupt store said so once, loudly, when it broke; a line per refused webhook would only bury that line.
    const corrupt = err instanceof StoreCorruptError;
    metrics.webhooks.inc({ route, outcome: corrupt ? 'store_corrupt' : 'store_unavailable' });
    if (!corrupt) logger.error({ route, err }, 'could not store webhook events');
    return refuse('STORE_UNAVAILABLE', 'events could not be stored; retry later');
  }
  if (stored === 0) {
    if (emptyOutcome) metrics.webhooks.inc({ route, outcome: emptyOutcome });
    return spec.acknowledge();
  }
  metrics.webhooks.inc({ route, outcome: accepted > 0 ? 'accepted' : 'duplicate' });
  if (accepted > 0) deps.onEnqueued();
  return spec.acknowledge();
}

/**
 * A large webhook is stored in several atomic writes of at most ACCEPT_CHUNK jobs, so no single commit holds the
 * event loop for long (issue 12's budget). Nothing is acknowledged until every chunk is durable; when one fails the
 * sender delivers the whole webhook again, and the chunks already stored are recognised as duplicates.
 */
export const ACCEPT_CHUNK = 250;

function* acceptChunks(batch: IntakeBatch): Generator<InboxBatch> {
  // A customer-message fact is one write too: they are spread over the chunks alike.
  const count = Math.max(batch.jobs.length, batch.customerMessages.length);
  for (let i = 0; i < count; i += ACCEPT_CHUNK) {
    yield { jobs: batch.jobs.slice(i, i + ACCEPT_CHUNK), customerMessages: batch.customerMessages.slice(i, i + ACCEPT_CHUNK) };
  }
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
