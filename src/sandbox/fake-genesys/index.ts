/**
 * A fake Genesys Cloud on 127.0.0.1 that speaks the real wire format (genesys-open-messaging.md):
 * client-credentials tokens, the per-integration Open Messaging inbound endpoints with strict validation of the
 * Appendix A models, structured responses included (./inbound.ts, ./schemas.ts), and the Platform API calls that administer Open Messaging
 * integrations (./platform-api.ts), each refusing what Genesys refuses: 401 without a valid token, 403 when the
 * OAuth client's role lacks the permission, 400 for a body the model does not allow.
 * It also plays the agent: `outboundWebhookBody` + `deliverOutbound` (./outbound.ts) webhook a reply to the
 * bridge, signed and retried as Genesys does (§3), and `hostAttachment` keeps the files an agent attaches, served
 * behind the OAuth-protected downloads endpoint and its signed redirect (./downloads.ts).
 */
import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import type { Models } from 'purecloud-platform-client-v2';
import { listenOnLoopback } from '../../net/loopback.js';
import { ALL_PERMISSIONS, failureResponse, sleep, type FakeContext, type FakeEndpointGroup, type FakeFailure, type FakePermission } from './context.js';
import { FakeDownloads, registerDownloads, startFakeStorage, type DownloadRequest, type FakeAttachment } from './downloads.js';
import { registerInbound, type FakeInboundLimits, type InboundRequest, type Received } from './inbound.js';
import {
  FakeIntegrationStore,
  registerPlatformApi,
  type FakeIntegrationLifecycle,
  type FakeOpenIntegrationSeed,
  type PlatformRequest,
} from './platform-api.js';

export type { FakeEndpointGroup, FakeFailure, FakePermission } from './context.js';
export type { DownloadRequest, FakeAttachment } from './downloads.js';
export type { InboundRequest, Received } from './inbound.js';
export { deliverOutbound, outboundWebhookBody, type DeliverOutboundOptions, type OutboundWebhookArgs } from './outbound.js';
export type { FakeIntegrationLifecycle, FakeOpenIntegrationSeed, PlatformRequest } from './platform-api.js';

export interface FakeGenesysOptions {
  /** 0 or absent: any free port. */
  port?: number;
  /** The storage that attachments' signed URLs point to; 0 or absent: any free port. */
  storagePort?: number;
  clientId: string;
  clientSecret: string;
  /** Integrations the inbound endpoints accept besides those of `openIntegrations` and those created through the API. */
  integrationIds: string[];
  /** Integrations the Platform API knows from the start. */
  openIntegrations?: FakeOpenIntegrationSeed[];
  /** What the OAuth client's role may do; every permission the bridge uses unless said. */
  permissions?: FakePermission[];
  /** Lifetime of issued tokens; the real default is 24 h. */
  tokenTtlSec?: number;
  latencyMs?: number;
  /** Sizes past which an inbound message is refused with 400 (none unless said: Genesys publishes none). */
  inboundLimits?: FakeInboundLimits;
}

export interface FakeGenesys {
  url: string;
  messages: Received[];
  /** Taps on offered buttons, as structured responses. */
  structuredResponses: Received[];
  events: Received[];
  receipts: Received[];
  /** Successful token grants. */
  tokenRequests: number;
  /** Every request to the inbound endpoints, in arrival order, with its answer (recorded once answered). */
  inboundRequests: InboundRequest[];
  /** Every call to the integration endpoints, in the order answered. */
  platformRequests: PlatformRequest[];
  /** The origin of the storage the attachments' signed URLs point to. */
  storageUrl: string;
  /** Every request for an attachment, to the downloads endpoint and to the storage, in the order answered. */
  downloadRequests: DownloadRequest[];
  /** Keeps a file an agent attached; returns its download URL, as an outbound notification carries it. */
  hostAttachment(file: FakeAttachment): string;
  /** Every token issued so far stops working (as after a revocation): the next call with one is answered 401. */
  revokeTokens(): void;
  /** The Open Messaging integrations as they are now (reading them does not advance a pending creation). */
  openIntegrations(): Models.OpenIntegration[];
  /** How integrations created from now on come to life: pending for some reads, then `Completed` or `Error`. */
  setIntegrationLifecycle(lifecycle: FakeIntegrationLifecycle): void;
  /** The next `n` requests to the inbound endpoints (or to `/oauth/token`, or to the integration endpoints) get `failure` instead. */
  failNext(n: number, failure: FakeFailure, endpoint?: FakeEndpointGroup): void;
  /**
   * For `forMs` from now, every request to the inbound endpoints (or to `/oauth/token`) gets `failure`, or the
   * failures of a list in turn (e.g. `[{ status: 503 }, 'timeout']`). A `timeout` is held until the outage
   * ends (or the fake closes), then answered 504, and its message is never recorded: Genesys did not accept
   * it. Requests already queued by `failNext` get those answers first. A new outage replaces the previous one.
   * Returns the outage's window, epoch ms, [from, until).
   */
  outage(forMs: number, failure: FakeFailure | FakeFailure[], endpoint?: FakeEndpointGroup): { from: number; until: number };
  setLatency(ms: number): void;
  waitForMessages(count: number, timeoutMs: number): Promise<void>;
  waitForReceipts(count: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeGenesys(opts: FakeGenesysOptions): Promise<FakeGenesys> {
  const tokenTtlSec = opts.tokenTtlSec ?? 86_400;
  let latencyMs = opts.latencyMs ?? 0;
  const queued: Record<FakeEndpointGroup, FakeFailure[]> = { inbound: [], token: [], platform: [] };
  const held: Array<() => void> = []; // requests answering 'timeout', released on close
  const timedOut = new WeakSet<Request>(); // held requests, for the request log
  const outages: Partial<Record<FakeEndpointGroup, { until: number; failures: FakeFailure[]; next: number }>> = {};
  const waiters = new Set<() => boolean>(); // pending waitFor* checks
  const integrations = new FakeIntegrationStore(opts.openIntegrations);
  const downloads = new FakeDownloads(() => fake.url);
  const storage = await startFakeStorage(downloads, opts.storagePort);

  const ctx: FakeContext = {
    tokens: new Map(),
    permissions: new Set(opts.permissions ?? ALL_PERMISSIONS),
    injected,
    notify: () => waiters.forEach((check) => check()),
  };

  const fake: FakeGenesys = {
    url: '',
    messages: [],
    structuredResponses: [],
    events: [],
    receipts: [],
    tokenRequests: 0,
    inboundRequests: [],
    platformRequests: [],
    storageUrl: storage.url,
    downloadRequests: downloads.requests,
    hostAttachment: (file) => downloads.host(file),
    revokeTokens: () => ctx.tokens.clear(),
    openIntegrations: () => integrations.list(),
    setIntegrationLifecycle: (lifecycle) => integrations.setLifecycle(lifecycle),
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
      await storage.close();
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

  async function injected(group: FakeEndpointGroup, request?: Request): Promise<Response | undefined> {
    if (latencyMs > 0) await sleep(latencyMs);
    let failure = queued[group].shift();
    let holdUntil: number | undefined;
    const outage = outages[group];
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

  const app = new Hono();

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
    ctx.tokens.set(token, Date.now() + tokenTtlSec * 1000);
    fake.tokenRequests++;
    return c.json({ access_token: token, token_type: 'bearer', expires_in: tokenTtlSec });
  });

  registerInbound(app, ctx, fake, (id) => opts.integrationIds.includes(id) || integrations.has(id), timedOut, opts.inboundLimits);
  registerPlatformApi(app, ctx, integrations, fake.platformRequests);
  registerDownloads(app, ctx, downloads);

  const { server, origin } = await listenOnLoopback(app, opts.port).catch(async (err: unknown) => {
    await storage.close();
    throw err;
  });
  fake.url = origin;
  return fake;
}

function hasClientCredentials(header: string | undefined, clientId: string, clientSecret: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  return Buffer.from(header.slice(6), 'base64').toString('utf8') === `${clientId}:${clientSecret}`;
}
