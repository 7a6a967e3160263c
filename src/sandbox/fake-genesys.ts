/**
 * A fake Genesys Cloud on 127.0.0.1 that speaks the real wire format (genesys-open-messaging.md):
 * client-credentials tokens, and the per-integration Open Messaging inbound endpoints with strict
 * validation of the Appendix A models. It is deliberately stricter than the real service, which ignores
 * unknown fields (https://developer.genesys.cloud/forum/t/open-messaging-api-removing-inaccessible-fields/11021):
 * anything the bridge sends that the model does not declare is a bug here.
 * It also plays the agent: `outboundWebhookBody` + `deliverOutbound` webhook a reply to the bridge, signed and
 * retried as Genesys does (§3).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import type { Models } from 'purecloud-platform-client-v2';
import { z } from 'zod';
import type { GenesysReasonCode } from '../core/errors.js';
import { signGenesysBody } from '../genesys/webhook/verify.js';
import { httpCall, type HttpRequestInit } from '../net/http.js';
import { listenOnLoopback } from './listen.js';

export interface FakeGenesysOptions {
  /** 0 or absent: any free port. */
  port?: number;
  clientId: string;
  clientSecret: string;
  integrationIds: string[];
  /** Lifetime of issued tokens; the real default is 24 h. */
  tokenTtlSec?: number;
  latencyMs?: number;
}

export interface Received {
  integrationId: string;
  body: unknown;
  /** The Genesys message id the fake answered with. */
  id: string;
  /** Epoch ms of arrival. */
  at: number;
}

/** A canned answer for the next requests, or `timeout`: the request is held and never answered. */
export type FakeFailure = { status: number; body?: unknown; headers?: Record<string, string> } | 'timeout';

/** One request to an inbound endpoint (message, event, receipt), whatever its answer. */
export interface InboundRequest {
  endpoint: string;
  /** Epoch ms when the request reached the fake (before any latency). */
  at: number;
  /** Epoch ms when the fake answered (or gave up on a held request). */
  answeredAt: number;
  status: number;
  /** Held as a `timeout` failure: the status is the 504 sent when it was released, which no caller waits for. */
  timedOut: boolean;
}

export interface FakeGenesys {
  url: string;
  messages: Received[];
  events: Received[];
  receipts: Received[];
  /** Successful token grants. */
  tokenRequests: number;
  /** Every request to the inbound endpoints, in arrival order, with its answer (recorded once answered). */
  inboundRequests: InboundRequest[];
  /** The next `n` requests to the inbound endpoints (or to `/oauth/token`) get `failure` instead. */
  failNext(n: number, failure: FakeFailure, endpoint?: 'inbound' | 'token'): void;
  /**
   * For `forMs` from now, every request to the inbound endpoints (or to `/oauth/token`) gets `failure`, or the
   * failures of a list in turn (e.g. `[{ status: 503 }, 'timeout']`). A `timeout` is held until the outage
   * ends (or the fake closes), then answered 504, and its message is never recorded: Genesys did not accept
   * it. Requests already queued by `failNext` get those answers first. A new outage replaces the previous one.
   * Returns the outage's window, epoch ms, [from, until).
   */
  outage(forMs: number, failure: FakeFailure | FakeFailure[], endpoint?: 'inbound' | 'token'): { from: number; until: number };
  setLatency(ms: number): void;
  waitForMessages(count: number, timeoutMs: number): Promise<void>;
  waitForReceipts(count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

// ---- Appendix A models as strict zod schemas ----

const isoTime = z.iso.datetime({ message: 'should match format "date-time"' });
const idType = z.enum(['Email', 'Phone', 'Opaque']);
const recipient = {
  nickname: z.string().optional(),
  id: z.string().min(1),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  image: z.string().optional(),
  email: z.string().optional(),
};
const fromRecipient = z.strictObject({ ...recipient, idType });
const toRecipient = z.strictObject({ ...recipient, idType: idType.optional() });

/** `customAttributes` lives only here, string values only (key fact 10). */
const channelMetadata = z.strictObject({
  subType: z.string().optional(),
  customAttributes: z.record(z.string(), z.string()).optional(),
});

const attachment = z.strictObject({
  id: z.string().optional(),
  mediaType: z.enum(['Image', 'Video', 'Audio', 'File', 'Link']),
  url: z.url(),
  mime: z.string().min(1),
  text: z.string().optional(),
  sha256: z.string().optional(),
  filename: z.string().optional(),
});

/** Text or content, exactly as Genesys words it (key fact 5). */
const NO_TEXT_OR_CONTENT =
  "should have required property 'content', should have required property '.text', should match some schema in anyOf";

const inboundMessage = z
  .strictObject({
    channel: z.strictObject({
      from: fromRecipient,
      time: isoTime,
      messageId: z.string().optional(),
      metadata: channelMetadata.optional(),
    }),
    text: z.string().optional(),
    // One attachment per message (key fact 6); items carry only `attachment` in the new schema.
    content: z.array(z.strictObject({ attachment })).max(1, 'should NOT have more than 1 items').optional(),
    // Top-level metadata is a string map, so `metadata.customAttributes` (an object) is a 400 (key fact 10).
    metadata: z.record(z.string(), z.string()).optional(),
  })
  .refine((m) => Boolean(m.text) || (m.content?.length ?? 0) > 0, { message: NO_TEXT_OR_CONTENT });

const inboundEvent = z.strictObject({
  channel: z.strictObject({ from: fromRecipient, time: isoTime }),
  events: z.array(z.strictObject({ eventType: z.enum(['Typing']) })).min(1),
});

/** The documented `ConversationReason.code` values (key fact 13); a typo here is a bug in the bridge. */
const reasonCode = z.enum([
  'MessageExpired',
  'RateLimited',
  'MessageNotAllowed',
  'GeneralError',
  'UnsupportedMessage',
  'UnknownMessage',
  'InvalidMessageStructure',
  'InvalidDestination',
  'ServerError',
  'MediaTypeNotAllowed',
  'InvalidMediaContentLength',
  'RecipientOptedOut',
  'DataFiltered',
] satisfies GenesysReasonCode[]);

/** Receipts: Delivered or Failed only (no Read); Failed needs reasons with a message (key facts 12–13). */
const inboundReceipt = z
  .strictObject({
    id: z.string().min(1),
    channel: z.strictObject({ to: toRecipient, time: isoTime }),
    status: z.enum(['Delivered', 'Failed']),
    reasons: z.array(z.strictObject({ code: reasonCode.optional(), message: z.string().min(1) })).optional(),
    isFinalReceipt: z.boolean().optional(),
  })
  .refine((r) => r.status !== 'Failed' || (r.reasons?.length ?? 0) > 0, {
    message: "should have required property 'reasons' when status is Failed",
    path: ['reasons'],
  });

const SCHEMAS = { message: inboundMessage, event: inboundEvent, receipt: inboundReceipt } as const;
type Endpoint = keyof typeof SCHEMAS;

// ---- the server ----

export async function startFakeGenesys(opts: FakeGenesysOptions): Promise<FakeGenesys> {
  const tokenTtlSec = opts.tokenTtlSec ?? 86_400;
  let latencyMs = opts.latencyMs ?? 0;
  const tokens = new Map<string, number>(); // token → expiry, epoch ms
  const conversations = new Map<string, string>(); // integrationId:fromId → conversationId
  const queued: Record<'inbound' | 'token', FakeFailure[]> = { inbound: [], token: [] };
  const held: Array<() => void> = []; // requests answering 'timeout', released on close
  const timedOut = new WeakSet<Request>(); // held requests, for the request log
  const outages: Record<'inbound' | 'token', { until: number; failures: FakeFailure[]; next: number } | undefined> = {
    inbound: undefined,
    token: undefined,
  };
  const waiters = new Set<() => boolean>(); // pending waitFor* checks

  const fake: FakeGenesys = {
    url: '',
    messages: [],
    events: [],
    receipts: [],
    tokenRequests: 0,
    inboundRequests: [],
    failNext(n, failure, endpoint = 'inbound') {
      for (let i = 0; i < n; i++) queued[endpoint].push(failure);
    },
    outage(forMs, failure, endpoint = 'inbound') {
      const failures = Array.isArray(failure) ? [...failure] : [failure];
      if (failures.length === 0) throw new Error('fake Genesys: an outage needs at least one failure');
      const from = Date.now();
      outages[endpoint] = { until: from + forMs, failures, next: 0 };
      return { from, until: from + forMs };
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    waitForMessages(count, timeoutMs) {
      return waitForCount('messages', count, timeoutMs);
    },
    waitForReceipts(count, timeoutMs) {
      return waitForCount('receipts', count, timeoutMs);
    },
    async close() {
      held.splice(0).forEach((release) => release());
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  function waitForCount(list: 'messages' | 'receipts', count: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (fake[list].length < count) return false;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
        return true;
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`fake Genesys: ${fake[list].length} of ${count} ${list} after ${timeoutMs} ms`));
      }, timeoutMs);
      if (!check()) waiters.add(check);
    });
  }

  const app = new Hono();

  /** Applies latency, then a queued failure or the current outage's, if any; returns the failure response or undefined. */
  async function injected(endpoint: 'inbound' | 'token', request?: Request): Promise<Response | undefined> {
    if (latencyMs > 0) await sleep(latencyMs);
    let failure = queued[endpoint].shift();
    let holdUntil: number | undefined;
    const outage = outages[endpoint];
    if (failure === undefined && outage && Date.now() < outage.until) {
      failure = outage.failures[outage.next++ % outage.failures.length]!;
      holdUntil = outage.until;
    }
    if (failure === undefined) return undefined;
    if (failure === 'timeout') {
      await new Promise<void>((resolve) => {
        held.push(resolve);
        if (holdUntil !== undefined) setTimeout(resolve, Math.max(0, holdUntil - Date.now())).unref();
      });
      if (request) timedOut.add(request);
      return new Response(null, { status: 504 });
    }
    return failureResponse(failure);
  }

  /** Records every inbound request with its answer, whichever way the handler below returns. */
  app.use('/api/v2/conversations/messages/:integrationId/inbound/open/:endpoint', async (c, next) => {
    const at = Date.now();
    await next();
    const wasHeld = timedOut.has(c.req.raw);
    fake.inboundRequests.push({ endpoint: c.req.param('endpoint'), at, answeredAt: Date.now(), status: c.res.status, timedOut: wasHeld });
  });

  // Client-credentials grant (key fact 3).
  app.post('/oauth/token', async (c) => {
    const failure = await injected('token');
    if (failure) return failure;
    if (!hasClientCredentials(c.req.header('authorization'), opts.clientId, opts.clientSecret)) {
      return c.json({ error: 'invalid_client', description: 'client not found', error_description: 'client not found' }, 401);
    }
    const form = new URLSearchParams(await c.req.text());
    if (form.get('grant_type') !== 'client_credentials') {
      const description = `unsupported grant type: ${form.get('grant_type') ?? '(none)'}`;
      return c.json({ error: 'unsupported_grant_type', description, error_description: description }, 400);
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, Date.now() + tokenTtlSec * 1000);
    fake.tokenRequests++;
    return c.json({ access_token: token, token_type: 'bearer', expires_in: tokenTtlSec });
  });

  app.post('/api/v2/conversations/messages/:integrationId/inbound/open/:endpoint', async (c) => {
    const { integrationId, endpoint } = c.req.param();
    if (!Object.hasOwn(SCHEMAS, endpoint)) return genesysError(404, 'not.found', `Resource not found: ${c.req.path}`);
    const failure = await injected('inbound', c.req.raw);
    if (failure) return failure;

    const expiresAt = tokens.get(bearer(c.req.header('authorization')) ?? '');
    if (expiresAt === undefined || expiresAt <= Date.now()) {
      return genesysError(401, 'bad.credentials', 'Invalid login credentials.');
    }
    // Unknown integration: a 404 is the expected answer (genesys-open-messaging.md §2.5, UNCONFIRMED).
    if (!opts.integrationIds.includes(integrationId)) {
      return genesysError(404, 'not.found', `Open messaging integration ${integrationId} not found`);
    }
    let raw: unknown;
    try {
      raw = JSON.parse(await c.req.text());
    } catch {
      return genesysError(400, 'bad.request', 'The request could not be understood by the server due to malformed syntax.');
    }
    const parsed = SCHEMAS[endpoint as Endpoint].safeParse(raw);
    if (!parsed.success) return genesysError(400, 'bad.request', describeIssues(parsed.error));

    const id = randomBytes(16).toString('hex');
    const record = { integrationId, body: raw, id, at: Date.now() };
    if (endpoint === 'message') {
      const body = parsed.data as z.output<typeof inboundMessage>;
      const prefetch = c.req.query('prefetchConversationId') === 'true';
      fake.messages.push(record);
      waiters.forEach((check) => check());
      return c.json(messageResponse(id, integrationId, body, prefetch ? conversationOf(integrationId, body.channel.from.id) : undefined));
    }
    if (endpoint === 'event') {
      fake.events.push(record);
      return c.json(eventResponse(id, integrationId, parsed.data as z.output<typeof inboundEvent>));
    }
    const receipt = parsed.data as z.output<typeof inboundReceipt>;
    fake.receipts.push({ ...record, id: receipt.id });
    waiters.forEach((check) => check());
    return c.json(receiptResponse(integrationId, receipt));
  });

  // Read-only view for the sandbox CLI: what agents have received so far.
  app.get('/sandbox/messages', (c) => c.json(fake.messages));
  app.get('/sandbox/receipts', (c) => c.json(fake.receipts));
  // For benchmarks: counts and arrival times without shipping every body.
  app.get('/sandbox/arrivals', (c) =>
    c.json(fake.messages.map((m) => [(m.body as { channel?: { messageId?: string } }).channel?.messageId ?? '', m.at])),
  );
  app.get('/sandbox/count', (c) => c.json({ messages: fake.messages.length }));

  function conversationOf(integrationId: string, customerId: string): string {
    const key = `${integrationId}:${customerId}`;
    let id = conversations.get(key);
    if (!id) conversations.set(key, (id = randomUUID()));
    return id;
  }

  const { server, origin } = await listenOnLoopback(app, opts.port);
  fake.url = origin;
  return fake;
}

// ---- outbound notifications: the fake plays the agent ----

export interface OutboundWebhookArgs {
  integrationId: string;
  customerId: string;
  text?: string;
  /** Each becomes a `contentType: "Attachment"` item, before `content`. */
  attachments?: Array<{ mediaType: string; url: string; mime: string; filename?: string }>;
  originatingEntity?: 'Human' | 'Bot';
  /** `Text` unless said. */
  type?: 'Text' | 'Structured' | 'Event' | 'Receipt';
  /** Extra content items, sent as given (quick replies, cards …). */
  content?: unknown[];
  /** `Event` defaults to Typing On for 5 s. */
  events?: unknown[];
  /** 32 hex chars unless said. */
  id?: string;
  /** A fresh UUID unless said. */
  conversationId?: string;
}

const TYPING_ON = { eventType: 'Typing', typing: { type: 'On', duration: 5000 } };

/**
 * An outbound notification as Genesys webhooks it (genesys-open-messaging.md §3.4, key fact 21): `channel.id` and
 * `channel.from.id` are the integration, `channel.to.id` the customer, `channel.messageId` equals `id`.
 */
export function outboundWebhookBody(args: OutboundWebhookArgs): { id: string; body: Record<string, unknown> } {
  const id = args.id ?? randomBytes(16).toString('hex');
  const type = args.type ?? 'Text';
  const body: Record<string, unknown> = {
    id,
    channel: {
      id: args.integrationId,
      platform: 'Open',
      type: 'Private',
      messageId: id,
      to: { id: args.customerId, idType: 'Opaque' },
      from: { nickname: 'dmbridge-sandbox', id: args.integrationId, idType: 'Opaque' },
      time: new Date().toISOString(),
    },
    conversationId: args.conversationId ?? randomUUID(),
    type,
  };
  if (args.text !== undefined) body.text = args.text;
  const content = [...(args.attachments ?? []).map(attachmentContent), ...(args.content ?? [])];
  if (content.length > 0) body.content = content;
  const events = args.events ?? (type === 'Event' ? [TYPING_ON] : undefined);
  if (events) body.events = events;
  // OpenReceiptNormalizedMessage (Appendix A); when Genesys sends these is unconfirmed (§3.4).
  if (type === 'Receipt') Object.assign(body, { status: 'Delivered', isFinalReceipt: true });
  body.direction = 'Outbound';
  if (type === 'Text' || type === 'Structured') body.originatingEntity = args.originatingEntity ?? 'Human';
  return { id, body };
}

function attachmentContent(a: NonNullable<OutboundWebhookArgs['attachments']>[number]): Record<string, unknown> {
  const attachment = { id: randomUUID(), mediaType: a.mediaType, url: a.url, mime: a.mime, ...(a.filename ? { filename: a.filename } : {}) };
  return { contentType: 'Attachment', attachment };
}

export interface DeliverOutboundOptions {
  /** Digest encoding of the signature: base64 is documented, hex observed (§3.2). */
  encoding?: 'base64' | 'hex';
  /** Pause between attempts; Genesys waits 5 s. */
  retryDelayMs?: number;
  /** Deadline of one attempt; Genesys gives up after 10 s. */
  timeoutMs?: number;
}

/** Genesys retries up to 5 times (6 attempts, ≈ 85 s in all) on timeout, 429 and 5xx (key fact 19). */
const WEBHOOK_RETRIES = 5;

/**
 * POSTs a notification to the bridge as Genesys does: compact JSON (a string body is sent as is), signed
 * `X-Hub-Signature-256: sha256=<base64>`, retried on timeout, 429 and 5xx.
 * https://developer.genesys.cloud/commdigital/digital/openmessaging/validate
 * Resolves with the last answer; rejects when the last attempt timed out or the connection failed.
 */
export async function deliverOutbound(
  webhookUrl: string,
  body: unknown,
  secret: string,
  opts: DeliverOutboundOptions = {},
): Promise<{ status: number; text: string; attempts: number }> {
  const { encoding = 'base64', retryDelayMs = 5000, timeoutMs = 10_000 } = opts;
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const init: HttpRequestInit = {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'X-Hub-Signature-256': signGenesysBody(raw, secret, encoding) },
    body: raw,
  };
  for (let attempt = 1; ; attempt++) {
    const last = attempt > WEBHOOK_RETRIES;
    const answer = await postOnce(webhookUrl, init, timeoutMs);
    if (answer === 'timeout') {
      if (last) throw new Error(`the webhook did not answer within ${timeoutMs} ms on the last of ${attempt} attempts`);
    } else if (last || !(answer.status === 429 || answer.status >= 500)) {
      return { ...answer, attempts: attempt };
    }
    await sleep(retryDelayMs);
  }
}

async function postOnce(url: string, init: HttpRequestInit, timeoutMs: number): Promise<{ status: number; text: string } | 'timeout'> {
  try {
    const { response, bodyText } = await httpCall(url, init, timeoutMs);
    return { status: response.status, text: bodyText };
  } catch (err) {
    if ((err as Error | null)?.name === 'TimeoutError') return 'timeout';
    throw err;
  }
}

// ---- wire helpers ----

/** Genesys's error body: `{message, code, status, contextId, details, errors}` (§2.5). */
function genesysError(status: number, code: string, message: string, extraHeaders?: HeadersInit): Response {
  const headers = new Headers(extraHeaders);
  headers.set('content-type', 'application/json');
  headers.set('inin-correlation-id', randomUUID());
  return new Response(JSON.stringify({ message, code, status, contextId: randomUUID(), details: [], errors: [] }), {
    status,
    headers,
  });
}

/** A queued failure; 429 without a body gets the real one with `Retry-After` (§1). */
function failureResponse(failure: Exclude<FakeFailure, 'timeout'>): Response {
  const headers = new Headers(failure.headers);
  if (failure.body !== undefined) {
    headers.set('content-type', 'application/json');
    return new Response(JSON.stringify(failure.body), { status: failure.status, headers });
  }
  if (failure.status === 429) {
    const seconds = headers.get('retry-after') ?? '1';
    headers.set('retry-after', seconds);
    const message = `Rate limit exceeded the maximum. Retry the request in [${seconds}] seconds`;
    return genesysError(429, 'too.many.requests.retry.after', message, headers);
  }
  return genesysError(failure.status, `http.${failure.status}`, `Injected failure ${failure.status}`, headers);
}

/** `should have required property ...` style, with the JSON path of each violation. */
function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
      return issue.code === 'unrecognized_keys'
        ? `${where || '(root)'} should NOT have additional properties: ${issue.keys.join(', ')}`
        : where
          ? `${where} ${issue.message}`
          : issue.message;
    })
    .join(', ');
}

function hasClientCredentials(header: string | undefined, clientId: string, clientSecret: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  return Buffer.from(header.slice(6), 'base64').toString('utf8') === `${clientId}:${clientSecret}`;
}

function bearer(header: string | undefined): string | undefined {
  return header?.startsWith('Bearer ') ? header.slice(7) : undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---- success bodies (Appendix A response models) ----

function responseChannel(integrationId: string, from: Models.OpenMessagingFromRecipient, time: string): Models.OpenMessagingChannel {
  return { id: integrationId, platform: 'Open', type: 'Private', to: { id: integrationId }, from, time };
}

function messageResponse(
  id: string,
  integrationId: string,
  body: z.output<typeof inboundMessage>,
  conversationId: string | undefined,
): Models.OpenMessageNormalizedMessage {
  const channel = responseChannel(integrationId, body.channel.from, body.channel.time);
  if (body.channel.messageId) channel.messageId = body.channel.messageId;
  if (body.channel.metadata) channel.metadata = body.channel.metadata;
  const response: Models.OpenMessageNormalizedMessage = { id, channel, type: 'Text' };
  if (body.text) response.text = body.text;
  if (body.content) response.content = body.content.map((c) => ({ contentType: 'Attachment', attachment: c.attachment }));
  if (conversationId) response.conversationId = conversationId;
  return response;
}

function eventResponse(id: string, integrationId: string, body: z.output<typeof inboundEvent>): Models.OpenEventNormalizedMessage {
  return { id, channel: responseChannel(integrationId, body.channel.from, body.channel.time), type: 'Event', events: body.events };
}

/** The receipt answer echoes the reported id and status (Appendix A, OpenReceiptNormalizedMessage). */
function receiptResponse(integrationId: string, body: z.output<typeof inboundReceipt>): Models.OpenReceiptNormalizedMessage {
  return {
    id: body.id,
    channel: { id: integrationId, platform: 'Open', type: 'Private', to: body.channel.to, from: { id: integrationId, idType: 'Opaque' }, time: body.channel.time },
    type: 'Receipt',
    status: body.status,
    ...(body.reasons ? { reasons: body.reasons } : {}),
    isFinalReceipt: body.isFinalReceipt ?? true,
    direction: 'Outbound',
  };
}
