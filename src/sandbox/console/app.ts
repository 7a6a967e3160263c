/**
 * The sandbox console: a page (./static, plain HTML, CSS and JavaScript, read at run time) showing the customer's
 * phone beside the Genesys agent's panel, and the JSON API it runs on — also what `dmbridge sandbox send | reply |
 * <action>` call from another terminal, so that those plays use the sandbox's clock and fakes and show in the page.
 *
 *   GET  /api/state              the clock, every playable channel (actions, reply window), the bridge's counters
 *   GET  /api/hops?after=SEQ     the hops logged after SEQ
 *   POST /api/customer?wait=MS   {channel, action: "send" | <action>, text?, imageUrl?, from?, messageId?}
 *   POST /api/agent?wait=MS      {channel, text?, imageUrl?, bot?, to?}
 *   POST /api/clock              {advanceMs} or {pastWindowOf: channel}: moves the sandbox clock forward
 */
import { readFile } from 'node:fs/promises';
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { Connection } from '../../core/connection.js';
import { conversationKey } from '../../core/conversation.js';
import type { Conversations, QueueStats } from '../../core/store.js';
import type { Metrics } from '../../metrics.js';
import type { SandboxClock } from '../clock.js';
import type { FakeGenesys } from '../fake-genesys/index.js';
import type { HopChannel, HopLog } from './hops.js';
import { playAgent, playCustomer, PlayRefused } from './play.js';

export interface ConsoleChannel extends HopChannel {
  connection: Connection;
}

export interface ConsoleDeps {
  bridgeUrl: string;
  clock: SandboxClock;
  genesys: FakeGenesys;
  hops: HopLog;
  channels: readonly ConsoleChannel[];
  /** The bridge's store: the conversations' reply windows and the queue. */
  store: Pick<Conversations, 'getConversation'> & { stats(): Promise<QueueStats> };
  metrics: Metrics;
}

const STATIC = new URL('./static/', import.meta.url);
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'sample.png': 'image/png',
};
/** How long a caller may ask to wait for an outcome. */
const MAX_WAIT_MS = 30_000;
/** Past a window's end by this much, so that the next reply is clearly outside it. */
const PAST_WINDOW_MS = 60_000;

const customerBody = z.strictObject({
  channel: z.string(),
  action: z.string().default('send'),
  text: z.string().max(10_000).optional(),
  imageUrl: z.url({ protocol: /^https?$/ }).optional(),
  from: z.string().min(1).optional(),
  messageId: z.string().min(1).optional(),
});
const agentBody = z.strictObject({
  channel: z.string(),
  text: z.string().max(10_000).optional(),
  imageUrl: z.url({ protocol: /^https?$/ }).optional(),
  bot: z.boolean().default(false),
  to: z.string().min(1).optional(),
});
const clockBody = z.union([z.strictObject({ advanceMs: z.number().int().positive() }), z.strictObject({ pastWindowOf: z.string() })]);

export function createConsoleApp(deps: ConsoleDeps): Hono {
  const app = new Hono();
  const byName = new Map(deps.channels.map((c) => [c.channel.name, c]));
  const play = { bridgeUrl: deps.bridgeUrl, clock: deps.clock, genesys: deps.genesys, hops: deps.hops };

  app.get('/', () => serveFile('index.html'));
  app.get('/static/:file', (c) => serveFile(c.req.param('file')));

  app.get('/api/state', async (c) => c.json({ now: deps.clock.now(), offsetMs: deps.clock.offsetMs(), channels: await Promise.all(deps.channels.map((ch) => describe(deps, ch))), bridge: await bridgeCounters(deps) }));

  app.get('/api/hops', (c) => {
    const after = Number(c.req.query('after') ?? 0);
    return c.json({ hops: deps.hops.after(Number.isFinite(after) ? after : 0) });
  });

  app.post('/api/customer', async (c) => {
    const parsed = await bodyOf(c, customerBody);
    if (!parsed.ok) return parsed.response;
    const { channel, ...rest } = parsed.value;
    const target = byName.get(channel);
    if (!target) return unknownChannel(c, channel, byName);
    return answering(c, () => playCustomer(play, target, dropUndefined(rest), waitOf(c)));
  });

  app.post('/api/agent', async (c) => {
    const parsed = await bodyOf(c, agentBody);
    if (!parsed.ok) return parsed.response;
    const { channel, ...rest } = parsed.value;
    const target = byName.get(channel);
    if (!target) return unknownChannel(c, channel, byName);
    return answering(c, () => playAgent(play, target, dropUndefined(rest), waitOf(c)));
  });

  app.post('/api/clock', async (c) => {
    const parsed = await bodyOf(c, clockBody);
    if (!parsed.ok) return parsed.response;
    let by: number;
    if ('advanceMs' in parsed.value) {
      by = parsed.value.advanceMs;
    } else {
      const target = byName.get(parsed.value.pastWindowOf);
      if (!target) return unknownChannel(c, parsed.value.pastWindowOf, byName);
      const { endsAt } = (await describe(deps, target)).window;
      if (endsAt === undefined) return c.json({ error: `the ${target.channel.labels.platform} customer has not written yet: there is no reply window to close` }, 422);
      by = Math.max(1, endsAt + PAST_WINDOW_MS - deps.clock.now());
    }
    await idleQueue(deps);
    deps.clock.advance(by);
    return c.json({ now: deps.clock.now(), offsetMs: deps.clock.offsetMs(), advancedMs: by });
  });

  app.notFound((c) => c.json({ error: `no such console route: ${c.req.method} ${c.req.path}` }, 404));
  return app;
}

/** A channel as the page lists it, with the reply window of the sandbox customer's conversation. */
async function describe(deps: ConsoleDeps, c: ConsoleChannel) {
  const { channel, sandbox, connection } = c;
  const conversation = await deps.store.getConversation(conversationKey(sandbox.connectionId, sandbox.customerId));
  return {
    name: channel.name,
    platform: channel.labels.platform,
    source: channel.labels.source,
    customerId: sandbox.customerId,
    customerName: sandbox.customerName,
    actions: Object.entries(sandbox.actions ?? {}).map(([name, a]) => ({ name, help: a.help, ...(a.about ? { about: a.about } : {}), ...(a.takesText ? { takesText: a.takesText } : {}) })),
    lastCustomerMessageAt: conversation.lastInboundAt,
    window: channel.replyWindow(conversation, connection),
  };
}

/** The bridge's own counters (its /metrics): what it stored, skipped, delivered; and its queue. */
async function bridgeCounters(deps: ConsoleDeps) {
  const { webhooks, jobs, eventsSkipped } = deps.metrics;
  const values = async (counter: typeof webhooks | typeof jobs | typeof eventsSkipped) =>
    (await counter.get()).values.filter((v) => v.value > 0).map((v) => ({ labels: v.labels, value: v.value }));
  return { webhooks: await values(webhooks), jobs: await values(jobs), skipped: await values(eventsSkipped), queue: await deps.store.stats() };
}

/**
 * Waits (up to 3 s) until no job is running: a job leased before the clock jumps would look expired after it, and
 * could be taken a second time.
 */
async function idleQueue(deps: ConsoleDeps): Promise<void> {
  const deadline = Date.now() + 3000;
  while ((await deps.store.stats()).leased > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

async function serveFile(name: string): Promise<Response> {
  const type = FILES[name];
  if (!type) return new Response('Not Found', { status: 404 });
  return new Response(new Uint8Array(await readFile(new URL(name, STATIC))), { headers: { 'content-type': type, 'cache-control': 'no-store' } });
}

async function bodyOf<T extends z.ZodType>(c: Context, schema: T): Promise<{ ok: true; value: z.output<T> } | { ok: false; response: Response }> {
  // JSON only: a page elsewhere cannot send it without the browser asking first (CORS), which is never granted.
  if (!(c.req.header('content-type') ?? '').startsWith('application/json')) return { ok: false, response: c.json({ error: 'the body must be JSON (content-type: application/json)' }, 415) };
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    return { ok: false, response: c.json({ error: 'the body must be JSON' }, 400) };
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, response: c.json({ error: `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` }, 400) };
}

function waitOf(c: Context): number {
  const wait = Number(c.req.query('wait') ?? 0);
  return Number.isFinite(wait) ? Math.min(Math.max(wait, 0), MAX_WAIT_MS) : 0;
}

function unknownChannel(c: Context, name: string, byName: ReadonlyMap<string, unknown>): Response {
  return c.json({ error: `no playable channel "${name}"; the sandbox has: ${[...byName.keys()].join(', ')}` }, 404);
}

/** The outcome as JSON; a refusal is 422 with its sentence, an unreachable bridge 502. */
async function answering(c: Context, run: () => Promise<unknown>): Promise<Response> {
  try {
    return c.json(await run());
  } catch (err) {
    if (err instanceof PlayRefused) return c.json({ error: err.message }, 422);
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return c.json({ error: `${(err as Error).message}${cause ? ` (${cause})` : ''}` }, 502);
  }
}

function dropUndefined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
