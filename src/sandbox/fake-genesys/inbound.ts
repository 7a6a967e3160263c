/**
 * The per-integration Open Messaging inbound endpoints (genesys-open-messaging.md §2): message, event and
 * receipt, validated against the Appendix A models, answered with the response models, and recorded.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Hono } from 'hono';
import type { Models } from 'purecloud-platform-client-v2';
import type { z } from 'zod';
import { genesysError, readJson, refuseUnauthorized, type FakeContext } from './context.js';
import {
  describeIssues,
  INBOUND_SCHEMAS,
  type inboundEvent,
  type InboundEndpoint,
  type inboundMessage,
  type inboundReceipt,
  type inboundStructuredResponse,
} from './schemas.js';

export interface Received {
  integrationId: string;
  body: unknown;
  /** The Genesys message id the fake answered with. */
  id: string;
  /** Epoch ms of arrival. */
  at: number;
}

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

/** Where the inbound routes record what they accepted. */
export interface InboundRecords {
  messages: Received[];
  /** Taps on offered buttons (`…/structured/response`). */
  structuredResponses: Received[];
  events: Received[];
  receipts: Received[];
  inboundRequests: InboundRequest[];
}

/**
 * Sizes past which the fake refuses an inbound message with 400. Genesys publishes no inbound limits (§2.1,
 * UNCONFIRMED): a test sets them to play a Genesys that has them.
 */
export interface FakeInboundLimits {
  textChars?: number;
  customAttributesBytes?: number;
}

export function registerInbound(
  app: Hono,
  ctx: FakeContext,
  records: InboundRecords,
  isKnownIntegration: (id: string) => boolean,
  timedOut: WeakSet<Request>,
  limits: FakeInboundLimits = {},
): void {
  const conversations = new Map<string, string>(); // integrationId:fromId → conversationId
  const conversationOf = (integrationId: string, customerId: string): string => {
    const key = `${integrationId}:${customerId}`;
    let id = conversations.get(key);
    if (!id) conversations.set(key, (id = randomUUID()));
    return id;
  };

  /** Records every inbound request with its answer, whichever way the handler below returns. */
  app.use('/api/v2/conversations/messages/:integrationId/inbound/open/:endpoint{.+}', async (c, next) => {
    const at = Date.now();
    await next();
    const wasHeld = timedOut.has(c.req.raw);
    records.inboundRequests.push({ endpoint: c.req.param('endpoint'), at, answeredAt: Date.now(), status: c.res.status, timedOut: wasHeld });
  });

  app.post('/api/v2/conversations/messages/:integrationId/inbound/open/:endpoint{.+}', async (c) => {
    const { integrationId, endpoint } = c.req.param();
    if (!Object.hasOwn(INBOUND_SCHEMAS, endpoint)) return genesysError(404, 'not.found', `Resource not found: ${c.req.path}`);
    const failure = await ctx.injected('inbound', c.req.raw);
    if (failure) return failure;
    const refused = refuseUnauthorized(ctx, c.req.header('authorization'), 'conversation:message:receive');
    if (refused) return refused;
    // Unknown integration: a 404 is the expected answer (genesys-open-messaging.md §2.5, UNCONFIRMED).
    if (!isKnownIntegration(integrationId)) {
      return genesysError(404, 'not.found', `Open messaging integration ${integrationId} not found`);
    }
    const json = await readJson(c.req.raw);
    if (!json.ok) return json.response;
    const raw = json.value;
    const parsed = INBOUND_SCHEMAS[endpoint as InboundEndpoint].safeParse(raw);
    if (!parsed.success) return genesysError(400, 'bad.request', describeIssues(parsed.error));

    const id = randomBytes(16).toString('hex');
    const record = { integrationId, body: raw, id, at: Date.now() };
    if (endpoint === 'message') {
      const body = parsed.data as z.output<typeof inboundMessage>;
      const tooLarge = sizeProblem(body, limits);
      if (tooLarge) return genesysError(400, 'bad.request', tooLarge);
      const prefetch = c.req.query('prefetchConversationId') === 'true';
      records.messages.push(record);
      ctx.notify();
      return c.json(messageResponse(id, integrationId, body, prefetch ? conversationOf(integrationId, body.channel.from.id) : undefined));
    }
    if (endpoint === 'event') {
      records.events.push(record);
      return c.json(eventResponse(id, integrationId, parsed.data as z.output<typeof inboundEvent>));
    }
    if (endpoint === 'structured/response') {
      records.structuredResponses.push(record);
      ctx.notify();
      return c.json(structuredResponse(id, integrationId, parsed.data as z.output<typeof inboundStructuredResponse>));
    }
    const receipt = parsed.data as z.output<typeof inboundReceipt>;
    records.receipts.push({ ...record, id: receipt.id });
    ctx.notify();
    return c.json(receiptResponse(integrationId, receipt));
  });

  // Read-only views of what agents have received so far (the sandbox prints where: curl them).
  app.get('/sandbox/messages', (c) => c.json(records.messages));
  app.get('/sandbox/receipts', (c) => c.json(records.receipts));
  // For benchmarks: counts and arrival times without shipping every body.
  app.get('/sandbox/arrivals', (c) =>
    c.json(records.messages.map((m) => [(m.body as { channel?: { messageId?: string } }).channel?.messageId ?? '', m.at])),
  );
  app.get('/sandbox/count', (c) => c.json({ messages: records.messages.length }));
}

function sizeProblem(body: z.output<typeof inboundMessage>, limits: FakeInboundLimits): string | undefined {
  if (limits.textChars !== undefined && (body.text?.length ?? 0) > limits.textChars) return `.text should NOT be longer than ${limits.textChars} characters`;
  const attributes = body.channel.metadata?.customAttributes;
  const bytes = attributes === undefined ? 0 : Buffer.byteLength(JSON.stringify(attributes), 'utf8');
  if (limits.customAttributesBytes !== undefined && bytes > limits.customAttributesBytes) {
    return `.channel.metadata.customAttributes should NOT be larger than ${limits.customAttributesBytes} bytes`;
  }
  return undefined;
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

/** `OpenStructuredResponseNormalizedMessage` (Appendix A, related models). */
function structuredResponse(id: string, integrationId: string, body: z.output<typeof inboundStructuredResponse>): Models.OpenStructuredResponseNormalizedMessage {
  const channel = responseChannel(integrationId, body.channel.from, body.channel.time);
  if (body.channel.messageId) channel.messageId = body.channel.messageId;
  return { id, channel, type: 'Structured', direction: 'Inbound', content: [{ contentType: 'ButtonResponse', buttonResponse: body.buttonResponse }] };
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
