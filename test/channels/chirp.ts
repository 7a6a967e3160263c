/**
 * "Chirp", a made-up messaging platform defined only here: a minimal channel module and its fake API. It proves
 * that a channel is one module plus a registry entry. Nothing outside test/ knows of it, yet it runs through the
 * channel contract suite end to end (webhook in → Genesys; agent reply out → receipt).
 *
 * Chirp's wire format: webhooks `POST /webhooks/chirp` with `X-Chirp-Signature: <hex HMAC-SHA256(secret, body)>`,
 * body `{ account, events: [{ type: 'message' | 'echo', id, user, text, at }] }`; sends `POST {apiUrl}/messages`
 * with `Authorization: Bearer <token>`, body `{ to, text }`, answered `{ id }`.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import { z } from 'zod';
import type { ChannelModule } from '../../src/core/channel.js';
import { connectionId, genesysBinding, nonEmpty } from '../../src/core/connection.js';
import { PermanentError, RetryableError } from '../../src/core/errors.js';
import type { InboundEvent, ParseResult } from '../../src/core/events.js';
import { decideReply } from '../../src/core/window.js';
import { listenOnLoopback } from '../../src/net/loopback.js';
import { httpCall } from '../../src/net/http.js';
import type { ChannelUnderTest } from './contract.js';

const chirpConnection = z.strictObject({
  id: connectionId,
  channel: z.literal('chirp'),
  account: nonEmpty,
  secret: nonEmpty,
  token: nonEmpty,
  apiUrl: z.url(),
  forwardAppReplies: z.boolean().default(false),
  genesys: genesysBinding,
});
type ChirpConnection = z.output<typeof chirpConnection>;

const webhookSchema = z.object({
  account: z.string(),
  events: z.array(z.looseObject({ type: z.string(), id: z.string(), user: z.string(), text: z.string().optional(), at: z.number() })),
});

const HOUR = 3_600_000;
const WINDOW = { platform: 'Chirp', standardMs: 24 * HOUR };

const hmac = (secret: string, raw: Uint8Array | string) => createHmac('sha256', secret).update(raw).digest();

function parseChirp(body: unknown): ParseResult {
  const parsed = webhookSchema.safeParse(body);
  if (!parsed.success) return { events: [], skipped: [{ channel: 'chirp', reason: 'malformed' }] };
  const out: ParseResult = { events: [], skipped: [] };
  const { account } = parsed.data;
  for (const e of parsed.data.events) {
    const base = { channel: 'chirp', accountId: account, customerId: e.user, timestamp: e.at, messageId: e.id };
    let event: InboundEvent | undefined;
    if (e.type === 'message') {
      event = { ...base, kind: 'message', dedupeKey: `chirp:${account}:message:${e.id}`, subtype: 'text', text: e.text ?? '', attributes: {}, opensWindow: true };
    } else if (e.type === 'echo') {
      event = { ...base, kind: 'echo', dedupeKey: `chirp:${account}:echo:${e.id}`, ...(e.text ? { text: e.text } : {}) };
    }
    if (event) out.events.push(event);
    else out.skipped.push({ channel: 'chirp', reason: 'unknown_kind', detail: e.type.slice(0, 40) });
  }
  return out;
}

export const ChirpModule: ChannelModule<ChirpConnection> = {
  name: 'chirp',
  labels: { source: 'Chirp DM', platform: 'Chirp', app: 'the Chirp app' },
  configSchema: chirpConnection,
  accountId: (c) => c.account,
  webhook: {
    path: '/webhooks/chirp',
    verifier(connections) {
      const secrets = [...new Set(connections.map((c) => c.secret))];
      return (raw, headers) => {
        const header = headers.get('x-chirp-signature') ?? '';
        if (!/^[0-9a-f]{64}$/.test(header)) return { ok: false, reason: 'missing', message: 'X-Chirp-Signature must be 64 hex digits' };
        const signer = secrets.find((s) => timingSafeEqual(hmac(s, raw), Buffer.from(header, 'hex')));
        return signer ? { ok: true, signer } : { ok: false, reason: 'mismatch', message: 'X-Chirp-Signature does not match' };
      };
    },
    signers: (c) => [c.secret],
    parse: parseChirp,
    acknowledge: () => new Response(null, { status: 204 }),
  },
  connect(connection) {
    return {
      replier: {
        pauseKey: `chirp:${connection.account}`,
        decide: (command, conversation, now) => {
          const verdict = decideReply(WINDOW, { lastInboundAt: conversation.lastInboundAt, now, originatingEntity: command.originatingEntity, humanAgentTag: false });
          return verdict.send ? { send: true } : { send: false, reason: verdict.reason, sentence: verdict.sentence };
        },
        build: (command) => [{ to: command.customerId, text: command.text ?? '' }],
        async send(request) {
          const { response, bodyText } = await httpCall(
            `${connection.apiUrl}/messages`,
            { method: 'POST', headers: { authorization: `Bearer ${connection.token}`, 'content-type': 'application/json' }, body: JSON.stringify(request) },
            5000,
          );
          const error = ChirpModule.classifyError(response.status, bodyText, { connection, now: Date.now() });
          if (error) throw error;
          return { messageId: (JSON.parse(bodyText) as { id: string }).id };
        },
        sendTyping: async () => undefined,
      },
    };
  },
  replyWindow: (conversation) => (conversation.lastInboundAt === undefined ? {} : { endsAt: conversation.lastInboundAt + WINDOW.standardMs }),
  readsAreWatermarks: false,
  classifyError(status, bodyText) {
    if (status >= 200 && status < 300) return undefined;
    if (status >= 500 || status === 429) return new RetryableError(`Chirp answered ${status}`);
    return new PermanentError(`Chirp refused the message (${status}: ${bodyText.slice(0, 100)})`);
  },
};

/** Chirp's API: refuses a wrong token or path like the real one would; records what it accepted. */
async function startFakeChirp(token: string) {
  const sent: Array<{ messageId: string; text: string }> = [];
  const app = new Hono();
  app.post('/messages', async (c) => {
    if (c.req.header('authorization') !== `Bearer ${token}`) return c.json({ error: 'unauthorized' }, 401);
    const body = (await c.req.json()) as { to?: unknown; text?: unknown };
    if (typeof body.to !== 'string' || typeof body.text !== 'string') return c.json({ error: 'to and text are required' }, 400);
    const messageId = `chirp-${randomUUID()}`;
    sent.push({ messageId, text: body.text });
    return c.json({ id: messageId });
  });
  app.notFound((c) => c.json({ error: 'no such path' }, 404));
  const { server, origin } = await listenOnLoopback(app);
  return { url: origin, sent, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const CHIRP = { account: 'acme-on-chirp', secret: 'chirp-webhook-secret', token: 'chirp-api-token' };

export const chirpUnderTest: ChannelUnderTest = {
  channel: ChirpModule,
  async start() {
    const fake = await startFakeChirp(CHIRP.token);
    const event = (type: string, m: { messageId: string; customerId: string; text?: string }, account = CHIRP.account) => ({
      account,
      events: [{ type, id: m.messageId, user: m.customerId, text: m.text, at: Date.now() }],
    });
    return {
      connection: (id, genesys) => ({ id, channel: 'chirp', ...CHIRP, apiUrl: fake.url, genesys }),
      sign: (raw) => ({ 'x-chirp-signature': hmac(CHIRP.secret, raw).toString('hex') }),
      customerMessage: (m) => event('message', m, m.accountId),
      echo: (m) => event('echo', m),
      unknownKind: () => event('poll', { messageId: 'p1', customerId: 'u1' }),
      sent: () => fake.sent,
      close: fake.close,
    };
  },
};
