/** Shared test plumbing: temp dirs, a bridge config pointing at the local fakes, signed Instagram posts. */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import type { PermanentError, RetryableError } from '../src/core/errors.js';
import { createLogger } from '../src/logger.js';
import type { Metrics } from '../src/metrics.js';
import { ConfigError, configSchema, parseConfig, type Config } from '../src/config/index.js';
import type { InstagramConnection } from '../src/channels/instagram/config.js';
import type { TikTokConnection } from '../src/channels/tiktok/config.js';
import type { GenesysConfig } from '../src/genesys/config.js';
import { signMetaBody } from '../src/channels/instagram/verify.js';
import type { BridgeOptions } from '../src/bridge.js';
import { startServer, type RunningServer } from '../src/entry/server.js';
import type { AgentAttachments, MediaFetch } from '../src/core/media.js';
import { createGenesysAttachments } from '../src/genesys/attachments.js';
import { GenesysTokenProvider } from '../src/genesys/auth.js';
import { parseAllowedOrigins } from '../src/net/allowed-origins.js';
import { createMediaFetch, type ResolvedAddress, type Resolver } from '../src/net/media-fetch.js';

export const TEST = {
  genesysClientId: 'test-client-id',
  genesysClientSecret: 'test-client-secret-0123456789',
  integrationId: '0a1b2c3d-1111-4222-8333-944455566677',
  webhookSecret: 'genesys-webhook-secret-0123456789',
  connectionId: 'acme-instagram',
  accountId: '17841400000000042',
  appSecret: 'meta-app-secret-for-tests',
  verifyToken: 'verify-me-please',
  accessToken: 'IGQVJ-test-access-token',
  customer: '9900112233445566',
} as const;

export function tempDir(prefix = 'dmbridge-test-'): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface TestConfigOptions {
  genesysUrl: string;
  graphUrl?: string;
  store: string;
  port?: number;
  queue?: Partial<Config['queue']>;
  /** Entries of `media.allowedOrigins` besides the fake Genesys's origin: its storage, a fake CDN (URLs count by their origin). */
  mediaOrigins?: string[];
}

/** A raw (pre-validation) config object, as an operator would write it in YAML. */
/** A logger at `level` whose output the test can read: `lines` as written, `text()` all of them. */
export function capturedLogger(level: string) {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger(level, sink), lines, text: () => lines.join('') };
}

/** Genesys settings pointing login, API and attachment downloads at a fake Genesys (src/sandbox/fake-genesys/) at `url`. */
export function genesysTestConfig(url: string, clientId: string, clientSecret: string, overrides: Partial<GenesysConfig> = {}): GenesysConfig {
  return {
    region: 'mypurecloud.com',
    loginBaseUrl: url,
    apiBaseUrl: url,
    downloadsBaseUrl: url,
    clientId,
    clientSecret,
    timeoutMs: 2000,
    inboundTextMaxChars: 4000,
    customAttributesMaxBytes: 1900,
    ...overrides,
  };
}

/**
 * A resolver that answers only the names given and finds no other: no test ever asks the real DNS (an Instagram
 * fixture's lookaside.fbsbx.com link would otherwise be probed on the internet).
 */
export function testResolver(names: Record<string, string[]> = {}): Resolver {
  return async (hostname) => {
    const addresses = names[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (tests resolve no real names)`), { code: 'ENOTFOUND' });
    return addresses.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}

/**
 * The media plumbing composeBridge builds, for a test of one channel's client: the guarded fetch over `origins`
 * (exact origins on 127.0.0.1) and the agents' attachments at the fake Genesys `genesys` (its downloads and storage
 * origins listed too), with the tests' resolver. Without `genesys`, attachments point at a closed port.
 */
export function testMedia(opts: { genesys?: { url: string; storageUrl: string }; origins?: string[]; metrics?: Metrics } = {}): { mediaFetch: MediaFetch; attachments: AgentAttachments } {
  const downloads = opts.genesys?.url ?? 'http://127.0.0.1:9';
  const allowed = parseAllowedOrigins([downloads, ...(opts.genesys ? [opts.genesys.storageUrl] : []), ...(opts.origins ?? [])].map((url) => new URL(url).origin));
  const mediaFetch = createMediaFetch({ allowed, resolve: testResolver() });
  const tokens = new GenesysTokenProvider({ config: genesysTestConfig(downloads, TEST.genesysClientId, TEST.genesysClientSecret) });
  const { attachments } = createGenesysAttachments({
    downloadsBaseUrl: downloads,
    allowed,
    tokens,
    mediaFetch,
    mediaUrl: (connectionId, reference) => `http://127.0.0.1:9/media/${connectionId}/${encodeURIComponent(reference.url ?? '')}`,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
  });
  return { mediaFetch, attachments };
}

/** startServer with the tests' resolver unless one is given: what every end-to-end test starts its bridge with. */
export function startTestServer(opts: BridgeOptions): Promise<RunningServer> {
  return startServer({ resolveHost: testResolver(), ...opts });
}

export function rawTestConfig(o: TestConfigOptions) {
  return {
    server: { host: '127.0.0.1', port: o.port ?? 0 },
    store: o.store,
    log: { level: 'silent' },
    queue: { pollMs: 50, backoffBaseMs: 20, backoffMaxMs: 200, maxAttempts: 5, ...o.queue },
    genesys: genesysTestConfig(o.genesysUrl, TEST.genesysClientId, TEST.genesysClientSecret),
    media: { allowedOrigins: [...new Set([o.genesysUrl, ...(o.mediaOrigins ?? [])].map((entry) => (entry.startsWith('http') ? new URL(entry).origin : entry)))] },
    connections: [
      {
        id: TEST.connectionId,
        channel: 'instagram',
        accountId: TEST.accountId,
        appSecret: TEST.appSecret,
        verifyToken: TEST.verifyToken,
        accessToken: TEST.accessToken,
        graphBaseUrl: o.graphUrl ?? 'http://127.0.0.1:9',
        genesys: { integrationId: TEST.integrationId, webhookSecret: TEST.webhookSecret },
      },
    ],
  };
}

export function testConfig(o: TestConfigOptions): Config {
  return configSchema.parse(rawTestConfig(o));
}

/** POSTs a body to the Instagram webhook route, signed as Meta would sign it (or with the given header). */
export async function postInstagram(
  bridgeUrl: string,
  body: unknown,
  opts: { secret?: string; signature?: string | null; contentType?: string } = {},
): Promise<Response> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  const signature = opts.signature === undefined ? signMetaBody(raw, opts.secret ?? TEST.appSecret) : opts.signature;
  if (signature !== null) headers['x-hub-signature-256'] = signature;
  return fetch(`${bridgeUrl}/webhooks/instagram`, { method: 'POST', headers, body: raw });
}

/** A port nothing listens on now, for a bridge whose public URL must be known before it starts. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls until `check` returns true or the time is up; returns whether it held. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, everyMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The TikTok test app and business account, as the fake TikTok Business API is started with them. */
export const TIKTOK_TEST = {
  appId: '7a1b2c3d4e5f',
  appSecret: 'tiktok-app-secret-for-tests',
  businessId: '-000aBcD1234',
  accessToken: 'act.initial-access-token',
  refreshToken: 'rft.initial-refresh-token',
} as const;

/** A TikTok connection for TIKTOK_TEST against the given API base, defaults from the config schema. */
export function tiktokTestConnection(apiBaseUrl: string, over: Partial<TikTokConnection> = {}): TikTokConnection {
  const config = configSchema.parse({
    genesys: { clientId: 'x', clientSecret: 'y' },
    server: { publicUrl: 'http://127.0.0.1:1' },
    connections: [
      {
        id: 'acme-tiktok',
        channel: 'tiktok',
        ...TIKTOK_TEST,
        apiBaseUrl,
        genesys: { integrationId: 'integration', webhookSecret: 'genesys-webhook-secret-0123456789' },
      },
    ],
  });
  return { ...(config.connections[0] as TikTokConnection), ...over };
}

/** An Instagram connection against a fake Graph API, with the configuration's defaults for all that is not given. */
export function instagramTestConnection(graphBaseUrl: string, accessToken: string, over: Partial<InstagramConnection> = {}): InstagramConnection {
  const config = configSchema.parse({
    genesys: { clientId: 'x', clientSecret: 'y' },
    connections: [
      {
        id: 'acme-instagram',
        channel: 'instagram',
        accountId: '17841400000000042',
        appSecret: 'app-secret',
        verifyToken: 'verify',
        accessToken,
        graphBaseUrl,
        genesys: { integrationId: 'integration', webhookSecret: 'genesys-webhook-secret-0123456789' },
      },
    ],
  });
  return { ...(config.connections[0] as InstagramConnection), ...over };
}

/** The error a call rejected with (failing the test if it resolved or threw a non-Error). */
export async function rejectionOf(promise: Promise<unknown>): Promise<RetryableError | PermanentError> {
  const err = await promise.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Error);
  return err as RetryableError | PermanentError;
}

/** The outbound-request counters as plain rows: target, operation, status, value. */
export async function countedRequests(metrics: Metrics) {
  return (await metrics.outboundRequests.get()).values.map((v) => ({ ...v.labels, value: v.value }));
}

/** The message of the ConfigError `parseConfig` refuses `text` with (failing the test if it accepts it). */
export function configErrorOf(text: string, env: NodeJS.ProcessEnv): string {
  try {
    parseConfig(text, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected the configuration to be rejected');
}
