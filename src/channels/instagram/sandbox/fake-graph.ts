/**
 * A fake Instagram Graph API on 127.0.0.1 for tests, the sandbox and benchmarks: graph.instagram.com (Instagram
 * Login) or graph.facebook.com (`login: 'facebook'`, Messenger Platform). It speaks the real wire format of
 * instagram-messaging.md: the profile read (§7), the Send API (§4.1, §4.2) at the paths Meta documents for the login,
 * token expiry, renewal and `appsecret_proof` (./fake-graph-auth.ts), and the Graph error envelope (§5). It validates
 * what the bridge sends and answers like Meta.
 */
import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { listenOnLoopback } from '../../../net/loopback.js';
import { FakeGraphTokens, type FakeGraphRefresh, type FakeGraphTokenOptions, type GraphError } from './fake-graph-auth.js';

export interface FakeProfile {
  name?: string;
  username?: string;
  profile_pic?: string;
}

export interface FakeGraphOptions extends FakeGraphTokenOptions {
  /** 0 or absent: any free port. */
  port?: number;
  /**
   * The IG professional account id (`user_id`). With Instagram Login it sends as `/{accountId}/messages` or
   * `/me/messages`; with Facebook Login only the Page sends (`/{pageId}/messages`, `/me/messages`).
   */
  accountId: string;
  /** Facebook Login: the Page linked to the account. */
  pageId?: string;
  /** Only this version is served when given (e.g. `v23.0`); any `vN.N` otherwise. */
  apiVersion?: string;
  /** Customers (by IGSID) whose profile can be read; any other IGSID is "no matching user". */
  profiles?: Record<string, FakeProfile>;
  /** The account's username (Instagram Login) or the Page's name (Facebook Login), answered by `GET /me`. */
  accountName?: string;
  /** The webhook fields the app is subscribed to for this account; default every field the bridge reads. */
  subscribedFields?: string[];
}

export interface FakeGraphFailure {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export interface FakeGraph {
  url: string;
  /** Accepted Send API calls (messages and sender actions), in arrival order, with the mid answered for messages. */
  sends: Array<{ path: string; body: unknown; at: number; messageId?: string; /** The token the call carried (this is a fake). */ accessToken: string }>;
  /** The next `n` Send API calls (or profile reads, with `on: 'profile'`) are answered with `error` instead. */
  failNext(n: number, error: FakeGraphFailure, on?: 'send' | 'profile'): void;
  /** Delay before every answer. */
  setLatency(ms: number): void;
  /** Headers added to every answer, e.g. Meta's usage headers (`X-Business-Use-Case-Usage`, `X-App-Usage`). */
  setResponseHeaders(headers: Record<string, string>): void;
  /**
   * Called for every accepted message with its mid, and awaited before the Send API answers: Meta may deliver
   * the echo webhook before the send call returns (instagram-messaging.md key fact 14), and this is how a test
   * or the sandbox plays that.
   */
  onMessageSent(hook: ((sent: { body: unknown; messageId: string }) => Promise<void> | void) | undefined): void;
  /** Calls of `refresh_access_token`, in order. */
  refreshes: FakeGraphRefresh[];
  /** The most recently issued access token. */
  currentToken(): string;
  /** Every token issued so far stops working (190), as if revoked. */
  revokeTokens(): void;
  /** What `GET /{id}/subscribed_apps` answers from now on; empty: the app is not subscribed at all. */
  setSubscribedFields(fields: string[]): void;
  close(): Promise<void>;
}

const VERSION = /^v\d+\.\d+$/;

export async function startFakeGraph(opts: FakeGraphOptions): Promise<FakeGraph> {
  let latencyMs = 0;
  let responseHeaders: Record<string, string> = {};
  let messageSent: ((sent: { body: unknown; messageId: string }) => Promise<void> | void) | undefined;
  const failures: Record<'send' | 'profile', FakeGraphFailure[]> = { send: [], profile: [] };
  const tokens = new FakeGraphTokens(opts);
  let subscribedFields = opts.subscribedFields ?? ['messages', 'message_echoes', 'messaging_seen', 'message_reactions', 'messaging_postbacks', 'messaging_referral'];

  const fake: FakeGraph = {
    url: '',
    sends: [],
    refreshes: tokens.refreshes,
    currentToken: () => tokens.current(),
    revokeTokens: () => tokens.revokeAll(),
    setSubscribedFields(fields) {
      subscribedFields = [...fields];
    },
    failNext(n, error, on = 'send') {
      for (let i = 0; i < n; i++) failures[on].push(error);
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    setResponseHeaders(headers) {
      responseHeaders = { ...headers };
    },
    onMessageSent(hook) {
      messageSent = hook;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const app = new Hono();

  app.use('*', async (c, next) => {
    if (latencyMs > 0) await sleep(latencyMs);
    const version = c.req.path.split('/')[1] ?? '';
    const unversioned = c.req.path === '/refresh_access_token';
    if (!unversioned && (!VERSION.test(version) || (opts.apiVersion !== undefined && version !== opts.apiVersion))) {
      return unknownPath(c);
    }
    await next();
    for (const [name, value] of Object.entries(responseHeaders)) c.res.headers.set(name, value);
  });

  app.get('/refresh_access_token', (c) => {
    const { status, body } = tokens.refresh(c);
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  });

  // Send API: Instagram Login POST /<IG_ID>/messages or /me/messages; Facebook Login POST /<PAGE_ID>/messages or
  // /me/messages with the Page token (instagram-messaging.md key facts 19, 20): the IG account id is not a sender there.
  const senders = new Set(opts.login === 'facebook' ? ['me', ...(opts.pageId ? [opts.pageId] : [])] : ['me', opts.accountId]);

  // Whom the token belongs to (instagram-messaging.md §1): with Instagram Login `user_id` is the id webhooks carry and
  // `id` another one; a Page token answers its Page. Only the fields asked for, and always `id`, as Graph does.
  app.get('/:version/me', (c) => {
    const denied = tokens.problem(c);
    if (denied) return graphError(denied);
    const asked = new Set((c.req.query('fields') ?? '').split(','));
    const me: Record<string, string> =
      opts.login === 'facebook'
        ? { id: opts.pageId ?? '101000000000001', name: opts.accountName ?? 'Acme' }
        : { id: `9${opts.accountId}`, user_id: opts.accountId, username: opts.accountName ?? 'acme' };
    return c.json(Object.fromEntries(Object.entries(me).filter(([field]) => field === 'id' || asked.has(field))));
  });

  // The apps subscribed to the account's webhooks and their fields (instagram-messaging.md §1, "Subscribe").
  app.get('/:version/:subject/subscribed_apps', (c) => {
    const denied = tokens.problem(c);
    if (denied) return graphError(denied);
    const subject = c.req.param('subject');
    if (!senders.has(subject)) return unsupported('get', subject);
    return c.json({ data: subscribedFields.length === 0 ? [] : [{ name: 'Acme dmbridge', id: '1234567890', subscribed_fields: subscribedFields }] });
  });

  // Profile: GET /<IGSID>?fields=name,username,profile_pic (instagram-messaging.md §7).
  app.get('/:version/:igsid', (c) => {
    const failure = failures.profile.shift();
    if (failure !== undefined) return injectedFailure(failure);
    const denied = tokens.problem(c);
    if (denied) return graphError(denied);
    const igsid = c.req.param('igsid');
    const profile = opts.profiles?.[igsid];
    if (profile === undefined) {
      return graphError({ message: 'No matching user found', type: 'IGApiException', code: 100, error_subcode: 2534014 });
    }
    const fields = (c.req.query('fields') ?? '').split(',').filter((f): f is keyof FakeProfile => Object.hasOwn(profile, f));
    return c.json({ ...Object.fromEntries(fields.map((f) => [f, profile[f]])), id: igsid });
  });

  app.post('/:version/:sender/messages', async (c) => {
    const failure = failures.send.shift();
    if (failure !== undefined) return injectedFailure(failure);
    const denied = tokens.problem(c);
    if (denied) return graphError(denied);
    const sender = c.req.param('sender');
    if (!senders.has(sender)) return unsupported('post', sender);
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return invalidParameter('the request body must be JSON');
    }
    const problem = sendBodyProblem(body);
    if (problem !== undefined) return invalidParameter(problem);
    const request = body as { recipient: { id?: string; comment_id?: string }; message?: unknown };
    const recipientId = request.recipient.id ?? request.recipient.comment_id;
    // Sender actions answer {recipient_id} only (instagram-messaging.md §4.2).
    if (request.message === undefined) {
      fake.sends.push({ path: c.req.path, body, at: Date.now(), accessToken: bearerOf(c) });
      return c.json({ recipient_id: recipientId });
    }
    const messageId = freshMid(opts.accountId);
    fake.sends.push({ path: c.req.path, body, at: Date.now(), messageId, accessToken: bearerOf(c) });
    await messageSent?.({ body, messageId });
    return c.json({ recipient_id: recipientId, message_id: messageId });
  });

  app.notFound(unknownPath);

  const { server, origin } = await listenOnLoopback(app, opts.port);
  fake.url = origin;
  return fake;
}

// ---- Send API body rules (instagram-messaging.md §4.1) ----

const SENDER_ACTIONS = new Set(['typing_on', 'typing_off', 'mark_seen', 'react', 'unreact']);
const ATTACHMENT_TYPES = new Set(['image', 'video', 'audio', 'file', 'template']);
const MESSAGING_TYPES = new Set(['RESPONSE', 'UPDATE', 'MESSAGE_TAG']);
const TEXT_LIMIT_BYTES = 1000;
const MAX_IMAGES = 10;
const MAX_QUICK_REPLIES = 13;
const QUICK_REPLY_TITLE_CHARS = 20;

/** The first rule the body breaks, worded like Meta's `(#100)` messages; undefined when it is valid. */
function sendBodyProblem(body: unknown): string | undefined {
  if (!isRecord(body)) return 'the request body must be a JSON object';
  const recipient = body.recipient;
  if (!isRecord(recipient) || !(isNonEmptyString(recipient.id) || isNonEmptyString(recipient.comment_id))) {
    return 'param recipient[id] must be a non-empty string';
  }
  if ((body.message === undefined) === (body.sender_action === undefined)) {
    return 'exactly one of param message or sender_action must be provided';
  }
  return body.sender_action !== undefined ? senderActionProblem(body) : (messageProblem(body.message) ?? messagingTypeProblem(body));
}

/** `typing_on | typing_off | mark_seen`: nothing else in the body; `react | unreact` need payload.message_id. */
function senderActionProblem(body: Record<string, unknown>): string | undefined {
  const action = body.sender_action;
  if (typeof action !== 'string' || !SENDER_ACTIONS.has(action)) return `param sender_action must be one of ${[...SENDER_ACTIONS].join(', ')}`;
  if (action === 'react' || action === 'unreact') {
    const payload = body.payload;
    if (!isRecord(payload) || !isNonEmptyString(payload.message_id)) return 'param payload[message_id] is required';
    if (action === 'react' && !isNonEmptyString(payload.reaction)) return 'param payload[reaction] is required';
    return undefined;
  }
  const extra = Object.keys(body).filter((k) => k !== 'recipient' && k !== 'sender_action');
  return extra.length > 0 ? `sender_action cannot be sent with other params: ${extra.join(', ')}` : undefined;
}

function messageProblem(message: unknown): string | undefined {
  if (!isRecord(message)) return 'param message must be an object';
  const bodies = ['text', 'attachment', 'attachments'].filter((k) => message[k] !== undefined);
  if (bodies.length !== 1) return 'param message must have exactly one of text, attachment or attachments';
  if (message.text !== undefined) return textProblem(message.text) ?? quickRepliesProblem(message.quick_replies);
  if (message.quick_replies !== undefined) return 'param message[quick_replies] requires message[text]';
  if (message.attachment !== undefined) return attachmentProblem(message.attachment, 'message[attachment]');
  const images = message.attachments;
  if (!Array.isArray(images) || images.length === 0 || images.length > MAX_IMAGES) {
    return `param message[attachments] must hold 1 to ${MAX_IMAGES} images`;
  }
  return images
    .map((a, i) => (isRecord(a) && a.type === 'image' ? attachmentProblem(a, `message[attachments][${i}]`) : `param message[attachments][${i}][type] must be image`))
    .find((p) => p !== undefined);
}

/** Text limit: 1000 bytes of UTF-8 (https://developers.facebook.com/docs/messenger-platform/instagram/features/send-message). */
function textProblem(text: unknown): string | undefined {
  if (!isNonEmptyString(text)) return 'param message[text] must be a non-empty string';
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > TEXT_LIMIT_BYTES ? `Length of param message[text] must be less than or equal to ${TEXT_LIMIT_BYTES} bytes (got ${bytes})` : undefined;
}

/** ≤ 13 text quick replies, titles ≤ 20 chars (https://developers.facebook.com/docs/messenger-platform/instagram/features/quick-replies). */
function quickRepliesProblem(quickReplies: unknown): string | undefined {
  if (quickReplies === undefined) return undefined;
  if (!Array.isArray(quickReplies) || quickReplies.length === 0 || quickReplies.length > MAX_QUICK_REPLIES) {
    return `param message[quick_replies] must hold 1 to ${MAX_QUICK_REPLIES} items`;
  }
  const bad = quickReplies.findIndex(
    (q) => !isRecord(q) || q.content_type !== 'text' || !isNonEmptyString(q.title) || [...q.title].length > QUICK_REPLY_TITLE_CHARS || !isNonEmptyString(q.payload),
  );
  return bad >= 0 ? `param message[quick_replies][${bad}] must be {content_type: text, title ≤ ${QUICK_REPLY_TITLE_CHARS} chars, payload}` : undefined;
}

function attachmentProblem(attachment: unknown, where: string): string | undefined {
  if (!isRecord(attachment) || typeof attachment.type !== 'string' || !ATTACHMENT_TYPES.has(attachment.type)) {
    return `param ${where}[type] must be one of ${[...ATTACHMENT_TYPES].join(', ')}`;
  }
  const payload = attachment.payload;
  if (!isRecord(payload)) return `param ${where}[payload] must be an object`;
  if (attachment.type === 'template') {
    return isNonEmptyString(payload.template_type) ? undefined : `param ${where}[payload][template_type] is required`;
  }
  if (isNonEmptyString(payload.attachment_id)) return undefined;
  return isHttpUrl(payload.url) ? undefined : `param ${where}[payload][url] must be an http(s) URL`;
}

/** HUMAN_AGENT is the only tag for Instagram (https://developers.facebook.com/docs/messenger-platform/send-messages/message-tags). */
function messagingTypeProblem(body: Record<string, unknown>): string | undefined {
  const type = body.messaging_type;
  if (type !== undefined && (typeof type !== 'string' || !MESSAGING_TYPES.has(type))) {
    return `param messaging_type must be one of ${[...MESSAGING_TYPES].join(', ')}`;
  }
  if (type === 'MESSAGE_TAG' && body.tag !== 'HUMAN_AGENT') return 'param tag must be HUMAN_AGENT when messaging_type is MESSAGE_TAG';
  if (type !== 'MESSAGE_TAG' && body.tag !== undefined) return 'param tag requires messaging_type MESSAGE_TAG';
  return undefined;
}

// ---- wire helpers ----

function bearerOf(c: Context): string {
  return c.req.header('authorization')?.replace(/^Bearer /, '') ?? c.req.query('access_token') ?? '';
}

/** Meta's error envelope, usually with HTTP 400 (https://developers.facebook.com/docs/graph-api/guides/error-handling). */
function graphError(error: GraphError): Response {
  const body = { error: { ...error, fbtrace_id: freshTraceId() } };
  return new Response(JSON.stringify(body), { status: 400, headers: { 'content-type': 'application/json' } });
}

/**
 * A failure in Meta's error envelope, for `failNext`: any row of instagram-messaging.md §5 by code and subcode
 * (HTTP 400 unless said; Meta answers most errors with 400).
 */
export function graphFailure(
  code: number,
  subcode?: number,
  opts: { status?: number; message?: string; isTransient?: boolean; headers?: Record<string, string> } = {},
): FakeGraphFailure {
  const error = {
    message: opts.message ?? `(#${code}) Injected Graph error`,
    type: code === 190 ? 'OAuthException' : 'IGApiException',
    code,
    ...(subcode !== undefined ? { error_subcode: subcode } : {}),
    ...(opts.isTransient !== undefined ? { is_transient: opts.isTransient } : {}),
    fbtrace_id: freshTraceId(),
  };
  return { status: opts.status ?? 400, body: { error }, ...(opts.headers ? { headers: opts.headers } : {}) };
}

function injectedFailure(failure: FakeGraphFailure): Response {
  const headers = { 'content-type': 'application/json', ...failure.headers };
  return new Response(JSON.stringify(failure.body), { status: failure.status, headers });
}

/** Meta's answer for an object the token cannot act on (100/33). */
function unsupported(method: 'get' | 'post', id: string): Response {
  const message = `Unsupported ${method} request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`;
  return graphError({ message, type: 'GraphMethodException', code: 100, error_subcode: 33 });
}

function invalidParameter(problem: string): Response {
  return graphError({ message: `(#100) ${problem}`, type: 'OAuthException', code: 100 });
}

function unknownPath(c: Context): Response {
  return graphError({ message: `Unknown path components: ${c.req.path}`, type: 'OAuthException', code: 2500 });
}

function freshTraceId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 11);
}

/** A Meta-style message id: opaque base64 text, unique per send. */
function freshMid(accountId: string): string {
  return Buffer.from(`ig_item:1:IGMessageID:${accountId}:${randomUUID()}`).toString('base64url');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function isHttpUrl(value: unknown): boolean {
  return typeof value === 'string' && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
